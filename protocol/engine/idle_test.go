package engine_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/engine"
)

// The package's suite runs on the default idle path (epoll on Linux); this
// test runs its websocket tests again, in a child process, with every idle
// websocket connection parked on a goroutine of its own: the portable
// path, the one other systems get.
func TestSuiteOnThePortableIdlePath(t *testing.T) {
	if os.Getenv(engine.EnvPortableIdle) == "1" {
		t.Skip("already on the portable path")
	}
	if testing.Short() {
		t.Skip("reruns the whole suite")
	}
	// The tests that open websockets: the idle path is theirs alone.
	args := []string{"-test.count=1", "-test.timeout=5m",
		"-test.run=WebSocket|Websocket|Idle|1009|MaxConnectionsPerIP|OnOpenComesBefore|AMessage|Stalled|PongFrames"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), engine.EnvPortableIdle+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite on the portable idle path failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS") {
		t.Fatalf("the child ran no tests:\n%s", out)
	}
}

// Idle websocket connections wait without a goroutine each where epoll
// exists, and with one each on the portable path; on both they still
// answer pings, take messages and notice when the client goes.
func TestIdleWebSocketConnectionsKeepWorking(t *testing.T) {
	const conns = 50
	cfg := engine.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 2 * time.Second}
	srv, rec, url := startServer(t, cfg)
	// The recorder's channels hold 16: drain the closes of the other
	// connections, which the server's Close makes at the end.
	closes := make(chan engine.Reason, conns)
	kind := engine.IdleWatcherKind(srv)
	if runtime.GOOS == "linux" && os.Getenv(engine.EnvPortableIdle) != "1" && kind != "epoll" {
		t.Fatalf("idle watcher on linux = %s, want epoll", kind)
	}
	wsURL := "ws" + strings.TrimPrefix(url, "http") + "?EIO=4&transport=websocket"
	before := runtime.NumGoroutine()
	clients := make([]io.ReadWriter, conns)
	netConns := make([]net.Conn, conns)
	sessions := make([]*engine.Session, conns)
	for i := range clients {
		c, br, _, err := ws.Dial(t.Context(), wsURL)
		if err != nil {
			t.Fatal(err)
		}
		netConns[i] = c
		clients[i] = c
		if br != nil { // the open packet came with the handshake's answer
			clients[i] = struct {
				io.Reader
				io.Writer
			}{io.MultiReader(br, c), c}
		}
		if _, err := wsutil.ReadServerText(clients[i]); err != nil { // the open packet
			t.Fatal(err)
		}
		sessions[i] = waitOpened(t, rec)
	}
	defer func() {
		for _, c := range netConns {
			_ = c.Close()
		}
	}()
	// Every client answers three pings: each answer is read from an idle
	// connection and re-arms it.
	for round := 0; round < 3; round++ {
		for i, c := range clients {
			_ = netConns[i].SetReadDeadline(time.Now().Add(5 * time.Second))
			p, err := wsutil.ReadServerText(c)
			if err != nil || string(p) != "2" {
				t.Fatalf("client %d round %d: got %q, %v; want the ping", i, round, p, err)
			}
			if err := wsutil.WriteClientText(c, []byte("3")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// With the clients idle between pings, count the goroutines: the
	// epoll path holds none per connection.
	if kind == "epoll" {
		idleGoroutines := -1
		for i := 0; i < 200; i++ {
			idleGoroutines = runtime.NumGoroutine() - before
			if idleGoroutines < conns/2 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if idleGoroutines >= conns/2 {
			t.Errorf("%d idle connections hold %d goroutines, want well under one each", conns, idleGoroutines)
		}
	}
	// A message from an idle client reaches the server, and the server's
	// message reaches it.
	if err := sessions[7].Send(msg("from the server")); err != nil {
		t.Fatal(err)
	}
	for {
		_ = netConns[7].SetReadDeadline(time.Now().Add(5 * time.Second))
		p, err := wsutil.ReadServerText(clients[7])
		if err != nil {
			t.Fatal(err)
		}
		if string(p) == "2" {
			_ = wsutil.WriteClientText(clients[7], []byte("3"))
			continue
		}
		if string(p) != "4from the server" {
			t.Fatalf("got %q, want 4from the server", p)
		}
		break
	}
	// A client that goes is noticed while it is idle.
	_ = netConns[3].Close()
	select {
	case why := <-rec.closed:
		go drain(rec.closed, closes, conns-1)
		if why != engine.ReasonTransportClose && why != engine.ReasonTransportError {
			t.Errorf("closed for %q, want transport close", why)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not notice an idle client leave")
	}
}

// drain moves n values from a recorder's channel to a larger one, so that
// the server's OnClose calls never block on the recorder.
func drain(from <-chan engine.Reason, to chan<- engine.Reason, n int) {
	for range n {
		to <- <-from
	}
}

// The handshake's write sets a write deadline on the connection; a writer
// that writes without waiting must not fail on it once it has passed
// (every message sent WriteTimeout after the handshake was lost so).
func TestAMessageSentAfterTheHandshakesWriteDeadlineIsDelivered(t *testing.T) {
	t.Parallel()
	const writeTimeout = 100 * time.Millisecond
	_, rec, url := startServer(t, engine.Config{WriteTimeout: writeTimeout})
	c, br, _, err := ws.Dial(t.Context(), "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var r io.ReadWriter = c
	if br != nil {
		r = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, c), c}
	}
	if _, err := wsutil.ReadServerText(r); err != nil {
		t.Fatal(err)
	}
	s := waitOpened(t, rec)
	time.Sleep(3 * writeTimeout) // the handshake's deadline passes
	for i := range 3 {
		if err := s.Send(msg(fmt.Sprint("late ", i))); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, err := wsutil.ReadServerText(r)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := fmt.Sprint("4late ", i); string(p) != want {
			t.Fatalf("got %q, want %q", p, want)
		}
	}
}

// A message larger than the socket takes at once is written in part by a
// writer's non-blocking turn and finished by a goroutine of its own; what
// the client reads is whole and in order.
func TestAMessageLargerThanTheSocketBufferArrivesWhole(t *testing.T) {
	t.Parallel()
	_, rec, url := startServer(t, engine.Config{MaxQueueBytes: 16 << 20})
	c, br, _, err := ws.Dial(t.Context(), "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var r io.ReadWriter = c
	if br != nil {
		r = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, c), c}
	}
	if _, err := wsutil.ReadServerText(r); err != nil {
		t.Fatal(err)
	}
	s := waitOpened(t, rec)
	big := strings.Repeat("0123456789abcdef", 256<<10) // 4 MiB
	for _, m := range []string{"before", big, "after"} {
		if err := s.Send(msg(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"before", big, "after"} {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		p, err := wsutil.ReadServerText(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(p) != "4"+want {
			t.Fatalf("got %d bytes (%.20q...), want %d", len(p), p, len(want)+1)
		}
	}
}
