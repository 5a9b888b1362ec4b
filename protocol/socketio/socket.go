package socketio

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/internal/timers"
	"github.com/natsock/natsock/protocol/sio"
)

// Socket is one client's connection to one namespace. Its methods are safe
// for concurrent use.
type Socket struct {
	id   string
	ns   *Namespace
	conn *conn
	auth json.RawMessage

	// recovered is set before the socket connects, and fixed from then.
	recovered bool
	// resuming is true while rs is set: a fast check for the paths that
	// must look at rs (broadcasts with offsets, client events).
	resuming atomic.Bool

	mu      sync.Mutex
	state   socketState
	rooms   map[string]struct{} // nil until the first Join
	acks    map[int64]*pendingAck
	nextAck int64
	data    any
	rs      *resumeState // while a resumed socket's replay and OnConnect run
}

// socketState is where a socket is in its life; it changes under the
// socket's lock (and, into and out of the namespace, the namespace's).
type socketState uint8

const (
	// stateJoining: the middlewares run. Rooms joined now are kept on the
	// socket and enter the namespace with it.
	stateJoining socketState = iota
	// stateConnected: in the namespace, its rooms in the namespace's.
	stateConnected
	// stateLeaving: the OnDisconnecting hook runs; rooms are still known
	// and the socket still counts as connected.
	stateLeaving
	// stateGone: refused, or left; no room holds it.
	stateGone
)

// ID returns the socket's id, unique per namespace connection (not the
// Engine.IO session id). A resumed socket takes its old id as it connects
// (see Recovery): until then, in middlewares, ID is a new one.
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace the socket is connected to.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Auth returns the CONNECT packet's auth payload as raw JSON ({} when the
// client sent none).
func (s *Socket) Auth() json.RawMessage { return s.auth }

// ClientID returns the Engine.IO session id of the socket's connection
// (socket.io's socket.client.id), which the connection's sockets on every
// namespace share: it groups them into one client. It is also what admits
// an HTTP long-polling client's requests to its session, so a view shown
// to others should show part of it (the socket.io Admin UI shows the
// first 12 characters), or another name.
func (s *Socket) ClientID() string { return s.conn.sess.ID() }

// Handshake returns what the Engine.IO session kept of its opening request
// (remote address, query, headers).
func (s *Socket) Handshake() *engine.Handshake { return s.conn.sess.Handshake() }

// Transport returns "websocket" or "polling".
func (s *Socket) Transport() string { return s.conn.sess.Transport() }

// SetData attaches application state to the socket.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Data returns what SetData attached.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// Connected reports whether the socket is connected: false while its
// middlewares run, true from then until it has left (its OnDisconnecting
// hook included), as socket.connected in socket.io.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectedLocked()
}

func (s *Socket) connectedLocked() bool {
	return s.state == stateConnected || s.state == stateLeaving
}

// Emit sends an event to this socket.
func (s *Socket) Emit(event string, d Data) error {
	if sio.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReserved, event)
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	return s.conn.sess.Send(encode(packetSpec{typ: sio.Event, namespace: s.ns.name, id: sio.NoID, event: event, hasEvent: true}, d))
}

// EmitWithAck sends an event that asks the client for an acknowledgement.
// Either it returns an error and cb never runs, or it returns nil and cb
// runs exactly once, on another goroutine: with the client's answer, or
// with ErrAckTimeout after timeout, or with ErrDisconnected when the
// socket leaves first (also when it leaves while the event is being
// queued).
func (s *Socket) EmitWithAck(event string, d Data, timeout time.Duration, cb func(Data, error)) error {
	if sio.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReserved, event)
	}
	pa := &pendingAck{cb: cb}
	wheel := s.ns.srv.eng.Wheel()
	s.mu.Lock()
	if !s.connectedLocked() {
		s.mu.Unlock()
		return ErrDisconnected
	}
	id := s.nextAck
	s.nextAck++
	pa.timer.Init(func() {
		if s.takeAck(id) != nil {
			go cb(Data{}, ErrAckTimeout)
		}
	})
	if s.acks == nil {
		s.acks = make(map[int64]*pendingAck)
	}
	s.acks[id] = pa
	// Armed under the lock: the teardown, which takes the acks under it,
	// always finds the timer armed and stops it.
	wheel.After(&pa.timer, timeout)
	s.mu.Unlock()
	err := s.conn.sess.Send(encode(packetSpec{typ: sio.Event, namespace: s.ns.name, id: id, event: event, hasEvent: true}, d))
	if err != nil {
		// Whoever takes the ack out of the map owns its callback: if the
		// teardown or the timer took it first, cb reports the end, and
		// this call must not report it too.
		if s.takeAck(id) == nil {
			return nil
		}
		wheel.Stop(&pa.timer)
		return err
	}
	return nil
}

type pendingAck struct {
	cb    func(Data, error)
	timer timers.Timer
}

func (s *Socket) takeAck(id int64) *pendingAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	pa := s.acks[id]
	delete(s.acks, id)
	return pa
}

// onAck delivers the client's acknowledgement of one of our emits.
func (s *Socket) onAck(id int64, d Data) {
	pa := s.takeAck(id)
	if pa == nil {
		return // late or unknown: the timeout already answered
	}
	s.ns.srv.eng.Wheel().Stop(&pa.timer)
	go pa.cb(d, nil)
}

// Join adds the socket to rooms. It works in a Middleware too, as
// socket.join in socket.io's io.use: the rooms hold once the socket
// connects, and go with it if a later middleware refuses it. A socket that
// has left joins nothing.
func (s *Socket) Join(rooms ...string) {
	obs := s.ns.srv.observing()
	var joined []string // newly joined by a connected socket, for obs
	s.ns.mu.Lock()
	s.mu.Lock()
	if s.state != stateGone {
		if s.rooms == nil {
			s.rooms = make(map[string]struct{}, len(rooms))
		}
		for _, r := range rooms {
			_, had := s.rooms[r]
			s.rooms[r] = struct{}{}
			if s.state != stateJoining {
				s.ns.addToRoomLocked(r, s)
				if !had && obs != nil {
					joined = append(joined, r)
				}
			}
		}
	}
	s.mu.Unlock()
	for _, r := range joined {
		for _, o := range obs {
			o.Joined(s, r)
		}
	}
	s.ns.mu.Unlock()
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	obs := s.ns.srv.observing()
	var left []string // left by a connected socket, for obs
	s.ns.mu.Lock()
	s.mu.Lock()
	for _, r := range rooms {
		if _, ok := s.rooms[r]; ok {
			delete(s.rooms, r)
			if s.state != stateJoining {
				s.ns.removeFromRoomLocked(r, s)
				if obs != nil {
					left = append(left, r)
				}
			}
		}
	}
	s.mu.Unlock()
	for _, r := range left {
		for _, o := range obs {
			o.Left(s, r)
		}
	}
	s.ns.mu.Unlock()
}

// Rooms returns the rooms the socket joined, in no order. Unlike
// socket.rooms in socket.io, it does not list the socket's own id, though
// the id works as a room for Namespace.To and Broadcast.Except all the
// same.
func (s *Socket) Rooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		out = append(out, r)
	}
	return out
}

func (s *Socket) inAny(rooms []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rooms {
		if _, ok := s.rooms[r]; ok || r == s.id {
			return true
		}
	}
	return false
}

// Disconnect sends the client a DISCONNECT for this namespace and forgets
// the socket. With close, as socket.io's disconnect(true), the client's
// sockets on every namespace get their DISCONNECT and leave (reason
// ReasonServerNamespaceDisconnect), so that the client reconnects none of
// them, and then the Engine.IO session closes (after the DISCONNECTs are
// written).
func (s *Socket) Disconnect(close bool) {
	if !close {
		s.leave()
		return
	}
	c := s.conn
	c.mu.Lock()
	socks := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, x := range socks {
		x.leave()
	}
	c.sess.Close()
}

// leave forgets the socket and sends DISCONNECT for its namespace.
func (s *Socket) leave() { s.conn.detach(s, ReasonServerNamespaceDisconnect, true) }

// teardown takes the socket out of its namespace: the OnDisconnecting
// hook first (rooms still known), then its rooms, then its pending
// acknowledgements fail. It reports left=false if the socket was not
// connected (gone already, or still joining: then it never will be), and
// hooks=false for a resumed socket that leaves before its OnConnect ran:
// then neither OnDisconnecting ran nor may OnDisconnect.
//
// With await, the caller is none of the socket's hooks or handlers (it is
// the connection's close): a resumed socket whose OnConnect, or the client
// events that waited for it, still run on the resume goroutine is left
// once they are done, as OnClose waits for the read goroutine's handlers.
func (s *Socket) teardown(reason Reason, await bool) (left, hooks bool) {
	s.mu.Lock()
	for await && s.state == stateConnected && s.rs != nil && s.rs.announced {
		done := s.rs.done
		s.mu.Unlock()
		<-done
		s.mu.Lock()
	}
	switch s.state {
	case stateConnected:
		s.state = stateLeaving
		hooks = true
		if rs := s.rs; rs != nil {
			hooks = rs.announced
			rs.cancel()
			rs.holding, rs.held, rs.inbound, rs.inboundBytes = false, nil, nil, 0
		}
	case stateJoining:
		s.state, s.rooms = stateGone, nil
		s.mu.Unlock()
		return false, false
	default:
		s.mu.Unlock()
		return false, false
	}
	s.mu.Unlock()
	if hooks {
		s.ns.notifyDisconnecting(s, reason)
	}

	obs := s.ns.srv.observing()
	var rooms []string // the rooms it leaves, for obs
	s.ns.mu.Lock()
	s.mu.Lock()
	s.state = stateGone
	for r := range s.rooms {
		s.ns.removeFromRoomLocked(r, s)
		if obs != nil {
			rooms = append(rooms, r)
		}
	}
	s.rooms = nil
	delete(s.ns.sockets, s.id)
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	// As socket.io's adapter: leave-room for each room, then the
	// disconnect.
	slices.Sort(rooms)
	for _, r := range rooms {
		for _, o := range obs {
			o.Left(s, r)
		}
	}
	for _, o := range obs {
		o.Disconnected(s, reason)
	}
	s.ns.mu.Unlock()
	// Taking an ack out of the map is what makes its callback ours to run:
	// a timer that already fired finds the map empty and does nothing.
	wheel := s.ns.srv.eng.Wheel()
	for _, pa := range acks {
		wheel.Stop(&pa.timer)
		go pa.cb(Data{}, ErrDisconnected)
	}
	return true, hooks
}
