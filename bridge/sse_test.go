package bridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/bridge/lifecycle"
	"github.com/natsock/natsock/internal/bridgetest"
)

// sseEvent is one event as EventSource dispatches it.
type sseEvent struct {
	ID, Event, Data string
}

// sseClient reads one GET /events stream over loopback, as EventSource
// would: its events, its comments and its retry field.
type sseClient struct {
	resp   *http.Response
	cancel context.CancelFunc
	events chan sseEvent
	done   chan struct{}
	err    error // why the reading ended: io.EOF for a stream the server ended

	mu       sync.Mutex
	comments []string
	retry    string
}

// openSSE opens base+"/events"+query with header, and fails the test
// unless it is answered 200 with an event stream.
func openSSE(t *testing.T, base, query string, header http.Header) *sseClient {
	t.Helper()
	c, status, body := tryOpenSSE(t, base, query, header)
	if c == nil {
		t.Fatalf("GET /events%s: %d %s", query, status, body)
	}
	return c
}

// tryOpenSSE opens a stream, returning the status and body of a refusal.
func tryOpenSSE(t *testing.T, base, query string, header http.Header) (*sseClient, int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /events%s: %v", query, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, string(b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	c := &sseClient{resp: resp, cancel: cancel, events: make(chan sseEvent, 1<<16), done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	return c, resp.StatusCode, ""
}

func (c *sseClient) read() {
	defer close(c.done)
	defer close(c.events)
	r := bufio.NewReader(c.resp.Body)
	var ev sseEvent
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			c.err = err
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if data != nil {
				ev.Data = strings.Join(data, "\n")
				c.events <- ev
			}
			ev.Event, data = "", nil // the id is kept, as EventSource keeps it
			continue
		}
		if strings.HasPrefix(line, ":") {
			c.mu.Lock()
			c.comments = append(c.comments, line)
			c.mu.Unlock()
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.ID = value
		case "event":
			ev.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			c.mu.Lock()
			c.retry = value
			c.mu.Unlock()
		}
	}
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
	<-c.done
}

// retryField waits for the stream's retry field and returns it.
func (c *sseClient) retryField(t *testing.T) string {
	t.Helper()
	var r string
	bridgetest.Eventually(t, startBound, "the retry field", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		r = c.retry
		return r != ""
	})
	return r
}

// next returns the next event, failing the test after bound.
func (c *sseClient) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatalf("the stream ended (%v) before the event expected", c.err)
		}
		return ev
	case <-time.After(startBound):
		t.Fatal("no event within the bound")
	}
	return sseEvent{}
}

// collect returns the next n events.
func (c *sseClient) collect(t *testing.T, n int) []sseEvent {
	t.Helper()
	out := make([]sseEvent, 0, n)
	for range n {
		out = append(out, c.next(t))
	}
	return out
}

// ended waits until the server ends the stream and returns why reading
// stopped (io.EOF for a clean end).
func (c *sseClient) ended(t *testing.T) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(startBound):
		t.Fatal("the stream did not end")
	}
	return nil
}

// pending returns the events received and not yet read, without waiting.
func (c *sseClient) pending() []sseEvent {
	var out []sseEvent
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				return out
			}
			out = append(out, ev)
		default:
			return out
		}
	}
}

// waitReceived waits until the bridge has handled n NATS messages, so that
// every stream has been given what it will get of them.
func waitReceived(t *testing.T, b *testBridge, n uint64) {
	t.Helper()
	bridgetest.Eventually(t, startBound, fmt.Sprintf("%d messages handled", n), func() bool {
		st := b.Stats()
		return st.Received.Load()+st.Reserved.Load()+st.TooLarge.Load()+st.BadRoom.Load() >= n
	})
}

func waitStreams(t *testing.T, b *testBridge, n int64) {
	t.Helper()
	bridgetest.Eventually(t, startBound, fmt.Sprintf("%d streams open", n), func() bool { return b.SSEStats().Open.Load() == n })
}

func publish(t *testing.T, nc *nats.Conn, subject string, data []byte) {
	t.Helper()
	if err := nc.Publish(subject, data); err != nil {
		t.Fatal(err)
	}
}

// TestSSEEventsAndNamespaces: each stream gets the events of its
// namespace that its query names, each once, as the one JSON value a
// socket gets as the event's argument.
func TestSSEEventsAndNamespaces(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{
		"tasks.assigned=newTaskAssigned", "notify.*=notification:{2}", "admin.>=alert@/admin",
	}})
	all := openSSE(t, b.URL, "", nil)
	some := openSSE(t, b.URL, "?events=newTaskAssigned,notification:b", nil)
	repeated := openSSE(t, b.URL, "?events=notification:a&events=notification:b", nil)
	admin := openSSE(t, b.URL, "?ns=/admin", nil)
	if r := all.retryField(t); r != "3000" {
		t.Errorf("retry %q, want the default 3000", r)
	}

	publish(t, nc, "tasks.assigned", []byte("{\n  \"task\": 1\n}"))
	publish(t, nc, "notify.a", []byte("plain text"))
	publish(t, nc, "notify.b", []byte{0xff, 0x00, 0x01})
	publish(t, nc, "admin.x.y", []byte(`[1,2]`))
	waitReceived(t, b, 4)

	byEvent := func(evs []sseEvent) map[string]string {
		m := map[string]string{}
		for _, ev := range evs {
			if _, dup := m[ev.Event]; dup {
				t.Errorf("event %q came twice", ev.Event)
			}
			m[ev.Event] = ev.Data
		}
		return m
	}
	want := map[string]string{
		"newTaskAssigned": "{\n  \"task\": 1\n}", // JSON byte for byte, its line breaks kept
		"notification:a":  `"plain text"`,        // text: a JSON string
		"notification:b":  `"/wAB"`,              // binary: a JSON string of its base64
	}
	if got := byEvent(all.collect(t, 3)); !mapsEqual(got, want) {
		t.Errorf("namespace / got %q, want %q", got, want)
	}
	if got := byEvent(some.collect(t, 2)); !mapsEqual(got, map[string]string{"newTaskAssigned": want["newTaskAssigned"], "notification:b": want["notification:b"]}) {
		t.Errorf("?events=newTaskAssigned,notification:b got %q", got)
	}
	if got := byEvent(repeated.collect(t, 2)); !mapsEqual(got, map[string]string{"notification:a": want["notification:a"], "notification:b": want["notification:b"]}) {
		t.Errorf("repeated events= got %q", got)
	}
	if ev := admin.next(t); ev.Event != "alert" || ev.Data != "[1,2]" {
		t.Errorf("/admin got %+v", ev)
	}
	// Every delivery is counted; nothing else was queued to any stream.
	if n := b.SSEStats().Delivered.Load(); n != 8 {
		t.Errorf("Delivered = %d, want 8", n)
	}
	for name, c := range map[string]*sseClient{"all": all, "some": some, "repeated": repeated, "admin": admin} {
		if extra := c.pending(); len(extra) > 0 {
			t.Errorf("stream %s got more: %+v", name, extra)
		}
		if c := c.resp.Header.Get("Cache-Control"); c != "no-store" {
			t.Errorf("Cache-Control %q", c)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestSSEBadRequests: a query the rules cannot serve, another method, a
// refused origin: each is answered with a JSON error naming the cause,
// and nothing is opened.
func TestSSEBadRequests(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	cfg := bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"tasks.assigned=newTaskAssigned", "notify.*=note:{2}", "admin.>=alert@/admin"}}
	cfg.SocketIO.Engine.AllowOrigins = []string{"https://app.example"}
	b := startBridge(t, cfg)
	for _, tc := range []struct {
		name, method, query, origin string
		status                      int
		code, says                  string
	}{
		{"an unknown parameter is refused, not ignored", "GET", "?event=newTaskAssigned", "", 400, "bad_query", `unknown parameter "event"`},
		{"an undeclared namespace", "GET", "?ns=/nope", "", 400, "bad_query", `namespace "/nope" is not served`},
		{"a namespace without its slash", "GET", "?ns=admin", "", 400, "bad_query", `does not start with '/'`},
		{"an event no rule emits", "GET", "?events=newTaskAsigned", "", 400, "bad_query", `no --map rule emits event "newTaskAsigned" in namespace "/"`},
		{"an event of another namespace", "GET", "?events=alert", "", 400, "bad_query", `no --map rule emits event "alert"`},
		{"a name the placeholder cannot fill", "GET", "?events=note:a.b", "", 400, "bad_query", `"note:a.b"`},
		{"an empty name in the list", "GET", "?events=newTaskAssigned,", "", 400, "bad_query", "an empty event name"},
		{"ns given twice", "GET", "?ns=/&ns=/admin", "", 400, "bad_query", `"ns" is given 2 times`},
		{"a broken escape", "GET", "?events=%zz", "", 400, "bad_query", "invalid URL escape"},
		{"another method", "POST", "", "", 405, "method_not_allowed", "GET /events"},
		{"an origin not allowed", "GET", "", "https://evil.example", 403, "origin_not_allowed", "--cors-origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, b.URL+"/events"+tc.query, nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Code, Message string }
			body, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if resp.StatusCode != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.says) {
				t.Fatalf("%d %+v; want %d, code %q, a message saying %q", resp.StatusCode, e, tc.status, tc.code, tc.says)
			}
		})
	}
	if n := b.SSEStats().Opened.Load(); n != 0 {
		t.Fatalf("%d streams opened", n)
	}
	// An allowed origin gets the CORS headers, and its preflight (for a
	// fetch-based client's Authorization or Last-Event-ID) is answered.
	req, _ := http.NewRequest(http.MethodOptions, b.URL+"/events", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Headers", "authorization, last-event-id")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "authorization, last-event-id" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	c := openSSE(t, b.URL, "", http.Header{"Origin": {"https://app.example"}})
	if got := c.resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Fatalf("Access-Control-Allow-Origin %q", got)
	}
}

// TestSSERoomsAndAuth: two users' streams, authenticated as sockets are
// (a Bearer header, a cookie, a query parameter), each get their own
// room's events and the broadcasts; an anonymous stream only the
// broadcasts; bad credentials are refused with connect_error's codes.
func TestSSERoomsAndAuth(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	cfg := userTokenConfig(ns.ClientURL())
	cfg.Maps = append(cfg.Maps, "news=news")
	cfg.Auth.Sources.Query = "access_token"
	cfg.LifecycleSubject = "life"
	life, err := nc.SubscribeSync("life.>")
	if err != nil {
		t.Fatal(err)
	}
	b := startBridge(t, cfg)
	alice := signHS(t, authSecret, jwt.MapClaims{"sub": "alice"})
	bob := signHS(t, authSecret, jwt.MapClaims{"sub": "bob", "teams": []string{"red"}})

	aliceHeader := openSSE(t, b.URL, "", http.Header{"Authorization": {"Bearer " + alice}})
	aliceQuery := openSSE(t, b.URL, "?access_token="+url.QueryEscape(alice)+"&events=notification", nil)
	bobCookie := openSSE(t, b.URL, "", http.Header{"Cookie": {"theme=dark; sid=" + bob}})
	anon := openSSE(t, b.URL, "", nil)

	for _, tc := range []struct {
		name   string
		header http.Header
		query  string
		status int
		code   auth.Code
	}{
		{"an expired token", http.Header{"Authorization": {"Bearer " + signHS(t, authSecret, jwt.MapClaims{"sub": "x", "exp": time.Now().Add(-time.Hour).Unix()})}}, "", 401, auth.CodeExpired},
		{"a forged token", http.Header{"Authorization": {"Bearer " + signHS(t, []byte("another-secret-of-thirty-two-byte"), jwt.MapClaims{"sub": "alice"})}}, "", 401, auth.CodeBadSignature},
		{"not a JWT", nil, "?access_token=garbage", 401, auth.CodeMalformed},
		{"an empty Bearer", http.Header{"Authorization": {"Bearer "}}, "", 401, auth.CodeMalformed},
	} {
		c, status, body := tryOpenSSE(t, b.URL, tc.query, tc.header)
		if c != nil {
			t.Fatalf("%s: the stream opened", tc.name)
		}
		var e struct{ Code, Message string }
		_ = json.Unmarshal([]byte(body), &e)
		if status != tc.status || e.Code != string(tc.code) || e.Message == "" {
			t.Errorf("%s: %d %s; want %d with code %q", tc.name, status, body, tc.status, tc.code)
		}
	}

	publishString(t, nc, "notify.user.alice", "for alice")
	publishString(t, nc, "notify.user.bob", "for bob")
	publishString(t, nc, "news", "for all")
	waitReceived(t, b, 3)
	got := func(c *sseClient, n int) []string {
		var out []string
		for _, ev := range c.collect(t, n) {
			out = append(out, ev.Event+"="+ev.Data)
		}
		slices.Sort(out)
		return out
	}
	for name, tc := range map[string]struct {
		c    *sseClient
		want []string
	}{
		"alice by header": {aliceHeader, []string{`news="for all"`, `notification="for alice"`}},
		"alice by query":  {aliceQuery, []string{`notification="for alice"`}},
		"bob by cookie":   {bobCookie, []string{`news="for all"`, `notification="for bob"`}},
		"anonymous":       {anon, []string{`news="for all"`}},
	} {
		if g := got(tc.c, len(tc.want)); !slices.Equal(g, tc.want) {
			t.Errorf("%s got %q, want %q", name, g, tc.want)
		}
		if extra := tc.c.pending(); len(extra) > 0 {
			t.Errorf("%s got more: %+v", name, extra)
		}
	}
	if n := b.AuthStats().Refused.Load(); n != 4 {
		t.Errorf("AuthStats().Refused = %d, want 4", n)
	}
	if n := b.SSEStats().Refused.Load(); n != 4 {
		t.Errorf("SSEStats().Refused = %d, want 4", n)
	}

	// Lifecycle events name the stream as a socket's would: transport
	// "sse", the user, the rooms; and its disconnect when it goes.
	bobCookie.close()
	var connects, disconnects []lifecycle.Event
	bridgetest.Eventually(t, startBound, "the lifecycle events of four streams and one disconnect", func() bool {
		for {
			m, err := life.NextMsg(10 * time.Millisecond)
			if err != nil {
				return len(connects) == 4 && len(disconnects) == 1
			}
			var ev lifecycle.Event
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatalf("lifecycle event %q: %v", m.Data, err)
			}
			switch ev.Type {
			case lifecycle.TypeConnect:
				connects = append(connects, ev)
			case lifecycle.TypeDisconnect:
				disconnects = append(disconnects, ev)
			}
		}
	})
	d := disconnects[0]
	if d.Transport != "sse" || d.Sub != "bob" || d.Reason != "transport close" || !slices.Equal(d.Rooms, []string{"user:bob", "team:red"}) || d.SID == "" || d.ConnectedAt == nil {
		t.Errorf("disconnect event %+v", d)
	}
	waitStreams(t, b, 3)
}

// TestSSEKeepAliveAndRetry: a silent stream gets a comment every
// KeepAlive, and its first message sets EventSource's retry delay.
func TestSSEKeepAliveAndRetry(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	cfg := bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=a"}}
	cfg.SSE.KeepAlive = bridge.MinSSEKeepAlive
	cfg.SSE.Retry = 1500 * time.Millisecond
	b := startBridge(t, cfg)
	c := openSSE(t, b.URL, "", nil)
	bridgetest.Eventually(t, startBound, "two keep-alive comments", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.comments) >= 2
	})
	r := c.retryField(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.comments[0] != ": keep-alive" || r != "1500" {
		t.Fatalf("comments %q, retry %q", c.comments, r)
	}
}

// dialNoRead opens GET /events on a connection with a small receive
// buffer, and never reads it: the slowest client there is.
func dialNoRead(t *testing.T, base string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestSSESlowConsumer: a stream whose client does not read is closed as
// slow once its queue passes MaxQueueBytes, while another stream and a
// socket.io client of the same events get every one, in order.
func TestSSESlowConsumer(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	cfg := bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"load=load"}}
	cfg.SocketIO.Engine.MaxQueueBytes = 64 << 10
	cfg.SocketIO.Engine.WriteTimeout = 500 * time.Millisecond // how long the stalled write holds on
	b := startBridge(t, cfg)
	dialNoRead(t, b.URL)
	fast := openSSE(t, b.URL, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*startBound)
	defer cancel()
	sock, err := bridgetest.DialSocket(ctx, b.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	waitStreams(t, b, 2)

	payload := `"` + strings.Repeat("x", 4000) + `"`
	const batch, maxEvents = 8, 4000 // a batch is half the queue bound
	sent := 0
	for sent < maxEvents && b.SSEStats().SlowClosed.Load() == 0 {
		for range batch {
			publish(t, nc, "load", []byte(fmt.Sprintf(`{"i":%d,"pad":%s}`, sent, payload)))
			sent++
		}
		// The fast clients keep up: each batch is read before the next.
		for i := sent - batch; i < sent; i++ {
			want := fmt.Sprintf(`{"i":%d,`, i)
			if ev := fast.next(t); !strings.HasPrefix(ev.Data, want) {
				t.Fatalf("the fast stream's event %d is %.20s", i, ev.Data)
			}
			name, args, err := sock.NextEvent(startBound)
			if err != nil || name != "load" || len(args) != 1 || !strings.HasPrefix(string(args[0]), want) {
				t.Fatalf("the socket's event %d: %s %.20s %v", i, name, args, err)
			}
		}
	}
	if b.SSEStats().SlowClosed.Load() != 1 {
		t.Fatalf("the stream that never reads was not closed as slow after %d events of 4 KB", sent)
	}
	waitStreams(t, b, 1)
	if n := b.Connections(); n != 1 {
		t.Fatalf("%d socket.io connections, want the fast one", n)
	}
	// And both go on.
	publish(t, nc, "load", []byte(`"after"`))
	if ev := fast.next(t); ev.Data != `"after"` {
		t.Fatalf("the fast stream then got %+v", ev)
	}
	if _, args, err := sock.NextEvent(startBound); err != nil || string(args[0]) != `"after"` {
		t.Fatalf("the socket then got %s %v", args, err)
	}
	if !strings.Contains(b.logs.String(), "slow event stream closed") {
		t.Errorf("the slow close was not logged")
	}
}

// TestSSECountsInMaxConnections: a stream takes a place under
// MaxConnections, as a socket does, and gives it back when it ends.
func TestSSECountsInMaxConnections(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	cfg := bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=a"}}
	cfg.SocketIO.Engine.MaxConnections = 1
	b := startBridge(t, cfg)
	c := openSSE(t, b.URL, "", nil)
	if code, _ := get(t, b.URL+"/socket.io/?EIO=4&transport=polling"); code != http.StatusServiceUnavailable {
		t.Fatalf("a socket.io handshake beside a stream at MaxConnections 1: %d, want 503", code)
	}
	_, status, body := tryOpenSSE(t, b.URL, "", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"too_many_connections"`) {
		t.Fatalf("a second stream: %d %s", status, body)
	}
	c.close()
	waitStreams(t, b, 0)
	if code, _ := get(t, b.URL+"/socket.io/?EIO=4&transport=polling"); code != http.StatusOK {
		t.Fatalf("a handshake once the stream is gone: %d", code)
	}
}

// TestSSEShutdown: shutdown ends every stream cleanly after what was
// queued for it is written, and Run returns without error.
func TestSSEShutdown(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=a"}})
	streams := []*sseClient{openSSE(t, b.URL, "", nil), openSSE(t, b.URL, "?events=a", nil)}
	const n = 200
	for i := range n {
		publish(t, nc, "a", []byte(fmt.Sprint(i)))
	}
	waitReceived(t, b, n)
	if err := b.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, c := range streams {
		if err := c.ended(t); !errors.Is(err, io.EOF) {
			t.Fatalf("the stream ended with %v, want a clean end", err)
		}
		evs := c.pending()
		if len(evs) != n || evs[n-1].Data != fmt.Sprint(n-1) {
			t.Fatalf("got %d events before the end, want %d", len(evs), n)
		}
	}
	if n := b.SSEStats().Open.Load(); n != 0 {
		t.Fatalf("%d streams open after shutdown", n)
	}
}

// TestSSEDisabled: with SSE.Disable, /events is not served.
func TestSSEDisabled(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	cfg := bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=a"}}
	cfg.SSE.Disable = true
	b := startBridge(t, cfg)
	if code, _ := get(t, b.URL+"/events"); code != http.StatusNotFound {
		t.Fatalf("GET /events: %d, want 404", code)
	}
}

// TestSSEEventLargerThanTheQueue: a binary body a socket's queue takes
// can be too large for a stream's once in base64; it is dropped and
// counted for the stream, which stays open and gets the next event.
func TestSSEEventLargerThanTheQueue(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	cfg := bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=a"}}
	cfg.SocketIO.Engine.MaxQueueBytes = 64 << 10
	b := startBridge(t, cfg)
	c := openSSE(t, b.URL, "", nil)
	big := make([]byte, 60<<10)
	big[0] = 0xff // not UTF-8: binary
	publish(t, nc, "a", big)
	publish(t, nc, "a", []byte(`"next"`))
	if ev := c.next(t); ev.Data != `"next"` {
		t.Fatalf("got %.40q, want the next event", ev.Data)
	}
	// The stream may count the delivery just after the client read it.
	st := b.SSEStats()
	if err := bridgetest.Poll(5*time.Second, func() bool {
		return st.Dropped.Load() == 1 && st.Delivered.Load() == 1 && st.Open.Load() == 1
	}); err != nil {
		t.Fatalf("dropped %d, delivered %d, open %d; want 1, 1, 1", st.Dropped.Load(), st.Delivered.Load(), st.Open.Load())
	}
}
