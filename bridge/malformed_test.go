package bridge_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
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
		NATSURL:       ns.ClientURL(),
		Maps:          []string{"good.seq=seq", "bad.*=bad"},
		MaxQueueBytes: queue,
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

// TestInboundArgumentsNATSCannotCarry: a client's binary placeholders that
// name no attachment are refused, the ack naming the cause, and the
// client stays connected.
func TestInboundArgumentsNATSCannotCarry(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	b := startBridge(t, guideConfig(ns.ClientURL()))
	c := receive(t, b.URL)
	cases := []struct{ name, packet, ackPrefix, want string }{
		{"a placeholder naming attachment 5 of 1", `451-1["ask",{"_placeholder":true,"num":5}]`, "431[", "bad arguments"},
		{"a placeholder with a negative number", `451-2["ask",{"_placeholder":true,"num":-1}]`, "432[", "bad arguments"},
		{"a placeholder with a string for its number", `451-3["ask",{"_placeholder":true,"num":"0"}]`, "433[", "bad arguments"},
		{"an event with no --inbound rule", `424["nowhere",1]`, "434[", `"nowhere\" is not mapped`},
	}
	for _, tc := range cases {
		if err := c.Send(tc.packet); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(tc.packet, "451-") {
			if err := c.SendFrame(maskedBinary([]byte{1})); err != nil {
				t.Fatal(err)
			}
		}
		ack := nextPacket(t, c, tc.ackPrefix)
		if !strings.Contains(ack, `"error"`) || !strings.Contains(ack, tc.want) {
			t.Errorf("%s: ack %q, want an error saying %s", tc.name, ack, tc.want)
		}
	}
	if !c.connected() {
		t.Errorf("the client was disconnected: %v", c.end)
	}
}

// maskedBinary is a client's binary websocket frame (zero mask key).
func maskedBinary(p []byte) []byte {
	return append(append([]byte{0x82, 0x80 | byte(len(p))}, 0, 0, 0, 0), p...)
}

// TestConfigRefusesBadValues: every bad configuration value stops the
// start with an error naming the flag, the value and why.
func TestConfigRefusesBadValues(t *testing.T) {
	t.Parallel()
	base := func() bridge.Config {
		return bridge.Config{NATSURL: "nats://127.0.0.1:1", Maps: []string{"a=b"}}
	}
	cases := []struct {
		name string
		set  func(*bridge.Config)
		want []string
	}{
		{"a listen address without a port", func(c *bridge.Config) { c.Listen = "localhost" }, []string{`--listen "localhost"`, "missing port"}},
		{"a path without a leading slash", func(c *bridge.Config) { c.Path = "socket.io/" }, []string{`--path "socket.io/"`, "start and end with '/'"}},
		{"an embedded listen address without a port", func(c *bridge.Config) { c.NATSURL = ""; c.EmbeddedNATSListen = "4222" }, []string{`--embedded-nats-listen "4222"`}},
		{"a user without a password", func(c *bridge.Config) { c.NATSUser = "u" }, []string{"--nats-user and --nats-password go together"}},
		{"a TLS certificate without its key", func(c *bridge.Config) { c.NATSTLSCert = "c.pem" }, []string{"--nats-tls-cert and --nats-tls-key go together"}},
		{"no map at all", func(c *bridge.Config) { c.Maps = nil }, []string{"no --map rule"}},
		{"a map without '='", func(c *bridge.Config) { c.Maps = []string{"tasks"} }, []string{`--map "tasks"`, "no '='"}},
		{"a map with an empty token", func(c *bridge.Config) { c.Maps = []string{"a..b=e"} }, []string{`--map "a..b=e"`, "token 2 is empty"}},
		{"a map with '>' before the end", func(c *bridge.Config) { c.Maps = []string{"a.>.b=e"} }, []string{`--map "a.>.b=e"`, "'>' must be the last token"}},
		{"a map with a token mixing a wildcard", func(c *bridge.Config) { c.Maps = []string{"a.b*=e"} }, []string{`--map "a.b*=e"`, "mixes a wildcard"}},
		{"a map with a space in its subject", func(c *bridge.Config) { c.Maps = []string{"a b=e"} }, []string{`--map "a b=e"`, "white space"}},
		{"a map whose event is reserved", func(c *bridge.Config) { c.Maps = []string{"a=connect"} }, []string{`--map "a=connect"`, "reserved by socket.io"}},
		{"a map naming token 9 of 2", func(c *bridge.Config) { c.Maps = []string{"a.*=e{9}"} }, []string{`--map "a.*=e{9}"`, "{9} names token 9"}},
		{"a map with an unclosed brace", func(c *bridge.Config) { c.Maps = []string{"a.*=e{1"} }, []string{"'{' without '}'"}},
		{"an inbound rule to a wildcard subject", func(c *bridge.Config) { c.Inbound = []string{"ev=a.*"} }, []string{`--inbound "ev=a.*"`, "a publish subject must be literal"}},
		{"an inbound rule for a reserved event", func(c *bridge.Config) { c.Inbound = []string{"disconnect=a"} }, []string{`--inbound "disconnect=a"`, "reserved"}},
		{"an event mapped twice inbound", func(c *bridge.Config) { c.Inbound = []string{"ev=a", "ev=b"} }, []string{`already mapped to "a"`}},
		{"a negative request timeout", func(c *bridge.Config) { c.RequestTimeout = -time.Second }, []string{"--request-timeout must not be negative"}},
		{"a negative shutdown timeout", func(c *bridge.Config) { c.ShutdownTimeout = -1 }, []string{"--shutdown-timeout must not be negative"}},
		{"a negative handshake timeout", func(c *bridge.Config) { c.HandshakeTimeout = -1 }, []string{"--handshake-timeout must not be negative"}},
		{"a negative write timeout", func(c *bridge.Config) { c.WriteTimeout = -1 }, []string{"--write-timeout must not be negative"}},
		{"a negative ping interval", func(c *bridge.Config) { c.PingInterval = -1 }, []string{"--ping-interval must not be negative"}},
		{"a negative max payload", func(c *bridge.Config) { c.MaxPayload = -1 }, []string{"--max-payload must not be negative"}},
		{"a negative queue bound", func(c *bridge.Config) { c.MaxQueueBytes = -1 }, []string{"--max-queue-bytes must not be negative"}},
		{"an unknown slow policy", func(c *bridge.Config) { c.SlowPolicy = "drop" }, []string{"--slow-policy", `"drop"`, "disconnect or drop-oldest"}},
		{"a reconnect buffer below -1", func(c *bridge.Config) { c.NATSReconnectBuffer = -2 }, []string{"--nats-reconnect-buffer -2"}},
		{"a negative connection limit", func(c *bridge.Config) { c.MaxConnections = -1 }, []string{"--max-connections must not be negative"}},
		{"a per-address limit above the total", func(c *bridge.Config) { c.MaxConnections = 10; c.MaxConnectionsPerIP = 11 }, []string{"--max-connections-per-ip 11 is above --max-connections 10"}},
		{"an empty CORS origin", func(c *bridge.Config) { c.CORSOrigins = []string{""} }, []string{"--cors-origin: an empty origin"}},
		{"a negative inflight bound", func(c *bridge.Config) { c.MaxInflightRequests = -3 }, []string{"--max-inflight-requests must not be negative"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.set(&cfg)
			_, err := bridge.New(cfg)
			if err == nil {
				t.Fatal("bridge.New accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// Every problem at once.
	cfg := base()
	for _, tc := range cases[17:] {
		tc.set(&cfg)
	}
	_, err := bridge.New(cfg)
	if err == nil || !errors.Is(err, bridge.ErrConfig) || strings.Count(err.Error(), "\n") < 10 {
		t.Errorf("a config with %d bad values gave %v; want each named, wrapping ErrConfig", len(cases)-17, err)
	}
	t.Logf("%d configuration values tried", len(cases))
}
