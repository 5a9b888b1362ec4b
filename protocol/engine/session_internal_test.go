package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAtFrameBoundary(t *testing.T) {
	t.Parallel()
	bufs := net.Buffers{make([]byte, 3), make([]byte, 5), make([]byte, 2)}
	for _, tc := range []struct {
		n    int64
		want bool
	}{
		{0, true}, {1, false}, {3, true}, {4, false}, {8, true}, {9, false}, {10, true},
	} {
		if got := atFrameBoundary(bufs, tc.n); got != tc.want {
			t.Errorf("atFrameBoundary(3+5+2 bytes, %d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// A session that closes between its registration and open() (Server.Close
// racing the handshake, or a websocket whose open frame fails to write)
// still gets OnOpen before OnClose: the layer above sets up its state in
// OnOpen and finds it in OnClose.
func TestASessionClosedBeforeItOpensGetsOnOpenFirst(t *testing.T) {
	t.Parallel()
	calls := make(chan string, 2)
	srv, err := NewServer(Config{}, handlerFuncs{
		open:  func(*Session) { calls <- "open" },
		close: func(*Session, Reason) { calls <- "close" },
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil)
	s := srv.newSession(r, r.URL.Query(), 4, transportPolling, "192.0.2.1", nil)
	if s == nil {
		t.Fatal("newSession refused a session on an open server")
	}
	srv.admitted.total++ // the place admit would have taken
	closed := make(chan error, 1)
	go func() { closed <- srv.Close(context.Background()) }()
	// Once Close has closed the session, give its OnClose the time it
	// would take to run, if it were allowed to.
	isClosed := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.closed
	}
	for i := 0; i < 5000 && !isClosed(); i++ {
		time.Sleep(time.Millisecond)
	}
	select {
	case c := <-calls:
		t.Fatalf("%s called before the session's open()", c)
	case <-time.After(50 * time.Millisecond):
	}
	s.open()
	for _, want := range []string{"open", "close"} {
		select {
		case c := <-calls:
			if c != want {
				t.Fatalf("got %s, want %s", c, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s", want)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

type handlerFuncs struct {
	open  func(*Session)
	close func(*Session, Reason)
}

func (h handlerFuncs) OnOpen(s *Session)                 { h.open(s) }
func (handlerFuncs) OnMessage(*Session, []byte, bool)    {}
func (h handlerFuncs) OnClose(s *Session, reason Reason) { h.close(s, reason) }

// A session's heartbeat deadline holds at every request, however late the
// timer wheel runs (on a loaded machine it can be late by more than the
// margin a client leaves): a GET made pingInterval+pingTimeout after the
// handshake, with no pong, gets 400 even though no timer has fired.
func TestTheHeartbeatDeadlineHoldsWithoutTheTimerWheel(t *testing.T) {
	t.Parallel()
	const interval, timeout = 30 * time.Millisecond, 20 * time.Millisecond
	srv, err := NewServer(Config{PingInterval: interval, PingTimeout: timeout, AllowEIO3: true}, handlerFuncs{
		open: func(*Session) {}, close: func(*Session, Reason) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.wheel.Close() // a wheel that never runs: only the deadline itself can close the session
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	for _, eio := range []string{"4", "3"} {
		do := func(method, query string) (int, string) {
			// A GET the server holds (the session alive) ends with the
			// context, as a client that gives up: 200 with no body.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			w := httptest.NewRecorder()
			r := httptest.NewRequest(method, "/engine.io/?EIO="+eio+"&transport=polling"+query, nil).WithContext(ctx)
			srv.ServeHTTP(w, r)
			return w.Code, w.Body.String()
		}
		code, body := do(http.MethodGet, "")
		handshakeDone := time.Now()
		i := strings.Index(body, `"sid":"`)
		if code != http.StatusOK || i < 0 {
			t.Fatalf("EIO=%s handshake: %d %q", eio, code, body)
		}
		sid := body[i+7 : i+7+strings.IndexByte(body[i+7:], '"')]
		time.Sleep(time.Until(handshakeDone.Add(interval + timeout)))
		if code, body := do(http.MethodGet, "&sid="+sid); code != http.StatusBadRequest {
			t.Errorf("EIO=%s: GET %v after the handshake without a pong: %d %q; want 400", eio, interval+timeout, code, body)
		}
	}
}

// A ping that reaches a held GET late (the timer goroutine ran late, on a
// loaded machine) still leaves the client pingTimeout to answer it, as
// Node.js counts the timeout from the ping it sends; a ping nobody
// collects does not move the deadline (the test above).
func TestALatePingCollectedByAGETLeavesTheClientPingTimeout(t *testing.T) {
	t.Parallel()
	const interval, timeout = 200 * time.Millisecond, 500 * time.Millisecond
	srv, err := NewServer(Config{PingInterval: interval, PingTimeout: timeout}, handlerFuncs{
		open: func(*Session) {}, close: func(*Session, Reason) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.wheel.Close() // the timer runs only when this test says
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	do := func(method, query, body string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, "/engine.io/?EIO=4&transport=polling"+query, strings.NewReader(body)).WithContext(ctx)
		srv.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	code, body := do(http.MethodGet, "", "")
	start := time.Now()
	i := strings.Index(body, `"sid":"`)
	if code != http.StatusOK || i < 0 {
		t.Fatalf("handshake: %d %q", code, body)
	}
	sid := body[i+7 : i+7+strings.IndexByte(body[i+7:], '"')]
	s := srv.lookup(sid)
	held := make(chan string, 1)
	go func() {
		code, body := do(http.MethodGet, "&sid="+sid, "")
		held <- fmt.Sprint(code, " ", body)
	}()
	// The ping, due at interval, fires 200 ms late.
	time.Sleep(time.Until(start.Add(interval + 200*time.Millisecond)))
	s.onTimer()
	if got := <-held; got != "200 2" {
		t.Fatalf("held GET: %s, want 200 2 (the ping)", got)
	}
	// Past interval+timeout from the handshake, within timeout of the ping.
	time.Sleep(time.Until(start.Add(interval + timeout + 60*time.Millisecond)))
	if code, body := do(http.MethodPost, "&sid="+sid, "3"); code != http.StatusOK {
		t.Fatalf("pong %v after the late ping: %d %q; want 200", time.Since(start), code, body)
	}
	if code, body := do(http.MethodPost, "&sid="+sid, "6"); code != http.StatusOK {
		t.Fatalf("session gone after its pong: %d %q", code, body)
	}
}

// A session keeps the client's headers, not the transport's, in one
// allocation sized to them; a bare websocket handshake keeps none.
func TestKeptHeader(t *testing.T) {
	t.Parallel()
	if got := keptHeader(http.Header{"Upgrade": {"websocket"}, "Sec-Websocket-Key": {"x"}}); got != nil {
		t.Errorf("a bare handshake kept %v, want nil", got)
	}
	h := http.Header{
		"Connection": {"Upgrade"},
		"Cookie":     {"a=1", "b=2"},
		"Origin":     {"http://example.test"},
		"X-Empty":    {},
	}
	got := keptHeader(h)
	if len(got) != 3 || got.Get("Origin") != "http://example.test" || strings.Join(got["Cookie"], ";") != "a=1;b=2" || got["Connection"] != nil {
		t.Fatalf("keptHeader = %v", got)
	}
	// The kept slices do not share spare capacity: appending to one
	// must not overwrite another's values.
	got["Cookie"] = append(got["Cookie"], "c=3")
	if got.Get("Origin") != "http://example.test" {
		t.Errorf("appending to Cookie changed Origin: %v", got)
	}
	if len(h["Cookie"]) != 2 {
		t.Errorf("the request's header changed: %v", h)
	}
}

// wholeFrames counts the bytes of whole messages only: a frame cut short,
// a header cut short, and a fragmented message still open all stay out.
func TestWholeFrames(t *testing.T) {
	t.Parallel()
	frame := func(fin bool, op byte, payload int, masked bool) []byte {
		b0 := op
		if fin {
			b0 |= 0x80
		}
		var h []byte
		switch {
		case payload < 126:
			h = []byte{b0, byte(payload)}
		case payload < 1<<16:
			h = []byte{b0, 126, byte(payload >> 8), byte(payload)}
		default:
			h = []byte{b0, 127, 0, 0, 0, 0, byte(payload >> 24), byte(payload >> 16), byte(payload >> 8), byte(payload)}
		}
		if masked {
			h[1] |= 0x80
			h = append(h, 1, 2, 3, 4)
		}
		return append(h, make([]byte, payload)...)
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	text := frame(true, 1, 5, true)
	big := frame(true, 2, 300, true)
	huge := frame(true, 2, 70000, true)
	ping := frame(true, 9, 0, true)
	first := frame(false, 1, 3, true)
	last := frame(true, 0, 3, true)
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"nothing", nil, 0},
		{"one frame", text, len(text)},
		{"three frames", cat(text, big, huge), len(text) + len(big) + len(huge)},
		{"a header cut short", cat(text, huge[:3]), len(text)},
		{"a payload cut short", cat(text, big[:len(big)-1]), len(text)},
		{"a 64-bit length cut short", cat(text, huge[:9]), len(text)},
		{"a fragmented message still open", cat(text, first), len(text)},
		{"a ping inside an open message", cat(text, first, ping), len(text)},
		{"a fragmented message closed", cat(text, first, ping, last), len(text) + len(first) + len(ping) + len(last)},
		{"a ping on its own", cat(ping, text[:1]), len(ping)},
		{"a length of 2^63", cat(text, []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), len(text)},
	} {
		if got := wholeFrames(tc.data); got != tc.want {
			t.Errorf("%s: wholeFrames = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func FuzzWholeFrames(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x01, 0x81, 1, 2, 3, 4, 'a', 0x80, 0x81, 1, 2, 3, 4, 'b'})
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := wholeFrames(data)
		if n < 0 || n > len(data) {
			t.Fatalf("wholeFrames = %d for %d bytes", n, len(data))
		}
		if wholeFrames(data[:n]) != n {
			t.Fatalf("the whole prefix (%d bytes) is not whole on its own", n)
		}
	})
}
