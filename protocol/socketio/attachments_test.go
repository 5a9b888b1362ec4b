package socketio_test

import (
	"bytes"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// watchReasons counts the events of "/" and records its sockets'
// disconnect reasons.
func watchReasons(srv *socketio.Server) (*atomic.Int64, chan socketio.Reason) {
	var handled atomic.Int64
	reasons := make(chan socketio.Reason, 4)
	srv.Of("/").OnAny(func(*socketio.Socket, *socketio.Event) { handled.Add(1) })
	srv.Of("/").OnDisconnect(func(_ *socketio.Socket, r socketio.Reason) { reasons <- r })
	return &handled, reasons
}

// placeholders is an "upload" event's payload with n placeholders.
func placeholders(n int) string {
	args := []string{`"upload"`}
	for i := range n {
		args = append(args, `{"_placeholder":true,"num":`+strconv.Itoa(i)+`}`)
	}
	return "[" + strings.Join(args, ",") + "]"
}

// TestPartialBinaryPacketsAreBounded: a binary packet announces its
// attachments and the server holds them until the last arrives. The count
// (socket.io's maxAttachments, 10), their total bytes and the time they
// take are bounded; past any bound the connection is closed with a reason
// that says which.
func TestPartialBinaryPacketsAreBounded(t *testing.T) {
	t.Run("more than 10 attachments are refused as socket.io refuses them", func(t *testing.T) {
		srv, url := startRawServer(t, socketio.Config{})
		handled, reasons := watchReasons(srv)
		c := dialRaw(t, url)
		c.join("/")
		c.text(`4511-["upload"]`)
		c.closed()
		if r := recvReason(t, reasons); r != socketio.ReasonParseError {
			t.Errorf("reason %q, want %q", r, socketio.ReasonParseError)
		}
		if handled.Load() != 0 {
			t.Error("a handler saw the event")
		}
	})
	t.Run("10 attachments are accepted", func(t *testing.T) {
		srv, url := startRawServer(t, socketio.Config{})
		got := make(chan int, 1)
		srv.Of("/").On("upload", func(_ *socketio.Socket, ev *socketio.Event) { got <- len(ev.Attachments) })
		c := dialRaw(t, url)
		c.join("/")
		c.text("4510-" + placeholders(10))
		for range 10 {
			c.binary([]byte{1})
		}
		select {
		case n := <-got:
			if n != 10 {
				t.Fatalf("the handler got %d attachments, want 10", n)
			}
		case <-time.After(rawWait):
			t.Fatal("the handler never saw the event")
		}
	})
	t.Run("attachments past MaxAttachmentBytes together close the connection", func(t *testing.T) {
		// The default bound is the engine's MaxPayload: 1000 bytes here.
		srv, url := startRawServer(t, socketio.Config{Engine: engine.Config{MaxPayload: 1000}})
		handled, reasons := watchReasons(srv)
		c := dialRaw(t, url)
		c.join("/")
		c.text("452-" + placeholders(2))
		c.binary(bytes.Repeat([]byte{1}, 600))
		c.binary(bytes.Repeat([]byte{2}, 600))
		c.closed()
		if r := recvReason(t, reasons); r != socketio.ReasonAttachmentsTooLarge {
			t.Errorf("reason %q, want %q", r, socketio.ReasonAttachmentsTooLarge)
		}
		if handled.Load() != 0 {
			t.Error("a handler saw the event")
		}
	})
	t.Run("attachments that never come close the connection, though the client answers pings", func(t *testing.T) {
		// The default deadline is PingInterval + PingTimeout.
		srv, url := startRawServer(t, socketio.Config{Engine: engine.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}})
		_, reasons := watchReasons(srv)
		c := dialRaw(t, url)
		c.join("/")
		c.text("452-" + placeholders(2))
		c.binary([]byte{1})
		c.closed() // answers pings until the server closes
		if r := recvReason(t, reasons); r != socketio.ReasonAttachmentTimeout {
			t.Errorf("reason %q, want %q", r, socketio.ReasonAttachmentTimeout)
		}
	})
}

func recvReason(t *testing.T, reasons <-chan socketio.Reason) socketio.Reason {
	t.Helper()
	select {
	case r := <-reasons:
		return r
	case <-time.After(rawWait):
		t.Fatal("the socket never disconnected")
		panic("unreachable")
	}
}
