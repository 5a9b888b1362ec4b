package socketio_test

import (
	"slices"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/socketio"
)

// TestDisconnectWithCloseLeavesEveryNamespace: socket.io's
// socket.disconnect(true) sends DISCONNECT on every namespace the client
// joined before closing the connection, so that the client does not
// reconnect any of them; each socket leaves with "server namespace
// disconnect".
func TestDisconnectWithCloseLeavesEveryNamespace(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	main := make(chan *socketio.Socket, 1)
	srv.Of("/").OnConnect(func(s *socketio.Socket) { main <- s })
	reasons := make(chan string, 4)
	for _, name := range []string{"/", "/custom"} {
		srv.Of(name).OnDisconnect(func(_ *socketio.Socket, r socketio.Reason) { reasons <- name + ": " + string(r) })
	}

	c := dialRaw(t, url)
	c.join("/")
	c.join("/custom")
	var s *socketio.Socket
	select {
	case s = <-main:
	case <-time.After(rawWait):
		t.Fatal("no socket on /")
	}
	s.Disconnect(true)
	got := c.closed()
	for _, want := range []string{"41", "41/custom,"} {
		if !slices.Contains(got, want) {
			t.Errorf("the client got %q before the close, want %q among them", got, want)
		}
	}
	var seen []string
	for range 2 {
		select {
		case r := <-reasons:
			seen = append(seen, r)
		case <-time.After(rawWait):
			t.Fatalf("only %q disconnected", seen)
		}
	}
	slices.Sort(seen)
	if want := []string{"/: server namespace disconnect", "/custom: server namespace disconnect"}; !slices.Equal(seen, want) {
		t.Errorf("disconnect reasons %q, want %q", seen, want)
	}
}
