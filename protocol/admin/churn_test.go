package admin_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/admin"
)

// TestChurnWhileWatched runs, all at once and under -race: clients that
// connect and disconnect, the server moving sockets between rooms and
// disconnecting some, UIs that log in and leave, and a UI sending actions.
// A lock-order mistake between socketio's observer calls and the admin
// deadlocks it (each wait is bounded). Afterwards a new UI's socket list
// matches the server, and once every client has gone the admin holds
// nothing.
func TestChurnWhileWatched(t *testing.T) {
	ts := startServer(t, &admin.Config{StatsInterval: 20 * time.Millisecond})
	chat := ts.srv.Lookup("/chat")
	log := watchCommands(ts)
	cl := startClients(t)
	cl.connect("ui", ts.url+"/admin", login(testUser, testPassword), "websocket")
	cl.connected("ui")

	const (
		rounds  = 6
		clients = 6
		moves   = 300
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the server moves sockets between rooms, bounded
		for i := 0; i < moves; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for j, s := range chat.Sockets() {
				s.Join(fmt.Sprintf("r%d", (i+j)%4))
				s.Leave(fmt.Sprintf("r%d", (i+j+2)%4))
				if i%97 == 0 && j == 0 {
					s.Disconnect(false)
				}
			}
			time.Sleep(time.Millisecond)
		}
	})
	for r := range rounds {
		for c := range clients {
			transports := []string{"websocket"}
			if c%2 == 1 {
				transports = []string{"polling", "websocket"}
			}
			cl.connect(fmt.Sprintf("u%d-%d", r, c), ts.url+"/chat", nil, transports...)
		}
		watcher := fmt.Sprintf("w%d", r)
		cl.connect(watcher, ts.url+"/admin", login(testUser, testPassword), "websocket")
		cl.emit("ui", "join", "/chat", "all")
		cl.emit("ui", "leave", "/chat", "r1")
		cl.emit("ui", "_disconnect", "/chat", false, "r3")
		for c := range clients {
			name := fmt.Sprintf("u%d-%d", r, c)
			cl.expect(name, "connect or a disconnect", func(l line) bool { return l.Type == "connect" || l.Type == "disconnect" })
			if c%3 == 0 {
				cl.close(name)
			}
		}
		cl.expectEvent(watcher, "all_sockets", nil)
		cl.close(watcher)
	}
	close(stop)
	wg.Wait()
	log.synced(t, cl, "ui") // the UI's actions are done too

	// The list a new UI gets is the server's.
	cl.connect("final", ts.url+"/admin", login(testUser, testPassword), "websocket")
	cl.connected("final")
	listed := map[string][]string{}
	for _, s := range decode[[]socketView](t, cl.expectEvent("final", "all_sockets", nil)[0]) {
		if s.NSP == "/chat" {
			listed[s.ID] = s.Rooms
		}
	}
	for _, s := range chat.Sockets() {
		rooms := s.Rooms()
		slices.Sort(rooms)
		want := append([]string{s.ID()}, rooms...)
		got, ok := listed[s.ID()]
		delete(listed, s.ID())
		if !ok || !slices.Equal(got, want) {
			// A socket may have left between the list and this check.
			if chat.Socket(s.ID()) != nil {
				t.Errorf("socket %s listed with rooms %q, the server has %q", s.ID(), got, want)
			}
		}
	}
	for id := range listed {
		if chat.Socket(id) != nil {
			t.Errorf("socket %s listed, unknown to the server", id)
		}
	}

	// Every client gone, the admin holds nothing.
	for _, s := range chat.Sockets() {
		s.Disconnect(true)
	}
	cl.close("ui")
	cl.close("final")
	eventually(t, "every socket to be gone", func() bool { return chat.Len() == 0 && ts.srv.Lookup("/admin").Len() == 0 })
	if n := ts.admin.Leaving(); n != 0 {
		t.Errorf("the admin holds the rooms of %d sockets that have gone", n)
	}
}
