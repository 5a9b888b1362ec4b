package socketio_test

import (
	"sync/atomic"
	"testing"

	"github.com/natsock/natsock/protocol/socketio"
)

// TestIllegalAttachmentsCloseTheConnection: a binary event whose
// placeholder names an attachment that is not there never reaches a
// handler; the connection is closed, as socket.io closes it ("illegal
// attachments").
func TestIllegalAttachmentsCloseTheConnection(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	var handled atomic.Int64
	srv.Of("/").On("message", func(*socketio.Socket, *socketio.Event) { handled.Add(1) })
	srv.Of("/").OnAny(func(*socketio.Socket, *socketio.Event) { handled.Add(1) })

	c := dialRaw(t, url)
	c.join("/")
	c.text(`451-["message",{"_placeholder":true,"num":7}]`)
	c.binary([]byte{1, 2, 3})
	if got := c.closed(); len(got) > 0 {
		t.Errorf("before closing, the server sent %q", got)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("a handler saw the event with an illegal placeholder %d times", n)
	}
}
