package auth

import "encoding/json"

// Identity is what natsock knows of a socket's user once the handshake is
// authenticated: by a verified JWT, or by the reply of a NATS authorization
// service. The bridge keeps one on every authenticated socket and decides
// with it which rooms the socket joins and which inbound events it may
// emit. A nil *Identity is an anonymous socket.
type Identity struct {
	// Subject is the user: the token's "sub" claim, or the "user" an
	// authorization service names. It may be empty.
	Subject string
	// Claims are the verified token's claims (or the service's "claims"),
	// as encoding/json decodes them: string, float64, bool, nil,
	// []any and map[string]any. Never nil on a non-nil Identity.
	Claims map[string]any
	// Rooms are rooms the socket joins on connect, decided by the server
	// side (claims templates or the authorization service), never by the
	// client.
	Rooms []string
	// Emit, when not nil, lists the client events this socket may emit;
	// any other is refused. Nil means every event with an inbound rule.
	Emit []string
	// Data is kept on the socket as the authorization service returned it
	// (raw JSON), for lifecycle events and the application; nil when none.
	Data json.RawMessage
}
