package socketio_test

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/socketio"
)

// socketOn returns a channel that gets each socket that connects to ns.
func socketOn(ns *socketio.Namespace) <-chan *socketio.Socket {
	ch := make(chan *socketio.Socket, 16)
	ns.OnConnect(func(s *socketio.Socket) { ch <- s })
	return ch
}

func recvSocket(t *testing.T, ch <-chan *socketio.Socket) *socketio.Socket {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(rawWait):
		t.Fatal("no socket connected")
		panic("unreachable")
	}
}

// TestJoinInMiddleware: socket.io lets a middleware join rooms
// (socket.join in io.use); the rooms hold once the socket connects, and
// are dropped with it when a later middleware refuses.
func TestJoinInMiddleware(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	ns := srv.Of("/")
	ns.Use(func(s *socketio.Socket) error {
		s.Join("user:42", "team:red")
		s.Leave("team:red")
		return nil
	})
	ns.Use(func(s *socketio.Socket) error {
		s.Join("refused")
		if string(s.Auth()) == `{"refuse":true}` {
			return errors.New("no")
		}
		return nil
	})
	conns := socketOn(ns)

	c := dialRaw(t, url)
	c.join("/")
	s := recvSocket(t, conns)
	if got := s.Rooms(); !slices.Contains(got, "user:42") || slices.Contains(got, "team:red") {
		t.Errorf("Rooms() = %q, want user:42 and not team:red", got)
	}
	if n := ns.To("user:42").Emit("hello", socketio.Data{}); n != 1 {
		t.Fatalf("a broadcast to the room joined in the middleware reached %d sockets, want 1", n)
	}
	if msg := c.readText(); msg != `42["hello"]` {
		t.Fatalf("the client got %q", msg)
	}

	refused := dialRaw(t, url)
	refused.text(`40{"refuse":true}`)
	if msg := refused.readText(); msg != `44{"message":"no"}` {
		t.Fatalf("the refused client got %q", msg)
	}
	if n := ns.To("refused").Emit("x", socketio.Data{}); n != 1 {
		t.Errorf("a room the refused socket joined in a middleware reaches %d sockets, want only the connected one", n)
	}
}

// TestConnectedWhileMiddlewareRuns: Connected may be called from any
// goroutine, also while the socket's middlewares run and it connects.
func TestConnectedWhileMiddlewareRuns(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	ns := srv.Of("/")
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	ns.Use(func(s *socketio.Socket) error {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(rawWait)
			for !s.Connected() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}()
		time.Sleep(5 * time.Millisecond) // let the goroutine read while the middleware runs
		return nil
	})
	conns := socketOn(ns)
	c := dialRaw(t, url)
	c.join("/")
	if s := recvSocket(t, conns); !s.Connected() {
		t.Fatal("a connected socket says it is not")
	}
}

// TestEmitWithAckEitherErrsOrCallsBack: an EmitWithAck that returns an
// error never runs its callback; one that returns nil runs it exactly once,
// whatever ends the wait. Sockets emit in a loop while their clients hang
// up, so that emits meet the teardown.
func TestEmitWithAckEitherErrsOrCallsBack(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	const (
		clients  = 8
		maxEmits = 20000 // per socket, a bound on the loop
	)
	var emitted, called, both, extra atomic.Int64
	var loops sync.WaitGroup
	gone := make(chan struct{}, clients)
	srv.Of("/").OnDisconnect(func(*socketio.Socket, socketio.Reason) { gone <- struct{}{} })
	srv.Of("/").OnConnect(func(s *socketio.Socket) {
		loops.Add(1)
		go func() {
			defer loops.Done()
			for range maxEmits {
				var ran, failed atomic.Bool
				err := s.EmitWithAck("ping-me", socketio.Data{}, rawWait, func(socketio.Data, error) {
					if ran.Swap(true) {
						extra.Add(1)
						return
					}
					called.Add(1)
					if failed.Load() {
						both.Add(1)
					}
				})
				if err != nil {
					failed.Store(true)
					if ran.Load() {
						both.Add(1)
					}
					return
				}
				emitted.Add(1)
			}
		}()
	})
	for range clients {
		c := dialRaw(t, url)
		c.join("/")
		_ = c.conn.Close()
	}
	for range clients {
		select {
		case <-gone:
		case <-time.After(rawWait):
			t.Fatal("a socket did not disconnect after its client hung up")
		}
	}
	loops.Wait()
	deadline := time.Now().Add(rawWait)
	for called.Load() < emitted.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := both.Load(); n > 0 {
		t.Errorf("%d EmitWithAck calls returned an error and ran their callback too", n)
	}
	if n := extra.Load(); n > 0 {
		t.Errorf("%d callbacks ran twice", n)
	}
	if called.Load() != emitted.Load() {
		t.Errorf("%d callbacks for %d successful emits", called.Load(), emitted.Load())
	}
}
