package socketio

import (
	"slices"
	"strings"
)

// Observer watches a server's sockets, for an admin view or metrics: it
// learns of every connect, disconnect, room change and client event of
// every namespace. Add one with [Server.Observe]; one that also implements
// [UpgradeObserver] learns of transport upgrades too.
//
// The methods run synchronously, on the goroutine making the change, and
// must not block. Connected, Disconnected, Joined and Left (and
// UpgradeObserver's Upgraded) run while the socket's namespace is locked,
// so that no other change of the namespace comes between the change and
// its report; Event runs under the namespace's read lock, so that, for
// one socket, Connected always comes first and Disconnected last. They
// may read the socket (ID, ClientID, Rooms, Transport, Handshake, Auth,
// Data, Recovered, Connected, Namespace().Name()) but must not call
// anything that changes a socket or a namespace, emit, or call a
// Namespace's methods: copy what they need and hand heavier work to
// another goroutine.
//
// A socket that disconnects is reported as socket.io's adapter reports
// it: Left for each room it was in, then Disconnected.
type Observer interface {
	// Connected reports a socket that has its CONNECT answer (queued to
	// the client). s.Rooms() lists the rooms it joined in middlewares. A
	// resumed socket (s.Recovered(), see Recovery) is reported before its
	// missed events are replayed.
	Connected(s *Socket)
	// Disconnected reports a socket that has left its namespace, once
	// for each socket reported Connected, with the reason it left. Left
	// has been called for each of its rooms just before.
	Disconnected(s *Socket, r Reason)
	// Joined reports a room a connected socket joined. Rooms joined while
	// the socket is joining (in middlewares) are not reported one by one:
	// Connected's s.Rooms() lists them.
	Joined(s *Socket, room string)
	// Left reports a room a connected socket left: by Leave, or by
	// disconnecting. A socket that disconnects leaves each of its rooms,
	// in name order, right before Disconnected reports it (as socket.io's
	// adapter emits leave-room for each before the socket's disconnect);
	// then s.Connected() is already false, which tells the two apart.
	Left(s *Socket, room string)
	// Event reports every event a connected socket receives from its
	// client, before any handler ([Namespace.OnAny], [Namespace.On])
	// runs; an event that arrives as the server disconnects the socket is
	// not reported after Disconnected (its handlers may still run). ev is
	// the handlers' own: an Observer must not change it, acknowledge it,
	// or keep it past the call.
	Event(s *Socket, ev *Event)
}

// UpgradeObserver is an Observer that also hears of transport upgrades.
// [Server.Observe] takes any Observer; those that implement this
// interface are told of upgrades too.
type UpgradeObserver interface {
	Observer
	// Upgraded reports a connected socket whose connection has moved from
	// HTTP long-polling to websocket (socket.io's "upgrade" event of
	// socket.conn): once for each of the connection's sockets, after its
	// Connected and before its Disconnected, with s.Transport() now
	// "websocket". A socket that Connected saw on "polling" is reported
	// when its connection upgrades; one connected after the upgrade is
	// not. Like Connected it runs while the namespace is locked.
	Upgraded(s *Socket)
}

// Observe adds an Observer. Several may be added; each sees every change,
// in the order they were added. A server with none pays one atomic load
// per change.
func (srv *Server) Observe(o Observer) {
	if o == nil {
		return
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var next []Observer
	if cur := srv.observers.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, o)
	srv.observers.Store(&next)
}

// observing returns the observers, or nil when there are none.
func (srv *Server) observing() []Observer {
	if p := srv.observers.Load(); p != nil {
		return *p
	}
	return nil
}

// Namespaces returns a snapshot of the server's namespaces, ordered by
// name. Namespaces are only ever added (by [Server.Of]), so a name once
// listed stays valid.
func (srv *Server) Namespaces() []*Namespace {
	srv.mu.RLock()
	out := make([]*Namespace, 0, len(srv.nsps))
	for _, n := range srv.nsps {
		out = append(out, n)
	}
	srv.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Namespace) int { return strings.Compare(a.name, b.name) })
	return out
}

// Sockets returns a snapshot of the namespace's connected sockets, ordered
// by id: those that have their CONNECT answer and have not yet left
// (sockets still in their middlewares are not listed). A socket may leave
// right after the snapshot; its methods stay safe to call (Rooms then
// returns none, Connected false). For an admin view, each socket gives its
// [Socket.Transport], [Socket.Handshake], [Socket.Rooms] and
// [Socket.Recovered]; an [Observer] keeps such a view current.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	n.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Socket) int { return strings.Compare(a.id, b.id) })
	return out
}
