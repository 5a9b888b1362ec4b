package admin

import (
	"encoding/json"
	"slices"

	"github.com/natsock/natsock/protocol/sio"
	"github.com/natsock/natsock/protocol/socketio"
)

// observer keeps the watchers current. socketio calls it under the
// namespace's lock, on the goroutine making the change: it only reads the
// socket and queues, and never calls into a namespace.
type observer struct{ a *Admin }

var _ socketio.UpgradeObserver = observer{}

// watched reports whether anyone is to be told.
func (a *Admin) watched() bool { return a.watchers.Load() > 0 && !a.closed.Load() }

// Connected reports socket_connected.
func (o observer) Connected(s *socketio.Socket) {
	a := o.a
	if !a.watched() {
		return
	}
	a.enqueue(update{event: "socket_connected", data: mustArgs(a.describe(s, s.Rooms()), timestamp())})
}

// Upgraded reports socket_updated with the socket's new transport, as
// socket.io's admin does on its connection's upgrade.
func (o observer) Upgraded(s *socketio.Socket) {
	a := o.a
	if !a.watched() {
		return
	}
	a.enqueue(update{event: "socket_updated", data: mustArgs(map[string]string{
		"id": s.ID(), "nsp": s.Namespace().Name(), "transport": s.Transport(),
	})})
}

// Disconnected reports socket_disconnected, then room_left for the
// socket's private room (its id) and for each room it was in, in the
// order socket.io's admin sends them: its adapter's leave-room events are
// emitted on the next tick, after the disconnect's. The UI drops a room
// once its last socket has left it, so without them its Rooms view would
// keep the gone socket.
func (o observer) Disconnected(s *socketio.Socket, reason socketio.Reason) {
	a := o.a
	a.mu.Lock()
	rooms, ok := a.leaving[s]
	if ok {
		delete(a.leaving, s)
	}
	a.mu.Unlock()
	if !a.watched() {
		return
	}
	nsp, id, ts := s.Namespace().Name(), s.ID(), timestamp()
	a.enqueue(update{event: "socket_disconnected", data: mustArgs(nsp, id, string(reason), ts)})
	a.enqueue(update{event: "room_left", data: mustArgs(nsp, id, id, ts)})
	for _, r := range rooms {
		a.enqueue(update{event: "room_left", data: mustArgs(nsp, r, id, ts)})
	}
}

// Joined reports room_joined.
func (o observer) Joined(s *socketio.Socket, room string) {
	a := o.a
	if !a.watched() {
		return
	}
	a.enqueue(update{event: "room_joined", data: mustArgs(s.Namespace().Name(), room, s.ID(), timestamp())})
}

// Left reports room_left; a room left by a socket disconnecting (no
// longer connected) is kept for Disconnected to report after the
// disconnect.
func (o observer) Left(s *socketio.Socket, room string) {
	a := o.a
	if !a.watched() {
		return
	}
	if !s.Connected() {
		a.mu.Lock()
		a.leaving[s] = append(a.leaving[s], room)
		a.mu.Unlock()
		return
	}
	a.enqueue(update{event: "room_left", data: mustArgs(s.Namespace().Name(), room, s.ID(), timestamp())})
}

// Event reports a client's event as event_received: its name and
// arguments (binary ones included), as socket.io's onAny sees them. The
// admin namespace's own commands are not reported.
func (o observer) Event(s *socketio.Socket, ev *socketio.Event) {
	a := o.a
	if !a.watched() || s.Namespace() == a.ns {
		return
	}
	args := make([]byte, 0, 64)
	args = append(args, '[')
	args = sio.AppendQuote(args, ev.Name)
	for _, arg := range ev.Args {
		args = append(args, ',')
		args = append(args, arg...)
	}
	args = append(args, ']')
	nsp := json.RawMessage(sio.AppendQuote(nil, s.Namespace().Name()))
	id := json.RawMessage(sio.AppendQuote(nil, s.ID()))
	ts := json.RawMessage(sio.AppendQuote(nil, timestamp()))
	// ev is the handlers': its attachments are copied, not kept.
	var atts [][]byte
	for _, b := range ev.Attachments {
		atts = append(atts, slices.Clone(b))
	}
	a.enqueue(update{event: "event_received", data: socketio.Data{
		Args:        []json.RawMessage{nsp, id, args, ts},
		Attachments: atts,
	}})
}
