package bridge

import (
	"slices"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/protocol/socketio"
)

// Authenticate installs, on every namespace the bridge declared, a
// middleware that takes the socket's identity from fn, as an
// authenticator does from verified credentials, and joins its rooms (again
// on connect, for an engine whose middleware cannot join yet). A nil
// identity leaves the socket anonymous. Call it before Run.
func Authenticate(b *Bridge, fn func(s *socketio.Socket) *auth.Identity) {
	for _, ns := range b.namespaces {
		ns.Use(func(s *socketio.Socket) error {
			if id := fn(s); id != nil {
				s.SetData(id)
				s.Join(id.Rooms...)
			}
			return nil
		})
		ns.OnConnect(func(s *socketio.Socket) {
			if id := identityOf(s); id != nil {
				s.Join(id.Rooms...)
			}
			b.socketConnected(s)
		})
	}
}

// InRooms reports whether socket sid of namespace ns is connected and in
// every one of rooms, as the server sees it.
func InRooms(b *Bridge, ns, sid string, rooms []string) bool {
	s := b.namespaces[ns].Socket(sid)
	if s == nil {
		return false
	}
	have := s.Rooms()
	for _, r := range rooms {
		if !slices.Contains(have, r) {
			return false
		}
	}
	return true
}
