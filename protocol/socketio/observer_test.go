package socketio_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/natsock/natsock/protocol/socketio"
)

// recorder is an Observer that writes each report as a line.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) Connected(s *socketio.Socket) {
	rooms := s.Rooms()
	sort.Strings(rooms)
	r.add("connected %s %s rooms=%s", s.Namespace().Name(), s.ID(), strings.Join(rooms, ","))
}

func (r *recorder) Disconnected(s *socketio.Socket, reason socketio.Reason) {
	r.add("disconnected %s %s rooms=%d: %s", s.Namespace().Name(), s.ID(), len(s.Rooms()), reason)
}

func (r *recorder) Joined(s *socketio.Socket, room string) { r.add("joined %s %s", s.ID(), room) }
func (r *recorder) Left(s *socketio.Socket, room string) {
	r.add("left %s %s connected=%v", s.ID(), room, s.Connected())
}

func (r *recorder) Upgraded(s *socketio.Socket) {
	r.add("upgraded %s %s %s", s.Namespace().Name(), s.ID(), s.Transport())
}
func (r *recorder) Event(s *socketio.Socket, ev *socketio.Event) {
	r.add("event %s %s %s", s.ID(), ev.Name, ev.Args)
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

var _ socketio.UpgradeObserver = (*recorder)(nil)

// TestObserverSeesASocketsLifeInOrder: an Observer sees the connect with
// the rooms joined in middlewares, rooms joined and left afterwards, each
// client event before its handler, and at the disconnect each room left
// (in name order, the socket no longer connected), then the disconnect;
// two observers see the same reports.
func TestObserverSeesASocketsLifeInOrder(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	var a, b recorder
	srv.Observe(&a)
	srv.Observe(nil) // ignored
	srv.Observe(&b)
	ns := srv.Of("/")
	ns.Use(func(s *socketio.Socket) error {
		s.Join("from-middleware")
		return nil
	})
	ns.OnConnect(func(s *socketio.Socket) {
		s.Join("from-connect", "from-middleware") // the second is no change
		s.Leave("from-connect", "never-joined")
	})
	handled := make(chan []string, 1)
	ns.On("ping", func(s *socketio.Socket, ev *socketio.Event) {
		handled <- a.snapshot()
		s.Join("late")
		_ = s.Emit("pong", socketio.Data{})
	})
	gone := make(chan struct{})
	ns.OnDisconnect(func(*socketio.Socket, socketio.Reason) { close(gone) })

	c := dialRaw(t, url)
	c.join("/")
	c.text(`42["ping",1]`)
	if msg := c.readText(); msg != `42["pong"]` {
		t.Fatalf("got %q, want the pong", msg)
	}
	atHandler := recv(t, handled, "the ping handler")
	c.text("41")
	recv(t, gone, "the disconnect")

	got := a.snapshot()
	if len(got) != 8 {
		t.Fatalf("reports:\n%s\nwant 8", strings.Join(got, "\n"))
	}
	id := strings.Fields(got[0])[2]
	want := []string{
		"connected / " + id + " rooms=from-middleware",
		"joined " + id + " from-connect",
		"left " + id + " from-connect connected=true",
		"event " + id + " ping [1]",
		"joined " + id + " late",
		"left " + id + " from-middleware connected=false",
		"left " + id + " late connected=false",
		"disconnected / " + id + " rooms=0: client namespace disconnect",
	}
	if !slices.Equal(got, want) {
		t.Errorf("reports:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(atHandler, want[:4]) {
		t.Errorf("when the handler ran, the observer had:\n%s\nwant the event reported first", strings.Join(atHandler, "\n"))
	}
	if other := b.snapshot(); !slices.Equal(other, got) {
		t.Errorf("the second observer saw:\n%s\nwant the same as the first", strings.Join(other, "\n"))
	}
}

// TestObserverRefusedSocketsAreNotReported: a socket a middleware refuses
// never connected, so an Observer hears nothing of it.
func TestObserverRefusedSocketsAreNotReported(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	var r recorder
	srv.Observe(&r)
	srv.Of("/").Use(func(s *socketio.Socket) error {
		s.Join("doomed")
		return &socketio.ConnectError{Message: "no"}
	})
	c := dialRaw(t, url)
	c.text("40")
	if msg := c.readText(); !strings.HasPrefix(msg, "44") {
		t.Fatalf("got %q, want CONNECT_ERROR", msg)
	}
	if got := r.snapshot(); len(got) != 0 {
		t.Errorf("reports for a refused socket:\n%s", strings.Join(got, "\n"))
	}
}

// orderObserver checks, under churn, that each socket is reported
// Connected exactly once before anything else of it, and Disconnected
// exactly once, last.
type orderObserver struct {
	mu           sync.Mutex
	state        map[*socketio.Socket]string // "connected" or "gone"
	problems     []string
	connects     atomic.Int64
	disconnects  atomic.Int64
	roomsChanged atomic.Int64
}

func (o *orderObserver) need(s *socketio.Socket, what, want, next string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if got := o.state[s]; got != want {
		o.problems = append(o.problems, fmt.Sprintf("%s of %s in state %q, want %q", what, s.ID(), got, want))
	}
	if next != "" {
		o.state[s] = next
	}
}

func (o *orderObserver) Connected(s *socketio.Socket) {
	o.connects.Add(1)
	o.need(s, "connected", "", "connected")
}

func (o *orderObserver) Disconnected(s *socketio.Socket, _ socketio.Reason) {
	o.disconnects.Add(1)
	o.need(s, "disconnected", "connected", "gone")
}

func (o *orderObserver) Joined(s *socketio.Socket, _ string) {
	o.roomsChanged.Add(1)
	o.need(s, "joined", "connected", "")
}

func (o *orderObserver) Left(s *socketio.Socket, _ string) {
	o.roomsChanged.Add(1)
	o.need(s, "left", "connected", "")
}

func (o *orderObserver) Event(s *socketio.Socket, _ *socketio.Event) {
	o.need(s, "event", "connected", "")
}

// TestObserverOrderUnderChurn: clients connecting, joining, emitting and
// disconnecting at once, with the server disconnecting some of them from
// another goroutine, never get a report out of order, and every connect
// is matched by one disconnect.
func TestObserverOrderUnderChurn(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	o := &orderObserver{state: make(map[*socketio.Socket]string)}
	srv.Observe(o)
	nss := []*socketio.Namespace{srv.Of("/"), srv.Of("/custom")}
	for i, ns := range nss {
		ns.Use(func(s *socketio.Socket) error { s.Join("m"); return nil })
		ns.OnConnect(func(s *socketio.Socket) {
			s.Join("c")
			if i == 0 {
				go s.Disconnect(false) // races the client's own messages and close
			}
		})
		ns.OnAny(func(s *socketio.Socket, ev *socketio.Event) { s.Leave("c") })
	}

	const clients, dials = 4, 15
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for range dials {
				churnClient(url, fmt.Sprintf("e%d", i))
			}
		})
	}
	wg.Wait()
	waitUntil(t, "every connected socket to be reported gone", func() bool {
		return o.connects.Load() == o.disconnects.Load() && nss[0].Len()+nss[1].Len() == 0
	})
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.problems) > 0 {
		t.Errorf("out of order:\n%s", strings.Join(o.problems, "\n"))
	}
	if o.connects.Load() == 0 {
		t.Error("no socket connected")
	}
	t.Logf("%d connects, %d room changes", o.connects.Load(), o.roomsChanged.Load())
}

// TestNamespacesAndSocketsSnapshots: a program can list the namespaces and
// each one's connected sockets with their transport, handshake and rooms.
func TestNamespacesAndSocketsSnapshots(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	srv.Of("zeta")
	admin := srv.Of("/admin")
	admin.Use(func(s *socketio.Socket) error { s.Join("ops"); return nil })
	conns := socketOn(admin)

	var names []string
	for _, n := range srv.Namespaces() {
		names = append(names, n.Name())
	}
	if want := []string{"/", "/admin", "/zeta"}; !slices.Equal(names, want) {
		t.Fatalf("Namespaces() = %q, want %q", names, want)
	}

	c1, c2 := dialRaw(t, url), dialRaw(t, url)
	c1.join("/admin")
	c2.join("/admin")
	recvSocket(t, conns)
	recvSocket(t, conns)
	socks := admin.Sockets()
	if len(socks) != 2 || socks[0].ID() >= socks[1].ID() {
		t.Fatalf("Sockets() = %v, want 2 ordered by id", socks)
	}
	for _, s := range socks {
		if s.Transport() != "websocket" || s.Handshake().RemoteAddr == "" || !slices.Equal(s.Rooms(), []string{"ops"}) {
			t.Errorf("socket %s: transport %q, remote %q, rooms %q", s.ID(), s.Transport(), s.Handshake().RemoteAddr, s.Rooms())
		}
	}
	if n := len(srv.Of("/").Sockets()); n != 0 {
		t.Errorf("%d sockets on /, want 0", n)
	}
	socks[0].Disconnect(false)
	if got := admin.Sockets(); len(got) != 1 || got[0] != socks[1] {
		t.Errorf("after one left, Sockets() = %v, want only %s", got, socks[1].ID())
	}
	if socks[0].Connected() || len(socks[0].Rooms()) != 0 {
		t.Errorf("a socket from an old snapshot: connected %v, rooms %q", socks[0].Connected(), socks[0].Rooms())
	}
}
