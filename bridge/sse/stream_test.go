package sse_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/natsock/natsock/bridge/sse"
)

// bound is how long a test waits for something to happen; no test
// asserts on how long anything takes.
const bound = 10 * time.Second

var testConfig = sse.Config{
	MaxQueueBytes:    1 << 20,
	MaxQueueMessages: 1000,
	WriteTimeout:     bound,
	KeepAlive:        time.Hour,
}

func frame(t testing.TB, i int) []byte {
	b, err := sse.AppendEvent(nil, sse.Event{ID: fmt.Sprint(i), Name: "n", Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// served is one stream of a test server, and how it ended.
type served struct {
	stream *sse.Stream
	ended  chan sse.Reason
}

// serveStreams runs a loopback HTTP server whose every request is a
// stream with cfg, handed to the test on the returned channel.
func serveStreams(t *testing.T, cfg sse.Config) (string, chan served) {
	t.Helper()
	streams := make(chan served, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		s := sse.NewStream(w, cfg)
		if err := s.Write(sse.AppendRetry(nil, 1000)); err != nil {
			return
		}
		sv := served{stream: s, ended: make(chan sse.Reason, 1)}
		streams <- sv
		sv.ended <- s.Serve(r.Context())
	}))
	t.Cleanup(srv.Close)
	return srv.URL, streams
}

func next(t *testing.T, streams chan served) served {
	t.Helper()
	select {
	case s := <-streams:
		return s
	case <-time.After(bound):
		t.Fatal("no stream opened")
	}
	return served{}
}

func ended(t *testing.T, s served) sse.Reason {
	t.Helper()
	select {
	case r := <-s.ended:
		return r
	case <-time.After(bound):
		t.Fatal("Serve did not return")
	}
	return ""
}

func TestStreamWritesInOrderAndCloseWritesTheRest(t *testing.T) {
	url, streams := serveStreams(t, testConfig)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s := next(t, streams)
	const n = 500
	for i := range n {
		if _, err := s.stream.Send(frame(t, i)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	s.stream.Close(sse.ReasonServerShutdown)
	body := new(strings.Builder)
	if _, err := bufio.NewReader(resp.Body).WriteTo(body); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	evs, retry := parseStream(body.String())
	if retry != "1000" || len(evs) != n {
		t.Fatalf("retry %q and %d events, want 1000 and %d", retry, len(evs), n)
	}
	for i, ev := range evs {
		if ev.ID != fmt.Sprint(i) || ev.Data != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("event %d is %+v", i, ev)
		}
	}
	if r := ended(t, s); r != sse.ReasonServerShutdown {
		t.Fatalf("Serve returned %q", r)
	}
	if _, err := s.stream.Send(frame(t, 0)); !errors.Is(err, sse.ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestStreamKeepAlive(t *testing.T) {
	cfg := testConfig
	cfg.KeepAlive = 20 * time.Millisecond
	url, streams := serveStreams(t, cfg)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s := next(t, streams)
	r := bufio.NewReader(resp.Body)
	for seen := 0; seen < 2; {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		if line == ": keep-alive\n" {
			seen++
		}
	}
	s.stream.Close(sse.ReasonServerShutdown)
	ended(t, s)
}

func TestStreamEndsWhenTheClientGoes(t *testing.T) {
	url, streams := serveStreams(t, testConfig)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	s := next(t, streams)
	resp.Body.Close() // closes the connection: the body was not read to its end
	if r := ended(t, s); r != sse.ReasonTransportClose {
		t.Fatalf("Serve returned %q, want %q", r, sse.ReasonTransportClose)
	}
}

// dialSmall opens a TCP connection whose receive buffer is small, so that
// a client that does not read fills the server's socket soon.
func dialSmall(t *testing.T, url string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestSlowStreamIsClosedAndOthersGoOn(t *testing.T) {
	cfg := testConfig
	cfg.MaxQueueBytes = 64 << 10
	cfg.WriteTimeout = 200 * time.Millisecond // how long the blocked write holds the slow stream's goroutine
	url, streams := serveStreams(t, cfg)
	dialSmall(t, url) // never reads
	slow := next(t, streams)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	fast := next(t, streams)
	fastEvents := make(chan string, 1<<16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				fastEvents <- id
			}
		}
		close(fastEvents)
	}()
	big := make([]byte, 4<<10)
	for i := range big {
		big[i] = 'x'
	}
	closedAt := -1
	for i := 0; i < 10000 && closedAt < 0; i++ {
		f, _ := sse.AppendEvent(nil, sse.Event{ID: fmt.Sprint(i), Data: big})
		if _, err := slow.stream.Send(f); errors.Is(err, sse.ErrSlowConsumer) {
			closedAt = i
		} else if err != nil {
			t.Fatalf("slow Send %d: %v", i, err)
		}
		if _, err := fast.stream.Send(f); err != nil {
			t.Fatalf("fast Send %d: %v (the fast stream must not notice the slow one)", i, err)
		}
		// The fast reader keeps up: wait for each event, so that only the
		// stream that does not read fills its queue.
		select {
		case id := <-fastEvents:
			if id != fmt.Sprint(i) {
				t.Fatalf("fast stream got id %s, want %d", id, i)
			}
		case <-time.After(bound):
			t.Fatalf("fast stream did not get event %d", i)
		}
	}
	if closedAt < 0 {
		t.Fatal("the stream that never reads was not closed as slow after 10000 events")
	}
	if r := ended(t, slow); r != sse.ReasonSlow {
		t.Fatalf("slow stream ended with %q", r)
	}
	if _, err := slow.stream.Send(frame(t, 0)); !errors.Is(err, sse.ErrClosed) {
		t.Fatalf("Send after slow close: %v", err)
	}
	fast.stream.Close(sse.ReasonServerShutdown)
	ended(t, fast)
}

// TestDropOldest queues past the bound of a stream not yet served: the
// oldest frames go, and what Serve then writes is the newest ones.
func TestDropOldest(t *testing.T) {
	cfg := testConfig
	cfg.DropOldest = true
	cfg.MaxQueueMessages = 3
	rec := httptest.NewRecorder()
	s := sse.NewStream(rec, cfg)
	total := 0
	for i := range 10 {
		n, err := s.Send(frame(t, i))
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		total += n
	}
	if total != 7 {
		t.Fatalf("dropped %d, want 7", total)
	}
	s.Close(sse.ReasonServerShutdown)
	if r := s.Serve(context.Background()); r != sse.ReasonServerShutdown {
		t.Fatalf("Serve returned %q", r)
	}
	evs, _ := parseStream(rec.Body.String())
	if len(evs) != 3 || evs[0].ID != "7" || evs[2].ID != "9" {
		t.Fatalf("wrote %+v, want events 7, 8, 9", evs)
	}
}

func TestTooLargeLeavesTheStreamAsItWas(t *testing.T) {
	cfg := testConfig
	cfg.MaxQueueBytes = 100
	s := sse.NewStream(httptest.NewRecorder(), cfg)
	if _, err := s.Send(make([]byte, 101)); !errors.Is(err, sse.ErrTooLarge) {
		t.Fatalf("Send: %v, want ErrTooLarge", err)
	}
	if _, err := s.Send(frame(t, 1)); err != nil {
		t.Fatalf("Send after a refused frame: %v", err)
	}
}
