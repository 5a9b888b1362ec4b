package socketio

import (
	"sync"
	"sync/atomic"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/sio"
)

// Middleware vets a socket before it joins a namespace. It sees the
// socket's Auth and Handshake; returning an error refuses the connection
// (see ConnectError). Middlewares run in the order added.
type Middleware func(s *Socket) error

// EventHandler handles one event from a client. It runs on the goroutine
// that reads the client's connection: hand slow work to another goroutine.
type EventHandler func(s *Socket, ev *Event)

// Event is one event a client emitted.
type Event struct {
	Name string
	Data
	socket *Socket
	ackID  int64
	acked  atomic.Bool
}

// WantsAck reports whether the client passed an acknowledgement callback.
func (e *Event) WantsAck() bool { return e.ackID != sio.NoID }

// Ack answers the client's acknowledgement callback with d. It may be
// called once, from any goroutine.
func (e *Event) Ack(d Data) error {
	if !e.WantsAck() {
		return ErrNoAck
	}
	if !e.acked.CompareAndSwap(false, true) {
		return ErrAcked
	}
	s := e.socket
	if !s.Connected() {
		return ErrDisconnected
	}
	return s.conn.sess.Send(encode(packetSpec{typ: sio.Ack, namespace: s.ns.name, id: e.ackID}, d))
}

// Namespace is a Socket.IO namespace ("/" is the main one): its sockets,
// rooms, middlewares and event handlers.
type Namespace struct {
	name string
	srv  *Server

	mu              sync.RWMutex
	sockets         map[string]*Socket
	rooms           map[string]map[*Socket]struct{}
	middlewares     []Middleware
	handlers        map[string]EventHandler
	onAny           EventHandler
	onConnect       func(*Socket)
	onDisconnecting func(*Socket, Reason)
	onDisconnect    func(*Socket, Reason)
}

func newNamespace(srv *Server, name string) *Namespace {
	return &Namespace{
		name:     name,
		srv:      srv,
		sockets:  make(map[string]*Socket),
		rooms:    make(map[string]map[*Socket]struct{}),
		handlers: make(map[string]EventHandler),
	}
}

// Name returns the namespace's name, such as "/" or "/admin".
func (n *Namespace) Name() string { return n.name }

// Use adds a middleware.
func (n *Namespace) Use(m Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, m)
	n.mu.Unlock()
}

// OnConnect sets the function called for each socket once it has joined
// (after the client got its CONNECT answer).
func (n *Namespace) OnConnect(fn func(*Socket)) {
	n.mu.Lock()
	n.onConnect = fn
	n.mu.Unlock()
}

// OnDisconnecting sets the function called once for each socket that
// leaves, before it leaves its rooms (socket.io's "disconnecting" event):
// Rooms still lists them, and the socket still counts as connected. It
// runs before OnDisconnect's function.
func (n *Namespace) OnDisconnecting(fn func(*Socket, Reason)) {
	n.mu.Lock()
	n.onDisconnecting = fn
	n.mu.Unlock()
}

// OnDisconnect sets the function called once for each socket that leaves,
// after it has left its rooms.
func (n *Namespace) OnDisconnect(fn func(*Socket, Reason)) {
	n.mu.Lock()
	n.onDisconnect = fn
	n.mu.Unlock()
}

// On sets the handler for one event name.
func (n *Namespace) On(event string, h EventHandler) {
	n.mu.Lock()
	n.handlers[event] = h
	n.mu.Unlock()
}

// OnAny sets a catch-all handler, as socket.io's socket.onAny: it sees
// every event from the namespace's clients, handled or not, before the
// event's own handler (set with On) runs.
func (n *Namespace) OnAny(h EventHandler) {
	n.mu.Lock()
	n.onAny = h
	n.mu.Unlock()
}

// Len returns the number of connected sockets.
func (n *Namespace) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// Socket returns the connected socket with id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// Emit sends an event to every socket of the namespace; see Broadcast.Emit.
func (n *Namespace) Emit(event string, d Data) int {
	return Broadcast{ns: n}.Emit(event, d)
}

// EmitOffset sends an event with its offset to every socket of the
// namespace; see Broadcast.EmitOffset.
func (n *Namespace) EmitOffset(event string, d Data, seq uint64) int {
	return Broadcast{ns: n}.EmitOffset(event, d, seq)
}

// To starts a broadcast to the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) Broadcast {
	return Broadcast{ns: n}.To(rooms...)
}

// Except starts a broadcast to every socket not in any of rooms.
func (n *Namespace) Except(rooms ...string) Broadcast {
	return Broadcast{ns: n}.Except(rooms...)
}

// Broadcast selects sockets of a namespace: those in any of its rooms (all
// sockets when it names none), less those in any of its excepted rooms. A
// socket's id also works as a room holding just that socket.
type Broadcast struct {
	ns     *Namespace
	rooms  []string
	except []string
}

// To adds rooms to the broadcast's targets.
func (b Broadcast) To(rooms ...string) Broadcast {
	b.rooms = append(append([]string(nil), b.rooms...), rooms...)
	return b
}

// Except adds rooms whose sockets the broadcast skips.
func (b Broadcast) Except(rooms ...string) Broadcast {
	b.except = append(append([]string(nil), b.except...), rooms...)
	return b
}

// Emit encodes the event once and queues the same bytes to every selected
// socket. It never blocks on a client: a socket whose queue is full meets
// the engine's slow-consumer policy. It returns how many sockets it queued
// the event to; an event name socket.io reserves ("connect", ...) reaches
// none.
func (b Broadcast) Emit(event string, d Data) int {
	if sio.IsReserved(event) {
		return 0
	}
	return b.send(encodeEvent(b.ns.name, event, d, 0, false), 0, false)
}

// EmitOffset is Emit for an event that has a place in a recoverable
// source (see Recovery): seq is its offset there, a sequence that grows
// strictly along the source (natsock's bridge uses the JetStream stream
// sequence); offsets start at 1. With Config.Recovery set, the event
// carries seq as its last argument, a decimal string, which the client
// keeps to resume from; a socket whose missed events are being replayed
// gets it after them, once. Without Recovery it is Emit: seq goes nowhere.
//
// The packet is still encoded once for every recipient. Call EmitOffset in
// seq order (from one goroutine per source): each socket gets its events
// in the order of the calls.
func (b Broadcast) EmitOffset(event string, d Data, seq uint64) int {
	if sio.IsReserved(event) {
		return 0
	}
	offset := b.ns.srv.cfg.Recovery != nil
	return b.send(encodeEvent(b.ns.name, event, d, seq, offset), seq, offset)
}

// send queues m to the selected sockets; with offset, m carries seq, and
// a socket whose replay runs holds it back.
func (b Broadcast) send(m *engine.Message, seq uint64, offset bool) int {
	n := b.ns
	sent := 0
	deliver := func(s *Socket) {
		if len(b.except) > 0 && s.inAny(b.except) {
			return
		}
		if offset && s.resuming.Load() {
			switch s.hold(m, seq) {
			case held:
				sent++
				return
			case overflowed:
				return
			}
		}
		if s.conn.sess.Send(m) == nil {
			sent++
		}
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	switch len(b.rooms) {
	case 0:
		for _, s := range n.sockets {
			deliver(s)
		}
	case 1:
		for s := range n.rooms[b.rooms[0]] {
			deliver(s)
		}
		if s := n.sockets[b.rooms[0]]; s != nil {
			if _, dup := n.rooms[b.rooms[0]][s]; !dup {
				deliver(s)
			}
		}
	default:
		seen := make(map[*Socket]struct{})
		for _, r := range b.rooms {
			for s := range n.rooms[r] {
				if _, ok := seen[s]; !ok {
					seen[s] = struct{}{}
					deliver(s)
				}
			}
			if s := n.sockets[r]; s != nil {
				if _, ok := seen[s]; !ok {
					seen[s] = struct{}{}
					deliver(s)
				}
			}
		}
	}
	return sent
}

func (n *Namespace) addToRoomLocked(room string, s *Socket) {
	set := n.rooms[room]
	if set == nil {
		set = make(map[*Socket]struct{})
		n.rooms[room] = set
	}
	set[s] = struct{}{}
}

func (n *Namespace) removeFromRoomLocked(room string, s *Socket) {
	set := n.rooms[room]
	delete(set, s)
	if len(set) == 0 {
		delete(n.rooms, room)
	}
}

func (n *Namespace) dispatch(s *Socket, ev *Event) {
	if obs := n.srv.observing(); obs != nil {
		// Under the read lock, against the teardown's write lock: a
		// socket the server disconnects meanwhile is reported
		// Disconnected after this, or this is not reported at all.
		n.mu.RLock()
		if s.Connected() {
			for _, o := range obs {
				o.Event(s, ev)
			}
		}
		n.mu.RUnlock()
	}
	n.mu.RLock()
	h, all := n.handlers[ev.Name], n.onAny
	n.mu.RUnlock()
	if all != nil {
		all(s, ev)
	}
	if h != nil {
		h(s, ev)
	}
}
