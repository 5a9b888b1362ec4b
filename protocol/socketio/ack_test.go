package socketio_test

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/conformance"
	"github.com/natsock/natsock/protocol/socketio"
)

// dialSocketIO opens a raw Engine.IO v4 websocket and joins "/", without a
// client library, and returns the connection.
func dialSocketIO(t *testing.T, url string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	// Frames that came with the handshake response wait in br.
	rw := struct {
		io.Reader
		io.Writer
	}{conn, conn}
	if br != nil {
		rw.Reader = io.MultiReader(br, conn)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if msg, err := wsutil.ReadServerText(rw); err != nil || !strings.HasPrefix(string(msg), "0{") {
		t.Fatalf("open packet: %q, %v", msg, err)
	}
	if err := wsutil.WriteClientText(conn, []byte("40")); err != nil {
		t.Fatal(err)
	}
	if msg, err := wsutil.ReadServerText(rw); err != nil || !strings.HasPrefix(string(msg), "40{") {
		t.Fatalf("CONNECT answer: %q, %v", msg, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn
}

// TestEmitWithAckCallbackRunsOnce checks EmitWithAck's promise that its
// callback runs once, whatever ends the wait: the client's ack, the
// timeout, or the socket's disconnection. Sockets emit in a loop with
// timeouts of about a millisecond (so the timer wheel fires batches of
// them) while their clients hang up.
func TestEmitWithAckCallbackRunsOnce(t *testing.T) {
	srv, err := conformance.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})

	const (
		clients      = 4
		maxEmits     = 20000 // per socket, a bound on the loop
		callbackWait = 3 * time.Second
	)
	var emitted, called, extra atomic.Int64
	loops := make(chan struct{}, clients)
	srv.SocketIO().Of("/").OnConnect(func(s *socketio.Socket) {
		go func() {
			defer func() { loops <- struct{}{} }()
			for i := range maxEmits {
				var once atomic.Bool
				err := s.EmitWithAck("ping-me", socketio.Data{}, time.Duration(i%3)*time.Millisecond/2+time.Microsecond, func(socketio.Data, error) {
					if !once.CompareAndSwap(false, true) {
						extra.Add(1)
						return
					}
					called.Add(1)
				})
				if err != nil {
					return // disconnected
				}
				emitted.Add(1)
			}
		}()
	})

	for range clients {
		conn := dialSocketIO(t, ts.URL)
		time.Sleep(5 * time.Millisecond) // let a few hundred emits be pending
		_ = conn.Close()
	}
	for range clients {
		select {
		case <-loops:
		case <-time.After(30 * time.Second):
			t.Fatal("an emitting loop did not end after its client hung up")
		}
	}

	deadline := time.Now().Add(callbackWait)
	for called.Load() < emitted.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := extra.Load(); n > 0 {
		t.Errorf("%d callbacks ran more than once", n)
	}
	if lost := emitted.Load() - called.Load(); lost > 0 {
		t.Fatalf("%d of %d EmitWithAck callbacks never ran", lost, emitted.Load())
	}
	t.Logf("%d emits, every callback ran once", emitted.Load())
}
