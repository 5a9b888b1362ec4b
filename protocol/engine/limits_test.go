package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natsock/natsock/protocol/engine"
)

// handshakeStatus makes a polling handshake and returns its status, its
// JSON error (when refused) and its Retry-After header.
func handshakeStatus(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "", ""
	}
	var e struct {
		Code    *int
		Message string
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Code == nil || e.Message == "" {
		t.Fatalf("refusal body %q is not the JSON error {\"code\",\"message\"}", b)
	}
	return resp.StatusCode, e.Message, resp.Header.Get("Retry-After")
}

// wsHandshakeStatus opens a websocket handshake and returns the HTTP status
// of its refusal, or 101 when it was accepted (the connection is closed).
func wsHandshakeStatus(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	var se ws.StatusError
	switch {
	case errors.As(err, &se):
		return int(se)
	case err != nil:
		t.Fatalf("websocket handshake: %v", err)
	}
	conn.Close()
	return http.StatusSwitchingProtocols
}

func waitClosed(t *testing.T, rec *recorder) engine.Reason {
	t.Helper()
	select {
	case why := <-rec.closed:
		return why
	case <-time.After(10 * time.Second):
		t.Fatal("no session closed")
		return ""
	}
}

func TestMaxConnectionsRefusesHandshakesPastTheBoundWith503(t *testing.T) {
	t.Parallel()
	srv, rec, url := startServer(t, engine.Config{MaxConnections: 2})
	var sessions []*engine.Session
	for range 2 {
		if code, msg, _ := handshakeStatus(t, url); code != http.StatusOK {
			t.Fatalf("handshake under the bound: %d %q", code, msg)
		}
		sessions = append(sessions, waitOpened(t, rec))
	}
	code, msg, retry := handshakeStatus(t, url)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "connection limit") || retry == "" {
		t.Fatalf("polling handshake past the bound: %d %q Retry-After %q; want 503 naming the connection limit, with Retry-After", code, msg, retry)
	}
	// A websocket is refused before the connection is taken over.
	if code := wsHandshakeStatus(t, url); code != http.StatusServiceUnavailable {
		t.Fatalf("websocket handshake past the bound: %d, want 503", code)
	}
	if st := srv.Stats(); st.RefusedMax != 2 || st.Open != 2 {
		t.Fatalf("Stats: RefusedMax %d, Open %d; want 2 and 2", st.RefusedMax, st.Open)
	}
	// A session that leaves gives its place back.
	sessions[0].CloseWith(engine.ReasonTransportError)
	waitClosed(t, rec)
	if code := wsHandshakeStatus(t, url); code != http.StatusSwitchingProtocols {
		t.Fatalf("websocket handshake once a place is free: %d, want 101", code)
	}
	waitOpened(t, rec)
}

func TestMaxConnectionsPerIPRefusesTheNextHandshakeWith429(t *testing.T) {
	t.Parallel()
	srv, rec, url := startServer(t, engine.Config{MaxConnectionsPerIP: 1})
	if code, msg, _ := handshakeStatus(t, url); code != http.StatusOK {
		t.Fatalf("first handshake: %d %q", code, msg)
	}
	s := waitOpened(t, rec)
	code, msg, _ := handshakeStatus(t, url)
	if code != http.StatusTooManyRequests || !strings.Contains(msg, "from this address") {
		t.Fatalf("second handshake from 127.0.0.1: %d %q; want 429 naming the address", code, msg)
	}
	if code := wsHandshakeStatus(t, url); code != http.StatusTooManyRequests {
		t.Fatalf("websocket handshake from 127.0.0.1: %d, want 429", code)
	}
	// An upgrade of the open session is not a new connection.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket&sid="+s.ID())
	if err != nil {
		t.Fatalf("upgrade of the open session: %v", err)
	}
	up.Close()
	if st := srv.Stats(); st.RefusedPerIP != 2 {
		t.Fatalf("Stats().RefusedPerIP = %d, want 2", st.RefusedPerIP)
	}
	s.CloseWith(engine.ReasonTransportError)
	waitClosed(t, rec)
	if code, msg, _ := handshakeStatus(t, url); code != http.StatusOK {
		t.Fatalf("handshake once the address's session left: %d %q", code, msg)
	}
	waitOpened(t, rec)
}

// A message that no queue could ever hold is refused on its own: the
// session, and what it has queued, are untouched, whatever the policy.
func TestAMessageLargerThanTheQueueIsRefusedAlone(t *testing.T) {
	t.Parallel()
	for _, policy := range []engine.SlowPolicy{engine.SlowDisconnect, engine.SlowDropOldest} {
		t.Run(policy.String(), func(t *testing.T) {
			t.Parallel()
			srv, rec, url := startServer(t, engine.Config{MaxQueueBytes: 100, SlowPolicy: policy})
			get(t, url+"?EIO=4&transport=polling")
			s := waitOpened(t, rec)
			if err := s.Send(msg("kept")); err != nil {
				t.Fatal(err)
			}
			if err := s.Send(msg(strings.Repeat("x", 101))); !errors.Is(err, engine.ErrMessageTooLarge) {
				t.Fatalf("Send of 101 bytes with MaxQueueBytes 100 = %v, want ErrMessageTooLarge", err)
			}
			if body := get(t, url+"?EIO=4&transport=polling&sid="+s.ID()); body != "4kept" {
				t.Fatalf("GET = %q, want the queued message", body)
			}
			if st := srv.Stats(); st.TooLarge != 1 || st.Dropped != 0 || st.SlowClosed != 0 {
				t.Fatalf("Stats = %+v, want TooLarge 1 and nothing dropped or closed", st)
			}
		})
	}
}

// A held GET is answered at least every pingInterval, by the ping.
func TestAHeldGETIsAnsweredByThePing(t *testing.T) {
	t.Parallel()
	_, rec, url := startServer(t, engine.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 5 * time.Second})
	get(t, url+"?EIO=4&transport=polling")
	s := waitOpened(t, rec)
	if body := get(t, url+"?EIO=4&transport=polling&sid="+s.ID()); body != "2" {
		t.Fatalf("held GET = %q, want the ping", body)
	}
}

// A v3 client pings, the server does not: a held GET of a client that
// stopped pinging is answered with the close packet when the heartbeat
// gives up.
func TestAHeldGETOfASilentV3ClientEndsWithTheSession(t *testing.T) {
	t.Parallel()
	_, rec, url := startServer(t, engine.Config{AllowEIO3: true, PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	get(t, url+"?EIO=3&transport=polling")
	s := waitOpened(t, rec)
	if body := get(t, url+"?EIO=3&transport=polling&sid="+s.ID()); body != "1:1" {
		t.Fatalf("held GET = %q, want the v3 close packet 1:1", body)
	}
	if why := waitClosed(t, rec); why != engine.ReasonPingTimeout {
		t.Fatalf("closed for %q, want %q", why, engine.ReasonPingTimeout)
	}
}

// smallBuffers shrinks the send buffer of every connection it accepts, so
// that a client that does not read blocks the server's writes at once.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// A polling client that sends a GET and never reads the response cannot
// hold the request: the response's write has WriteTimeout, and the session
// closes when it passes.
func TestAPollingResponseNobodyReadsIsCutAtTheWriteTimeout(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	srv, err := engine.NewServer(engine.Config{MaxPayload: 4 << 20, WriteTimeout: 200 * time.Millisecond}, rec)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = smallBuffers{hs.Listener}
	hs.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		hs.Close()
	})
	url := hs.URL + "/engine.io/"
	get(t, url+"?EIO=4&transport=polling")
	s := waitOpened(t, rec)
	if err := s.Send(msg(strings.Repeat("x", 2<<20))); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(conn, "GET /engine.io/?EIO=4&transport=polling&sid="+s.ID()+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if why := waitClosed(t, rec); why != engine.ReasonTransportError {
		t.Fatalf("closed for %q, want %q", why, engine.ReasonTransportError)
	}
}

// A POST whose body trickles in is cut after one heartbeat period.
func TestATricklingPOSTIsCutAfterOneHeartbeat(t *testing.T) {
	t.Parallel()
	_, rec, url := startServer(t, engine.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	get(t, url+"?EIO=4&transport=polling")
	s := waitOpened(t, rec)
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // writes a little, then nothing
		defer wg.Done()
		_, _ = io.WriteString(pw, "4hel")
	}()
	req, err := http.NewRequest(http.MethodPost, url+"?EIO=4&transport=polling&sid="+s.ID(), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 1000
	done := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	why := waitClosed(t, rec)
	if why != engine.ReasonTransportError && why != engine.ReasonPingTimeout {
		t.Fatalf("closed for %q, want a transport error or ping timeout", why)
	}
	select {
	case code := <-done:
		if code == http.StatusOK {
			t.Fatalf("the trickling POST got 200")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the trickling POST is still held")
	}
	pw.Close()
	wg.Wait()
}

func TestConfigValidateRefusesNegativeLimits(t *testing.T) {
	t.Parallel()
	err := engine.Config{MaxConnections: -1, MaxConnectionsPerIP: -2}.Validate()
	for _, want := range []string{"MaxConnections must not", "MaxConnectionsPerIP must not"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to say %q", err, want)
		}
	}
}
