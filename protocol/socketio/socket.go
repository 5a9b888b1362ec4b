package socketio

import (
	"encoding/json"
	"fmt"
	"sync"
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

	mu        sync.Mutex
	connected bool
	rooms     map[string]struct{} // nil until the first Join
	acks      map[int64]*pendingAck
	nextAck   int64
	data      any
}

// ID returns the socket's id, unique per namespace connection (not the
// Engine.IO session id).
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace the socket is connected to.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Auth returns the CONNECT packet's auth payload as raw JSON ({} when the
// client sent none).
func (s *Socket) Auth() json.RawMessage { return s.auth }

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

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
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
// cb runs once, on another goroutine: with the client's answer, or with
// ErrAckTimeout after timeout, or ErrDisconnected.
func (s *Socket) EmitWithAck(event string, d Data, timeout time.Duration, cb func(Data, error)) error {
	if sio.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReserved, event)
	}
	pa := &pendingAck{cb: cb}
	s.mu.Lock()
	if !s.connected {
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
	s.mu.Unlock()
	wheel := s.ns.srv.eng.Wheel()
	wheel.After(&pa.timer, timeout)
	err := s.conn.sess.Send(encode(packetSpec{typ: sio.Event, namespace: s.ns.name, id: id, event: event, hasEvent: true}, d))
	if err != nil {
		if s.takeAck(id) != nil {
			wheel.Stop(&pa.timer)
		}
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

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	s.ns.mu.Lock()
	s.mu.Lock()
	if s.connected {
		if s.rooms == nil {
			s.rooms = make(map[string]struct{}, len(rooms))
		}
		for _, r := range rooms {
			s.rooms[r] = struct{}{}
			s.ns.addToRoomLocked(r, s)
		}
	}
	s.mu.Unlock()
	s.ns.mu.Unlock()
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	s.ns.mu.Lock()
	s.mu.Lock()
	for _, r := range rooms {
		if _, ok := s.rooms[r]; ok {
			delete(s.rooms, r)
			s.ns.removeFromRoomLocked(r, s)
		}
	}
	s.mu.Unlock()
	s.ns.mu.Unlock()
}

// Rooms returns the rooms the socket is in.
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

// leave sends DISCONNECT for the socket's namespace and forgets it.
func (s *Socket) leave() {
	if s.Connected() {
		_ = s.conn.sess.Send(encodeControl(sio.Disconnect, s.ns.name, nil))
		s.conn.detach(s, ReasonServerNamespaceDisconnect)
	}
}

// teardown marks the socket gone, leaves its rooms and fails its pending
// acknowledgements. It reports false if it was already gone.
func (s *Socket) teardown() bool {
	s.ns.mu.Lock()
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		s.ns.mu.Unlock()
		return false
	}
	s.connected = false
	for r := range s.rooms {
		s.ns.removeFromRoomLocked(r, s)
	}
	s.rooms = nil
	delete(s.ns.sockets, s.id)
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	s.ns.mu.Unlock()
	// Taking an ack out of the map is what makes its callback ours to run:
	// a timer that already fired finds the map empty and does nothing.
	wheel := s.ns.srv.eng.Wheel()
	for _, pa := range acks {
		wheel.Stop(&pa.timer)
		go pa.cb(Data{}, ErrDisconnected)
	}
	return true
}
