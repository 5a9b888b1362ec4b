package bridge

import (
	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/protocol/socketio"
)

// identityOf returns the identity authentication left on s, or nil for an
// anonymous socket. The bridge keeps nothing else in a socket's Data.
func identityOf(s *socketio.Socket) *auth.Identity {
	id, _ := s.Data().(*auth.Identity)
	return id
}
