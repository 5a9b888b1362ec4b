package socketio_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/socketio"
)

// TestSocketIDIsARoom: in socket.io a socket is always in the room named
// by its id, and socket.rooms lists it. Here the id works as a room for
// broadcasts (To reaches the socket, Except skips it), but Rooms lists only
// the rooms joined: a documented difference.
func TestSocketIDIsARoom(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	ns := srv.Of("/")
	conns := socketOn(ns)
	c := dialRaw(t, url)
	c.join("/")
	s := recvSocket(t, conns)
	s.Join("r")
	if got := s.Rooms(); !slices.Equal(got, []string{"r"}) {
		t.Errorf("Rooms() = %q, want [r] (the id is not listed)", got)
	}
	if n := ns.To(s.ID()).Emit("to-id", socketio.Data{}); n != 1 {
		t.Errorf("To(id) reached %d sockets, want 1", n)
	}
	if n := ns.To("r").Except(s.ID()).Emit("except-id", socketio.Data{}); n != 0 {
		t.Errorf("Except(id) still reached %d sockets", n)
	}
	if msg := c.readText(); msg != `42["to-id"]` {
		t.Errorf("the client got %q", msg)
	}
}

// TestOnAnySeesEveryEvent: as socket.io's socket.onAny, the catch-all
// handler sees every event, handled or not, before the event's own
// handler.
func TestOnAnySeesEveryEvent(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	ns := srv.Of("/")
	var mu sync.Mutex
	var seen []string
	record := func(what string) {
		mu.Lock()
		seen = append(seen, what)
		mu.Unlock()
	}
	ns.OnAny(func(_ *socketio.Socket, ev *socketio.Event) { record("any:" + ev.Name) })
	ns.On("handled", func(_ *socketio.Socket, ev *socketio.Event) { record("on:" + ev.Name) })
	ns.On("done", func(s *socketio.Socket, ev *socketio.Event) { _ = s.Emit("done", socketio.Data{}) })
	c := dialRaw(t, url)
	c.join("/")
	c.text(`42["handled"]`)
	c.text(`42["unhandled"]`)
	c.text(`42["done"]`)
	if msg := c.readText(); msg != `42["done"]` {
		t.Fatalf("the client got %q", msg)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"any:handled", "on:handled", "any:unhandled", "any:done"}; !slices.Equal(seen, want) {
		t.Errorf("handlers ran %q, want %q", seen, want)
	}
}

// TestDisconnectingSeesRooms: socket.io's "disconnecting" event runs while
// the socket is still in its rooms; "disconnect" runs after it has left
// them.
func TestDisconnectingSeesRooms(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	ns := srv.Of("/")
	ns.Use(func(s *socketio.Socket) error { s.Join("r"); return nil })
	type view struct {
		rooms     []string
		connected bool
		reach     int
		reason    socketio.Reason
	}
	disconnecting, disconnected := make(chan view, 1), make(chan view, 1)
	ns.OnDisconnecting(func(s *socketio.Socket, r socketio.Reason) {
		disconnecting <- view{s.Rooms(), s.Connected(), ns.To("r").Emit("bye", socketio.Data{}), r}
	})
	ns.OnDisconnect(func(s *socketio.Socket, r socketio.Reason) {
		disconnected <- view{s.Rooms(), s.Connected(), ns.To("r").Emit("bye", socketio.Data{}), r}
	})
	c := dialRaw(t, url)
	c.join("/")
	c.text("41")
	recvView := func(ch chan view, what string) view {
		select {
		case v := <-ch:
			return v
		case <-time.After(rawWait):
			t.Fatalf("no %s", what)
			panic("unreachable")
		}
	}
	before := recvView(disconnecting, "disconnecting")
	after := recvView(disconnected, "disconnect")
	if !slices.Equal(before.rooms, []string{"r"}) || !before.connected || before.reach != 1 {
		t.Errorf("disconnecting saw rooms %q, connected %v, room reaching %d; want [r], true, 1", before.rooms, before.connected, before.reach)
	}
	if len(after.rooms) != 0 || after.connected || after.reach != 0 {
		t.Errorf("disconnect saw rooms %q, connected %v, room reaching %d; want none, false, 0", after.rooms, after.connected, after.reach)
	}
	if before.reason != socketio.ReasonClientNamespaceDisconnect || after.reason != before.reason {
		t.Errorf("reasons %q and %q, want %q", before.reason, after.reason, socketio.ReasonClientNamespaceDisconnect)
	}
}

// TestNamespacesAreCreatedOnlyByTheProgram: a client's CONNECT to a
// namespace the program did not create is refused and creates nothing; an
// event for it closes the connection.
func TestNamespacesAreCreatedOnlyByTheProgram(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	c := dialRaw(t, url)
	c.text("40/random,")
	if msg := c.readText(); msg != `44/random,{"message":"Invalid namespace"}` {
		t.Fatalf("CONNECT /random answered %q", msg)
	}
	if srv.Lookup("/random") != nil {
		t.Fatal("a client's CONNECT created the namespace /random")
	}
	c.text(`42/random,["x"]`)
	c.closed()
	if srv.Lookup("/random") != nil {
		t.Fatal("a client's event created the namespace /random")
	}
	if srv.Lookup("/") == nil || srv.Lookup("/") != srv.Of("/") {
		t.Fatal("Lookup does not find the main namespace")
	}
}
