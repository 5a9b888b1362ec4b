package socketio

import (
	"encoding/json"
	"errors"

	"github.com/natsock/natsock/protocol/engine"
)

// Reason says why a socket disconnected. The values are socket.io's own
// disconnect reasons (what a client's "disconnect" handler receives) plus
// the Engine.IO close reasons they derive from.
type Reason string

// Disconnect reasons.
const (
	ReasonServerNamespaceDisconnect Reason = "server namespace disconnect" // Socket.Disconnect
	ReasonClientNamespaceDisconnect Reason = "client namespace disconnect" // the client sent DISCONNECT
	ReasonServerShutdown            Reason = "server shutting down"        // Server.Close
	ReasonTransportClose            Reason = Reason(engine.ReasonTransportClose)
	ReasonTransportError            Reason = Reason(engine.ReasonTransportError)
	ReasonPingTimeout               Reason = Reason(engine.ReasonPingTimeout)
	ReasonParseError                Reason = Reason(engine.ReasonParseError)
	ReasonForcedClose               Reason = Reason(engine.ReasonForcedClose)
	ReasonSlow                      Reason = Reason(engine.ReasonSlow)
	// ReasonConnectTimeout closes an Engine.IO session that did not join a
	// namespace within Config.ConnectTimeout.
	ReasonConnectTimeout Reason = "connect timeout"
	// ReasonAttachmentsTooLarge closes a session whose binary packet's
	// attachments together passed Config.MaxAttachmentBytes.
	ReasonAttachmentsTooLarge Reason = "attachments too large"
	// ReasonAttachmentTimeout closes a session whose binary packet's
	// attachments did not all arrive within Config.AttachmentTimeout.
	ReasonAttachmentTimeout Reason = "attachment timeout"
	// ReasonReplayOverflow closes the session of a resuming socket that
	// would hold more than Config.RecoveryHold live events during its
	// replay, or as many client events waiting for its OnConnect. The
	// client reconnects and resumes from the last offset it got.
	ReasonReplayOverflow Reason = "replay overflow"
	// ReasonReplayFailed closes the session of a resuming socket whose
	// replay (Recovery's ReplayFunc) failed. The client reconnects and
	// resumes from the last offset it got.
	ReasonReplayFailed Reason = "replay failed"
)

// ConnectError refuses a namespace connection. A Middleware returns it to
// send the client a connect_error whose message is Message and whose data
// is Data (raw JSON, omitted when nil). Any other error refuses with its
// text as the message.
type ConnectError struct {
	Message string
	Data    json.RawMessage
}

func (e *ConnectError) Error() string { return "socketio: connect refused: " + e.Message }

// payload is the CONNECT_ERROR packet's JSON.
func (e *ConnectError) payload() []byte {
	b, _ := json.Marshal(struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	}{e.Message, e.Data})
	return b
}

// Errors returned by emits.
var (
	ErrDisconnected = errors.New("socketio: socket disconnected")
	ErrAckTimeout   = errors.New("socketio: acknowledgement timed out")
	ErrNoAck        = errors.New("socketio: the client asked for no acknowledgement")
	ErrAcked        = errors.New("socketio: already acknowledged")
	ErrReserved     = errors.New("socketio: event name reserved by socket.io")
)
