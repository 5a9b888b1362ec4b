package engine

import "errors"

// Reason says why a session closed. The values are the Node.js engine.io
// close reasons, so logs and metrics read the same as theirs, plus natsock's
// own ("slow", "payload too large", "server shutting down").
type Reason string

// Close reasons.
const (
	ReasonTransportClose   Reason = "transport close"      // the client went away or sent close
	ReasonTransportError   Reason = "transport error"      // a read or write failed
	ReasonPingTimeout      Reason = "ping timeout"         // no pong (v4) or ping (v3) in time
	ReasonParseError       Reason = "parse error"          // the client sent a malformed packet
	ReasonForcedClose      Reason = "forced close"         // the application closed the session
	ReasonServerShutdown   Reason = "server shutting down" // Server.Close
	ReasonSlow             Reason = "slow"                 // the outbound queue passed its bound
	ReasonPayloadTooLarge  Reason = "payload too large"    // a message or body passed MaxPayload
	ReasonPollingConflict  Reason = "polling conflict"     // two GETs were held at once
	ReasonUpgradeCompleted Reason = "upgrade"              // internal: the polling side was replaced
)

// Errors returned by Session.Send.
var (
	ErrClosed          = errors.New("engine: session closed")
	ErrSlowConsumer    = errors.New("engine: slow consumer, queue full")
	ErrMessageTooLarge = errors.New("engine: message larger than MaxQueueBytes")
)
