package socketio_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// smallSendBuffers shrinks the kernel send buffer of every connection the
// server accepts, so that a client that stops reading fills them in a few
// kilobytes and the server's own queue comes next. Clients that read are
// not slowed.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// slowEnv is a socket.io server whose main namespace records why each
// socket left.
type slowEnv struct {
	srv *socketio.Server
	url string

	mu      sync.Mutex
	reasons map[string]socketio.Reason // socket id -> disconnect reason
}

func startSlowEnv(t testing.TB, ecfg engine.Config) *slowEnv {
	t.Helper()
	ecfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := socketio.NewServer(socketio.Config{Engine: ecfg, Logger: ecfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	e := &slowEnv{srv: srv, reasons: make(map[string]socketio.Reason)}
	srv.Of("/").OnDisconnect(func(s *socketio.Socket, why socketio.Reason) {
		e.mu.Lock()
		e.reasons[s.ID()] = why
		e.mu.Unlock()
	})
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = smallSendBuffers{hs.Listener}
	hs.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		hs.Close()
	})
	e.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	return e
}

func (e *slowEnv) reason(id string) (socketio.Reason, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.reasons[id]
	return r, ok
}

// tickClient is a raw websocket client that reads "tick" events and checks
// that their sequence numbers come in order with no gap.
type tickClient struct {
	conn net.Conn
	r    io.Reader
	id   string

	next     atomic.Int64 // the sequence number expected next
	latency  []time.Duration
	epoch    time.Time
	err      error // the first order violation or read error
	done     chan struct{}
	stopping atomic.Bool
}

// dialTicks opens a client and joins "/". A stalled client never reads
// after that.
func dialTicks(t testing.TB, url string, epoch time.Time) *tickClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	var src io.Reader = conn
	if br != nil {
		src = io.MultiReader(br, conn)
	}
	c := &tickClient{conn: conn, r: bufio.NewReaderSize(src, 64<<10), epoch: epoch, done: make(chan struct{})}
	rw := struct {
		io.Reader
		io.Writer
	}{c.r, conn}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if msg, err := wsutil.ReadServerText(rw); err != nil || !bytes.HasPrefix(msg, []byte("0{")) {
		t.Fatalf("open packet: %q, %v", msg, err)
	}
	if err := wsutil.WriteClientText(conn, []byte("40")); err != nil {
		t.Fatal(err)
	}
	msg, err := wsutil.ReadServerText(rw)
	var ok struct{ SID string }
	if err != nil || !bytes.HasPrefix(msg, []byte("40")) || json.Unmarshal(msg[2:], &ok) != nil {
		t.Fatalf("CONNECT answer: %q, %v", msg, err)
	}
	c.id = ok.SID
	_ = conn.SetDeadline(time.Time{})
	return c
}

// tickPrefix starts every tick event; the sequence number and the send
// time follow it.
const tickPrefix = `42["tick",{"seq":`

// read reads ticks until the connection ends or stop is called.
func (c *tickClient) read() {
	defer close(c.done)
	for {
		msg, op, err := wsutil.ReadServerData(struct {
			io.Reader
			io.Writer
		}{c.r, c.conn})
		if err != nil {
			if !c.stopping.Load() {
				c.err = fmt.Errorf("reading: %w", err)
			}
			return
		}
		now := time.Since(c.epoch)
		if op != ws.OpText {
			continue
		}
		if string(msg) == "2" {
			_ = wsutil.WriteClientText(c.conn, []byte("3"))
			continue
		}
		rest, ok := bytes.CutPrefix(msg, []byte(tickPrefix))
		if !ok {
			continue
		}
		seqText, rest, _ := bytes.Cut(rest, []byte(`,"t":`))
		sentText, _, _ := bytes.Cut(rest, []byte(","))
		seq, _ := strconv.ParseInt(string(seqText), 10, 64)
		sent, _ := strconv.ParseInt(string(sentText), 10, 64)
		if want := c.next.Load(); seq != want {
			c.err = fmt.Errorf("got tick %d, want %d: out of order or lost", seq, want)
			return
		}
		c.latency = append(c.latency, now-time.Duration(sent))
		c.next.Add(1)
	}
}

func (c *tickClient) stop() {
	c.stopping.Store(true)
	_ = c.conn.Close()
	<-c.done
}

// tick is one broadcast: its sequence number, its send time counted from
// epoch, and padding to size bytes.
func tick(seq int, epoch time.Time, pad string) socketio.Data {
	d, err := socketio.Args(json.RawMessage(fmt.Sprintf(`{"seq":%d,"t":%d,"pad":%q}`, seq, time.Since(epoch), pad)))
	if err != nil {
		panic(err)
	}
	return d
}

// broadcastPaced emits n ticks, never more than window ahead of the
// slowest live client, so that the live clients' queues stay far below the
// bound however slow the machine: only a client that does not read at all
// can reach it.
func broadcastPaced(t testing.TB, ns *socketio.Namespace, live []*tickClient, n, window int, epoch time.Time, pad string) {
	t.Helper()
	for i := range n {
		deadline := time.Now().Add(20 * time.Second)
		for {
			slowest := int64(n)
			for _, c := range live {
				slowest = min(slowest, c.next.Load())
				select {
				case <-c.done:
					t.Fatalf("a live client stopped at tick %d: %v", c.next.Load(), c.err)
				default:
				}
			}
			if int64(i)-slowest < int64(window) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("live clients stuck at tick %d of %d", slowest, n)
			}
			time.Sleep(100 * time.Microsecond)
		}
		ns.Emit("tick", tick(i, epoch, pad))
	}
}

// waitTicks waits until every live client has read n ticks.
func waitTicks(t testing.TB, live []*tickClient, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, c := range live {
		for c.next.Load() < int64(n) {
			select {
			case <-c.done:
				t.Fatalf("a live client stopped at tick %d of %d: %v", c.next.Load(), n, c.err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("a live client read %d ticks of %d", c.next.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestAStalledClientIsCutWhileTheOthersReceiveEverything is the slow
// consumer story: one websocket client stops reading among live ones. The
// live ones receive every broadcast, in order; the stalled one fills its
// kernel buffers, then its queue, and is disconnected with reason "slow",
// having held no more than MaxQueueBytes.
func TestAStalledClientIsCutWhileTheOthersReceiveEverything(t *testing.T) {
	t.Parallel()
	const (
		bound = 128 << 10
		// 3000 ticks of about 1 KB: the stalled client's kernel buffers
		// on loopback take a few hundred KB before its queue fills, and
		// 600 ticks left too little margin past them (the test failed
		// 4 times in 10 once writes stopped waiting on the socket).
		ticks  = 3000
		window = 16
	)
	pad := strings.Repeat("x", 1000)
	e := startSlowEnv(t, engine.Config{MaxQueueBytes: bound})
	epoch := time.Now()
	stalled := dialTicks(t, e.url, epoch)
	var live []*tickClient
	for range 4 {
		c := dialTicks(t, e.url, epoch)
		go c.read()
		live = append(live, c)
	}
	ns := e.srv.Of("/")
	broadcastPaced(t, ns, live, ticks, window, epoch, pad)
	waitTicks(t, live, ticks)

	why, ok := e.reason(stalled.id)
	if !ok || why != socketio.ReasonSlow {
		t.Fatalf("the stalled client's socket: left %v, reason %q; want it disconnected with %q", ok, why, socketio.ReasonSlow)
	}
	st := e.srv.Engine().Stats()
	if st.SlowClosed != 1 {
		t.Errorf("Stats().SlowClosed = %d, want 1 (only the stalled client)", st.SlowClosed)
	}
	if st.SlowHeldBytes == 0 || st.SlowHeldBytes > bound {
		t.Errorf("Stats().SlowHeldBytes = %d, want between 1 and the bound %d", st.SlowHeldBytes, bound)
	}
	t.Logf("the stalled client held %d bytes of queued payload at the bound (MaxQueueBytes %d) when it was cut",
		st.SlowHeldBytes, bound)
	for i, c := range live {
		if _, gone := e.reason(c.id); gone {
			t.Errorf("live client %d was disconnected", i)
		}
		c.stop()
	}
}

// TestAStalledClientAtTheBoundHoldsItsQueueAndNoMore measures, with the
// drop-oldest policy (which keeps the stalled client at its bound instead
// of cutting it), the heap a stalled client holds: its queue's messages,
// which the other clients have long written and let go of.
func TestAStalledClientAtTheBoundHoldsItsQueueAndNoMore(t *testing.T) {
	// Not parallel: it reads the process's heap.
	const (
		bound = 256 << 10
		ticks = 800
	)
	pad := strings.Repeat("x", 1000)
	e := startSlowEnv(t, engine.Config{MaxQueueBytes: bound, SlowPolicy: engine.SlowDropOldest})
	epoch := time.Now()
	stalled := dialTicks(t, e.url, epoch)
	live := []*tickClient{dialTicks(t, e.url, epoch)}
	go live[0].read()
	ns := e.srv.Of("/")
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	broadcastPaced(t, ns, live, ticks, 16, epoch, pad)
	waitTicks(t, live, ticks)
	after := heap()
	st := e.srv.Engine().Stats()
	if st.Dropped == 0 {
		t.Fatalf("Stats().Dropped = 0: the stalled client never reached its bound")
	}
	held := int64(after) - int64(before)
	// The queue holds at most bound bytes of payload; each message also
	// keeps its websocket encoding and its bookkeeping. Three times the
	// bound is a generous ceiling; the point is that it does not grow with
	// what was sent (here more than three times the bound).
	if held > 3*bound {
		t.Errorf("the stalled client holds %d bytes of heap at a bound of %d", held, bound)
	}
	t.Logf("a stalled client at its bound (MaxQueueBytes %d, messages of %d bytes, %d sent, %d dropped) holds %d bytes of heap (%.2f x the bound)",
		bound, len(pad)+40, ticks, st.Dropped, held, float64(held)/bound)
	_ = stalled
	live[0].stop()
}
