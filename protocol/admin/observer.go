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

var _ socketio.Observer = observer{}

// Connected names the socket's connection, mirrors its rooms and
// reports socket_connected.
func (o observer) Connected(s *socketio.Socket) {
	a := o.a
	rooms := s.Rooms()
	a.mu.Lock()
	hs := s.Handshake()
	c := a.clients[hs]
	if c == nil {
		c = &clientRef{id: newClientID()}
		a.clients[hs] = c
	}
	c.sockets++
	if len(rooms) > 0 {
		a.rooms[s] = slices.Clone(rooms)
	}
	a.mu.Unlock()
	if a.watchers.Load() == 0 || a.closed.Load() {
		return
	}
	info := a.describe(s, rooms)
	u := update{event: "socket_connected", data: mustArgs(info, timestamp())}
	if info.Transport == "polling" {
		u.polling = s
	}
	a.enqueue(u)
}

// Disconnected forgets the socket and reports room_left for each room it
// had (socketio reports none at a disconnect), then socket_disconnected.
func (o observer) Disconnected(s *socketio.Socket, reason socketio.Reason) {
	a := o.a
	a.mu.Lock()
	hs := s.Handshake()
	if c := a.clients[hs]; c != nil {
		if c.sockets--; c.sockets <= 0 {
			delete(a.clients, hs)
		}
	}
	rooms := a.rooms[s]
	delete(a.rooms, s)
	delete(a.polling, s)
	a.mu.Unlock()
	if a.watchers.Load() == 0 || a.closed.Load() {
		return
	}
	nsp, id, ts := s.Namespace().Name(), s.ID(), timestamp()
	for _, r := range rooms {
		a.enqueue(update{event: "room_left", data: mustArgs(nsp, r, id, ts)})
	}
	a.enqueue(update{event: "socket_disconnected", data: mustArgs(nsp, id, string(reason), ts)})
}

// Joined mirrors the room and reports room_joined.
func (o observer) Joined(s *socketio.Socket, room string) {
	a := o.a
	a.mu.Lock()
	if !slices.Contains(a.rooms[s], room) {
		a.rooms[s] = append(a.rooms[s], room)
	}
	a.mu.Unlock()
	if a.watchers.Load() == 0 || a.closed.Load() {
		return
	}
	a.enqueue(update{event: "room_joined", data: mustArgs(s.Namespace().Name(), room, s.ID(), timestamp())})
}

// Left mirrors the room's loss and reports room_left.
func (o observer) Left(s *socketio.Socket, room string) {
	a := o.a
	a.mu.Lock()
	if rs := a.rooms[s]; rs != nil {
		if i := slices.Index(rs, room); i >= 0 {
			rs = slices.Delete(rs, i, i+1)
		}
		if len(rs) == 0 {
			delete(a.rooms, s)
		} else {
			a.rooms[s] = rs
		}
	}
	a.mu.Unlock()
	if a.watchers.Load() == 0 || a.closed.Load() {
		return
	}
	a.enqueue(update{event: "room_left", data: mustArgs(s.Namespace().Name(), room, s.ID(), timestamp())})
}

// Event reports a client's event as event_received: its name and
// arguments (binary ones included), as socket.io's onAny sees them. The
// admin namespace's own commands are not reported.
func (o observer) Event(s *socketio.Socket, ev *socketio.Event) {
	a := o.a
	if a.watchers.Load() == 0 || a.closed.Load() || s.Namespace() == a.ns {
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
