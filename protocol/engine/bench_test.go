//go:build linux

package engine_test

// Session.Send benchmarks: a message queued and flushed into a real
// loopback websocket whose client drains it in this process.
//
//	go test -run='^$' -bench=SessionSend ./protocol/engine/
//
// They run only with -bench and close every connection and goroutine
// they start.

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/natsock/natsock/protocol/engine"
)

// sendBenchHandler hands the benchmark the session it opened.
type sendBenchHandler struct{ opened chan *engine.Session }

var _ engine.Handler = sendBenchHandler{}

func (h sendBenchHandler) OnOpen(s *engine.Session)              { h.opened <- s }
func (sendBenchHandler) OnMessage(*engine.Session, []byte, bool) {}
func (sendBenchHandler) OnClose(*engine.Session, engine.Reason)  {}

// sendBenchClient reads the server's frames and counts the message
// packets, without allocating per frame.
type sendBenchClient struct {
	conn     net.Conn
	r        *bufio.Reader
	hbuf     [ws.MaxHeaderSize - 2]byte
	messages atomic.Int64
	notify   chan struct{} // signalled after every message
	timeout  *time.Timer   // waitFor's, stopped when idle
	done     chan struct{}
}

func (c *sendBenchClient) drain() {
	defer close(c.done)
	for {
		h, err := ws.ReadHeaderBuffer(c.r, c.hbuf[:])
		if err != nil || h.OpCode == ws.OpClose {
			return
		}
		n := int(h.Length)
		if h.OpCode == ws.OpText {
			if b, _ := c.r.Peek(min(n, 1)); len(b) == 1 && b[0] == '4' {
				c.messages.Add(1)
				select {
				case c.notify <- struct{}{}:
				default:
				}
			}
		}
		if _, err := c.r.Discard(n); err != nil {
			return
		}
	}
}

// waitFor blocks until the client has read target messages, or 30s. It
// does not allocate, so that allocs/op is the engine's.
func (c *sendBenchClient) waitFor(target int64) bool {
	if c.messages.Load() >= target {
		return true
	}
	c.timeout.Reset(30 * time.Second)
	defer c.timeout.Stop()
	for c.messages.Load() < target {
		select {
		case <-c.notify:
		case <-c.timeout.C:
			return c.messages.Load() >= target
		}
	}
	return true
}

// startSendBench serves a zero-config engine.Server (logs discarded) on
// 127.0.0.1, opens one websocket session to it and starts draining it.
func startSendBench(b *testing.B) (*engine.Server, *engine.Session, *sendBenchClient) {
	b.Helper()
	h := sendBenchHandler{opened: make(chan *engine.Session, 1)}
	srv, err := engine.NewServer(engine.Config{Logger: slog.New(slog.DiscardHandler)}, h)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	_ = ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			b.Errorf("closing the server: %v", err)
		}
		ts.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dialer{}.Dial(ctx, "ws://"+ln.Addr().String()+"/engine.io/?EIO=4&transport=websocket")
	if err != nil {
		b.Fatal(err)
	}
	var src io.Reader = conn
	if br != nil {
		early, _ := br.Peek(br.Buffered())
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
		ws.PutReader(br)
	}
	c := &sendBenchClient{conn: conn, r: bufio.NewReaderSize(src, 64<<10), notify: make(chan struct{}, 1), done: make(chan struct{})}
	c.timeout = time.NewTimer(time.Hour)
	c.timeout.Stop()
	var sess *engine.Session
	select {
	case sess = <-h.opened:
	case <-ctx.Done():
		b.Fatal("no session opened")
	}
	// The open packet.
	hd, err := ws.ReadHeaderBuffer(c.r, c.hbuf[:])
	if err != nil {
		b.Fatal(err)
	}
	open := make([]byte, hd.Length)
	if _, err := io.ReadFull(c.r, open); err != nil || !strings.HasPrefix(string(open), "0{") {
		b.Fatalf("open packet %q: %v", open, err)
	}
	go c.drain()
	b.Cleanup(func() { // runs before the server closes
		_ = conn.Close()
		<-c.done
	})
	return srv, sess, c
}

// BenchmarkSessionSend is the cost of Session.Send of a 200 B message plus
// its share of the flush: the queue's goroutine, the vectored write into a
// loopback TCP connection, and the deadline. "pipelined" keeps up to 1024
// messages in flight, so flushes carry many messages; "one-at-a-time" waits
// for each message to reach the client, so every Send starts a flush of
// one message, as a broadcast does for each recipient. The client's reading
// runs in this process: cpu-ns/op counts it too.
func BenchmarkSessionSend(b *testing.B) {
	srv, sess, c := startSendBench(b)
	msg := engine.NewTextMessage(bytes.Repeat([]byte("x"), 200))

	for _, mode := range []struct {
		name   string
		window int64 // messages left in flight after a Send; 0 waits for each
	}{
		{"pipelined", 1024},
		{"one-at-a-time", 0},
	} {
		b.Run(mode.name, func(b *testing.B) {
			base := c.messages.Load()
			slow0 := srv.Stats().SlowClosed
			writes0 := srv.Stats().Writes
			cpu0 := sendBenchCPU()
			b.ReportAllocs()
			b.SetBytes(int64(msg.Size()))
			b.ResetTimer()
			for i := range int64(b.N) {
				if err := sess.Send(msg); err != nil {
					b.Fatalf("send %d: %v", i, err)
				}
				if mode.window == 0 || (i+1)%64 == 0 && i+1 > mode.window {
					if !c.waitFor(base + i + 1 - mode.window) {
						b.Fatalf("message %d not delivered in time", i)
					}
				}
			}
			if !c.waitFor(base + int64(b.N)) {
				b.Fatalf("client read %d messages, want %d", c.messages.Load()-base, b.N)
			}
			b.StopTimer()
			cpu := sendBenchCPU() - cpu0
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(b.N)/float64(srv.Stats().Writes-writes0), "msgs/write")
			if slow := srv.Stats().SlowClosed - slow0; slow != 0 {
				b.Fatalf("%d sessions closed as slow consumers", slow)
			}
		})
	}
}

// sendBenchCPU is the process's user plus system CPU time so far.
func sendBenchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
