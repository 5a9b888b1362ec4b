package bridge_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// The bridge's part of the malformed-input corpus (the protocol's is in
// protocol/conformance/testdata/malformed): NATS payloads, client
// arguments NATS cannot carry, and configuration values.

// natsPayload is a NATS message body and what clients must make of it.
type natsPayload struct {
	name string
	body []byte
	// want is "json" (the body, raw), "string" (the body as a JSON
	// string), "binary" (the body as an attachment), "dropped" (no client
	// gets it, the bridge counts it) or "refused by NATS" (the publisher's
	// own client refuses it).
	want string
}

func natsPayloads() []natsPayload {
	deep := strings.Repeat("[", 129) + strings.Repeat("]", 129)
	return []natsPayload{
		{"invalid UTF-8 arrives as binary", []byte{0xff, 0xfe, 0xfd}, "binary"},
		{"a lone continuation byte arrives as binary", []byte{0x80}, "binary"},
		{"a truncated two-byte character arrives as binary", []byte("caf\xc3"), "binary"},
		{"an overlong encoding arrives as binary", []byte("\xc0\xaf"), "binary"},
		{"a UTF-16 surrogate in UTF-8 arrives as binary", []byte("\xed\xa0\x80"), "binary"},
		{"JSON with invalid UTF-8 in a string arrives as binary", []byte("{\"a\":\"\xff\"}"), "binary"},
		{"an empty body arrives as an empty string", nil, "string"},
		{"white space alone arrives as a string", []byte(" \n\t "), "string"},
		{"NUL bytes arrive as a string", []byte("\x00\x00"), "string"},
		{"invalid JSON arrives as a string", []byte(`{"a":}`), "string"},
		{"JSON nested 129 deep arrives as a string", []byte(deep), "string"},
		{"a number past any double passes through as JSON", []byte("1e999999"), "json"},
		{"a 400-digit integer passes through as JSON, every digit kept", []byte(strings.Repeat("9", 400)), "json"},
		{"a 200 KiB body within the queue bound arrives whole", []byte(`"` + strings.Repeat("y", 200<<10) + `"`), "json"},
		{"a body larger than a client's whole queue is dropped and counted", []byte(`"` + strings.Repeat("z", 300<<10) + `"`), "dropped"},
		{"a body over the NATS server's max_payload is refused by NATS", bytes.Repeat([]byte("n"), 2<<20), "refused by NATS"},
	}
}

// TestMalformedNATSPayloads publishes every payload of natsPayloads while
// the same clients receive a numbered stream on another subject: each
// payload reaches every client as its rule says (or is dropped and
// counted), and the stream arrives whole and in order.
func TestMalformedNATSPayloads(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	const queue = 256 << 10
	b := startBridge(t, bridge.Config{
		NATSURL:  ns.ClientURL(),
		Maps:     []string{"good.seq=seq", "bad.*=bad"},
		SocketIO: socketio.Config{Engine: engine.Config{MaxQueueBytes: queue}},
	})
	clients := []*receiver{receive(t, b.URL), receive(t, b.URL), receive(t, b.URL)}

	var delivered []natsPayload
	payloads := natsPayloads()
	for i, p := range payloads {
		if err := nc.Publish("good.seq", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
		err := nc.Publish("bad.x", p.body)
		if p.want == "refused by NATS" {
			if !errors.Is(err, nats.ErrMaxPayload) {
				t.Errorf("%s: Publish = %v, want %v", p.name, err, nats.ErrMaxPayload)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if p.want != "dropped" {
			delivered = append(delivered, p)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for ci, c := range clients {
		seq, bad := 0, 0
		for seq < len(payloads) || bad < len(delivered) {
			ev := c.nextEvent(t, startBound)
			switch ev.name {
			case "seq":
				if string(ev.arg) != fmt.Sprint(seq) {
					t.Fatalf("client %d: stream event %s, want %d: out of order or lost", ci, ev.arg, seq)
				}
				seq++
			case "bad":
				if bad >= len(delivered) {
					t.Fatalf("client %d: an event beyond the payloads that should arrive: %+v", ci, ev)
				}
				checkPayload(t, ci, delivered[bad], ev)
				bad++
			default:
				t.Fatalf("client %d: unexpected event %q", ci, ev.name)
			}
		}
		if !c.connected() {
			t.Errorf("client %d was disconnected: %v", ci, c.end)
		}
	}
	if got := b.Stats().TooLarge.Load(); got != 1 {
		t.Errorf("Stats().TooLarge = %d, want 1", got)
	}
	logs := b.logs.String()
	if !strings.Contains(logs, "larger than a client's whole outbound queue; raise --max-queue-bytes") {
		t.Errorf("the dropped payload was not logged with its remedy:\n%.2000s", logs)
	}
	if strings.Contains(logs, "panic") {
		t.Errorf("the bridge logged a panic:\n%s", logs)
	}
	t.Logf("%d NATS payloads tried", len(payloads))
}

func checkPayload(t *testing.T, client int, p natsPayload, ev event) {
	t.Helper()
	fail := func(got string) {
		t.Errorf("client %d: %s: got %s, want it as %s", client, p.name, got, p.want)
	}
	switch p.want {
	case "binary":
		if !ev.isBin || !bytes.Equal(ev.binary, p.body) {
			fail(fmt.Sprintf("%+v", ev))
		}
	case "string":
		var s string
		if ev.isBin || json.Unmarshal(ev.arg, &s) != nil || s != string(p.body) {
			fail(fmt.Sprintf("%.80s", ev.arg))
		}
	case "json":
		if ev.isBin || !bytes.Equal(ev.arg, p.body) {
			fail(fmt.Sprintf("%.80s", ev.arg))
		}
	}
}

// TestInboundArgumentsNATSCannotCarry: binary placeholders that name no
// attachment are illegal attachments, as in Node's socket.io: the sender's
// connection is closed as a protocol error, while
// another client on the same bridge keeps its connection and its acks. An
// event with no inbound rule is not a protocol error: its ack names the
// cause and the client stays connected.
func TestInboundArgumentsNATSCannotCarry(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	b := startBridge(t, guideConfig(ns.ClientURL()))
	bystander := receive(t, b.URL)
	for _, tc := range []struct{ name, packet string }{
		{"a placeholder naming attachment 5 of 1", `451-1["ask",{"_placeholder":true,"num":5}]`},
		{"a placeholder with a negative number", `451-2["ask",{"_placeholder":true,"num":-1}]`},
		{"a placeholder with a string for its number", `451-3["ask",{"_placeholder":true,"num":"0"}]`},
	} {
		c := receive(t, b.URL)
		if err := c.Send(tc.packet); err != nil {
			t.Fatal(err)
		}
		if err := c.SendFrame(maskedBinary([]byte{1})); err != nil {
			t.Fatal(err)
		}
		if closed := c.waitClosed(t, startBound); closed.Code != 1002 {
			t.Errorf("%s: closed with %d %q, want 1002 (protocol error)", tc.name, closed.Code, closed.Reason)
		}
	}
	if err := bystander.Send(`424["nowhere",1]`); err != nil {
		t.Fatal(err)
	}
	if ack := nextPacket(t, bystander, "434["); !strings.Contains(ack, `"error"`) || !strings.Contains(ack, `"nowhere\" is not mapped`) {
		t.Errorf("ack %q, want an error saying the event is not mapped", ack)
	}
	if !bystander.connected() {
		t.Errorf("the other client was disconnected: %v", bystander.end)
	}
}

// maskedBinary is a client's binary websocket frame (zero mask key).
func maskedBinary(p []byte) []byte {
	return append(append([]byte{0x82, 0x80 | byte(len(p))}, 0, 0, 0, 0), p...)
}

// TestConfigRefusesBadValues: every bad configuration value stops the
// start with a *FieldError naming the field (its path from Config) and
// why, in words that name no flag.
func TestConfigRefusesBadValues(t *testing.T) {
	t.Parallel()
	base := func() bridge.Config {
		return bridge.Config{NATSURL: "nats://127.0.0.1:1", Maps: []string{"a=b"}}
	}
	cases := []struct {
		name  string
		set   func(*bridge.Config)
		field string
		want  []string
	}{
		{"a listen address without a port", func(c *bridge.Config) { c.Listen = "localhost" }, "Listen", []string{"missing port"}},
		{"a listen port past 65535", func(c *bridge.Config) { c.Listen = ":70000" }, "Listen", []string{"port 70000 is out of range"}},
		{"a path without a leading slash", func(c *bridge.Config) { c.Path = "socket.io/" }, "Path", []string{"start and end with '/'"}},
		{"an embedded listen address without a port", func(c *bridge.Config) { c.NATSURL = ""; c.EmbeddedNATSListen = "4222" }, "EmbeddedNATSListen", []string{"missing port"}},
		{"a NATS URL with a word for a port", func(c *bridge.Config) { c.NATSURL = "nats://127.0.0.1:notaport" }, "NATSURL", []string{`server "nats://127.0.0.1:notaport"`, "invalid port"}},
		{"a NATS URL of another scheme", func(c *bridge.Config) { c.NATSURL = "nats://a:4222, http://b:4222" }, "NATSURL", []string{`server "http://b:4222"`, `scheme "http"`}},
		{"NATS URLs mixing websocket and plain", func(c *bridge.Config) { c.NATSURL = "ws://a:80,nats://b:4222" }, "NATSURL", []string{"mixes websocket"}},
		{"a NATS URL list of commas", func(c *bridge.Config) { c.NATSURL = " , ," }, "NATSURL", []string{"lists no server"}},
		{"a user without a password", func(c *bridge.Config) { c.NATSUser = "u" }, "NATSUser", []string{"needs a password"}},
		{"a TLS certificate without its key", func(c *bridge.Config) { c.NATSTLSCert = "c.pem" }, "NATSTLSCert", []string{"needs its key"}},
		{"no map at all", func(c *bridge.Config) { c.Maps = nil }, "Maps", []string{"no rule"}},
		{"a map without '='", func(c *bridge.Config) { c.Maps = []string{"tasks"} }, "Maps[0]", []string{"no '='"}},
		{"a map with an empty token", func(c *bridge.Config) { c.Maps = []string{"a..b=e"} }, "Maps[0]", []string{"token 2 is empty"}},
		{"a map with '>' before the end", func(c *bridge.Config) { c.Maps = []string{"a.>.b=e"} }, "Maps[0]", []string{"'>' must be the last token"}},
		{"a map with a token mixing a wildcard", func(c *bridge.Config) { c.Maps = []string{"a.b*=e"} }, "Maps[0]", []string{"mixes a wildcard"}},
		{"a map with a space in its subject", func(c *bridge.Config) { c.Maps = []string{"a b=e"} }, "Maps[0]", []string{"white space"}},
		{"a map whose event is reserved", func(c *bridge.Config) { c.Maps = []string{"a=connect"} }, "Maps[0]", []string{"reserved by socket.io"}},
		{"a second map naming token 9 of 2", func(c *bridge.Config) { c.Maps = []string{"a=b", "a.*=e{9}"} }, "Maps[1]", []string{"{9} names token 9"}},
		{"a map with an unclosed brace", func(c *bridge.Config) { c.Maps = []string{"a.*=e{1"} }, "Maps[0]", []string{"'{' without '}'"}},
		{"an inbound rule to a wildcard subject", func(c *bridge.Config) { c.Inbound = []string{"ev=a.*"} }, "Inbound[0]", []string{"a publish subject must be literal"}},
		{"an inbound rule for a reserved event", func(c *bridge.Config) { c.Inbound = []string{"disconnect=a"} }, "Inbound[0]", []string{"reserved"}},
		{"an event mapped twice inbound", func(c *bridge.Config) { c.Inbound = []string{"ev=a", "ev=b"} }, "Inbound[1]", []string{`already mapped to "a"`}},
		{"a negative connection limit", func(c *bridge.Config) { c.SocketIO.Engine.MaxConnections = -1 }, "SocketIO.Engine.MaxConnections", []string{"must not be negative"}},
		{"a negative request timeout", func(c *bridge.Config) { c.RequestTimeout = -time.Second }, "RequestTimeout", []string{"must not be negative"}},
		{"a negative shutdown timeout", func(c *bridge.Config) { c.ShutdownTimeout = -1 }, "ShutdownTimeout", []string{"must not be negative"}},
		{"a negative handshake timeout", func(c *bridge.Config) { c.HandshakeTimeout = -1 }, "HandshakeTimeout", []string{"must not be negative"}},
		{"a negative write timeout", func(c *bridge.Config) { c.SocketIO.Engine.WriteTimeout = -1 }, "SocketIO.Engine.WriteTimeout", []string{"must not be negative"}},
		{"a negative ping interval", func(c *bridge.Config) { c.SocketIO.Engine.PingInterval = -1 }, "SocketIO.Engine.PingInterval", []string{"must not be negative"}},
		{"a negative max payload", func(c *bridge.Config) { c.SocketIO.Engine.MaxPayload = -1 }, "SocketIO.Engine.MaxPayload", []string{"must not be negative"}},
		{"a negative queue bound", func(c *bridge.Config) { c.SocketIO.Engine.MaxQueueBytes = -1 }, "SocketIO.Engine.MaxQueueBytes", []string{"must not be negative"}},
		{"an unknown slow policy", func(c *bridge.Config) { c.SocketIO.Engine.SlowPolicy = 7 }, "SocketIO.Engine.SlowPolicy", []string{"not a known policy"}},
		{"a reconnect buffer below -1", func(c *bridge.Config) { c.NATSReconnectBuffer = -2 }, "NATSReconnectBuffer", []string{"-1 to hold nothing"}},
		{"a per-address limit above the total", func(c *bridge.Config) {
			c.SocketIO.Engine.MaxConnections = 10
			c.SocketIO.Engine.MaxConnectionsPerIP = 11
		}, "SocketIO.Engine.MaxConnectionsPerIP", []string{"is above the bound on all connections (10)"}},
		{"a per-address limit above the default total", func(c *bridge.Config) { c.SocketIO.Engine.MaxConnectionsPerIP = 70000 }, "SocketIO.Engine.MaxConnectionsPerIP", []string{"(65536)"}},
		{"an empty CORS origin", func(c *bridge.Config) { c.SocketIO.Engine.AllowOrigins = []string{"*", " "} }, "SocketIO.Engine.AllowOrigins[1]", []string{"empty origin"}},
		{"a negative inflight bound", func(c *bridge.Config) { c.MaxInflightRequests = -3 }, "MaxInflightRequests", []string{"must not be negative"}},
		{"a negative socket.io connect timeout", func(c *bridge.Config) { c.SocketIO.ConnectTimeout = -1 }, "SocketIO", []string{"ConnectTimeout must not be negative"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.set(&cfg)
			_, err := bridge.New(cfg)
			if err == nil {
				t.Fatal("bridge.New accepted it")
			}
			if !errors.Is(err, bridge.ErrConfig) {
				t.Errorf("error %q does not wrap ErrConfig", err)
			}
			var fe *bridge.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %q is not a FieldError for %s", err, tc.field)
			}
			for _, w := range tc.want {
				if !strings.Contains(fe.Err.Error(), w) {
					t.Errorf("the reason %q does not say %q", fe.Err, w)
				}
			}
			// The rules' own parser (mapping.go) words its errors for now.
			if !strings.HasPrefix(fe.Field, "Maps") && !strings.HasPrefix(fe.Field, "Inbound") && strings.Contains(err.Error(), "--") {
				t.Errorf("error %q names a flag; bridge knows nothing of the command line", err)
			}
		})
	}
	// Every problem at once, each its own FieldError.
	cfg := base()
	first := 23 // from here on, the cases set different fields
	for _, tc := range cases[first:] {
		tc.set(&cfg)
	}
	err := cfg.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *bridge.FieldError
		if errors.As(e, &fe) {
			fields = append(fields, fe.Field)
		}
	}
	for _, tc := range cases[first:] {
		if !slices.Contains(fields, tc.field) {
			t.Errorf("with every bad value at once, Validate reported %q; it misses %s", fields, tc.field)
		}
	}
	t.Logf("%d configuration values tried", len(cases))
}

// TestDefaultConfigIsWhatAZeroConfigMeans: the defaults are filled from
// each layer's Default* constants, one home for each.
func TestDefaultConfigIsWhatAZeroConfigMeans(t *testing.T) {
	t.Parallel()
	c := bridge.DefaultConfig()
	e := c.SocketIO.Engine
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"Listen", c.Listen, bridge.DefaultListen},
		{"Path", c.Path, bridge.DefaultPath},
		{"NATSReconnectBuffer", c.NATSReconnectBuffer, bridge.DefaultNATSReconnectBuffer},
		{"HandshakeTimeout", c.HandshakeTimeout, bridge.DefaultHandshakeTimeout},
		{"SocketIO.ConnectTimeout", c.SocketIO.ConnectTimeout, bridge.DefaultHandshakeTimeout},
		{"SocketIO.Engine.MaxConnections", e.MaxConnections, engine.DefaultMaxConnections},
		{"SocketIO.Engine.MaxConnectionsPerIP", e.MaxConnectionsPerIP, 0},
		{"SocketIO.Engine.MaxPayload", e.MaxPayload, engine.DefaultMaxPayload},
		{"SocketIO.Engine.PingInterval", e.PingInterval, engine.DefaultPingInterval},
	} {
		if tc.got != tc.want {
			t.Errorf("DefaultConfig().%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Maps: no rule") {
		t.Errorf("DefaultConfig().Validate() = %v; want only the missing rules reported", err)
	}
	c.Maps = []string{"a=b"}
	if err := c.Validate(); err != nil {
		t.Errorf("DefaultConfig() with a rule does not validate: %v", err)
	}
}
