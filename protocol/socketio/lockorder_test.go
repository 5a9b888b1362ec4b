package socketio_test

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/socketio"
)

// TestLockOrderUnderChurn exercises the lock order written in package
// protocol's doc (namespace -> socket -> session -> server) under -race:
// broadcasts, joins and leaves, emits with acks, and disconnects from the
// server and from clients, all at once, on two namespaces, with hooks that
// broadcast while sockets leave. A lock-order inversion deadlocks, and the
// test fails when the bounded work does not finish in time.
func TestLockOrderUnderChurn(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	const (
		clients     = 6
		dialsEach   = 40    // connections per client goroutine
		serverLoops = 400   // iterations per server goroutine, at least
		maxLoops    = 20000 // and at most, while clients still churn
		finishWait  = 60 * time.Second
	)
	var (
		mu       sync.Mutex
		live     []*socketio.Socket
		ops      atomic.Int64
		connects atomic.Int64
		stop     = make(chan struct{})
		nss      = []*socketio.Namespace{srv.Of("/"), srv.Of("/custom")}
		rooms    = []string{"a", "b", "c"}
	)
	pick := func(i int) *socketio.Socket {
		mu.Lock()
		defer mu.Unlock()
		if len(live) == 0 {
			return nil
		}
		return live[i%len(live)]
	}
	for _, ns := range nss {
		ns.Use(func(s *socketio.Socket) error { s.Join("a"); return nil })
		ns.OnConnect(func(s *socketio.Socket) {
			connects.Add(1)
			s.Join("b")
			mu.Lock()
			live = append(live, s)
			mu.Unlock()
		})
		ns.OnDisconnecting(func(s *socketio.Socket, _ socketio.Reason) {
			s.Namespace().To(s.Rooms()...).Except(s.ID()).Emit("left", socketio.Data{})
		})
		ns.OnDisconnect(func(s *socketio.Socket, _ socketio.Reason) {
			mu.Lock()
			for i, x := range live {
				if x == s {
					live = append(live[:i], live[i+1:]...)
					break
				}
			}
			mu.Unlock()
		})
		ns.OnAny(func(s *socketio.Socket, ev *socketio.Event) {
			s.Join(ev.Name)
			s.Namespace().To(ev.Name).Emit("echo", socketio.Data{})
		})
	}

	var wg sync.WaitGroup
	var churning atomic.Int64
	churning.Store(clients)
	// Clients: connect to both namespaces, emit, read a little, hang up.
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer churning.Add(-1)
			for d := range dialsEach {
				churnClient(url, "r"+strconv.Itoa((c+d)%3))
			}
		}()
	}
	// The server side: broadcasts, joins and leaves, acks, disconnects.
	serverSide := []func(i int){
		func(i int) {
			nss[i%2].To(rooms[i%3], rooms[(i+1)%3]).Except(rooms[(i+2)%3]).Emit("news", socketio.Data{})
		},
		func(i int) { nss[i%2].Emit("all", socketio.Data{}) },
		func(i int) {
			if s := pick(i); s != nil {
				s.Join(rooms[i%3])
				s.Leave(rooms[(i+1)%3])
				_ = s.Rooms()
			}
		},
		func(i int) {
			if s := pick(i); s != nil {
				_ = s.EmitWithAck("ask", socketio.Data{}, time.Millisecond, func(socketio.Data, error) {})
			}
		},
		func(i int) {
			if s := pick(i * 7); s != nil && i%5 == 0 {
				s.Disconnect(i%10 == 0)
			}
		},
	}
	for _, f := range serverSide {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxLoops && (i < serverLoops || churning.Load() > 0); i++ {
				select {
				case <-stop:
					return
				default:
				}
				f(i)
				ops.Add(1)
				if i%20 == 0 {
					time.Sleep(time.Millisecond) // let the clients churn
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(finishWait):
		close(stop)
		t.Fatalf("the churn did not finish within %v (%d server operations): a deadlock?", finishWait, ops.Load())
	}
	t.Logf("%d server operations beside %d client connections, %d sockets", ops.Load(), clients*dialsEach, connects.Load())
	if connects.Load() == 0 {
		t.Fatal("no socket connected: the churn tested nothing")
	}
}

// churnClient connects to "/" and "/custom", emits event on both, reads a
// few frames and hangs up. Errors end it early: the server may disconnect
// it at any time.
func churnClient(url, event string) {
	ctx, cancel := context.WithTimeout(context.Background(), rawWait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(rawWait))
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{r, conn}
	for _, msg := range []string{"40", "40/custom,", `42["` + event + `"]`, `42/custom,["` + event + `"]`} {
		if wsutil.WriteClientText(conn, []byte(msg)) != nil {
			return
		}
	}
	// Linger a moment reading whatever comes (not a synchronization: the
	// client just stays a while before it hangs up).
	_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for range 8 {
		if _, _, err := wsutil.ReadServerData(rw); err != nil {
			return
		}
	}
}
