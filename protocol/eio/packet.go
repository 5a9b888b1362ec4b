package eio

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// Type is an Engine.IO packet type. On the wire it is one ASCII digit.
type Type byte

// The Engine.IO packet types, in wire order.
const (
	Open    Type = 0 // server -> client: the handshake
	Close   Type = 1 // either side: close the session
	Ping    Type = 2 // heartbeat probe (server -> client in v4, client -> server in v3)
	Pong    Type = 3 // heartbeat answer
	Message Type = 4 // application data
	Upgrade Type = 5 // client -> server: switch to the probed transport
	Noop    Type = 6 // server -> client: release a held polling request
)

// String returns the packet type's protocol name, such as "message".
func (t Type) String() string {
	switch t {
	case Open:
		return "open"
	case Close:
		return "close"
	case Ping:
		return "ping"
	case Pong:
		return "pong"
	case Message:
		return "message"
	case Upgrade:
		return "upgrade"
	case Noop:
		return "noop"
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// Valid reports whether t is one of the seven defined packet types.
func (t Type) Valid() bool { return t <= Noop }

// Packet is one decoded Engine.IO packet. Data aliases the decoded input
// unless the packet was base64 on the wire.
type Packet struct {
	Type   Type
	Data   []byte
	Binary bool // Data is binary: a binary frame, or "b"+base64 on polling
}

// Errors returned by the decoders. Each is wrapped with the position or
// detail that caused it; test with errors.Is.
var (
	ErrEmptyPacket   = errors.New("eio: empty packet")
	ErrUnknownType   = errors.New("eio: unknown packet type")
	ErrBadBase64     = errors.New("eio: invalid base64 in binary packet")
	ErrBadPayload    = errors.New("eio: malformed polling payload")
	ErrBinaryControl = errors.New("eio: binary data in a control packet")
)

// DecodeText decodes a packet sent as text: a websocket text frame or one
// record of a polling payload. "b" followed by base64 is a binary message.
// The returned Data aliases b except for base64 packets.
func DecodeText(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrEmptyPacket
	}
	if b[0] == 'b' {
		data, err := decodeBase64(b[1:])
		if err != nil {
			return Packet{}, err
		}
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	t := Type(b[0] - '0')
	if b[0] < '0' || !t.Valid() {
		return Packet{}, fmt.Errorf("%w: %q", ErrUnknownType, b[0])
	}
	return Packet{Type: t, Data: b[1:]}, nil
}

// DecodeBinaryV3 decodes an Engine.IO v3 binary websocket frame, whose first
// byte is the packet type (0x04 for a message).
func DecodeBinaryV3(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrEmptyPacket
	}
	t := Type(b[0])
	if !t.Valid() {
		return Packet{}, fmt.Errorf("%w: byte %d", ErrUnknownType, b[0])
	}
	if t != Message {
		return Packet{}, fmt.Errorf("%w: %s", ErrBinaryControl, t)
	}
	return Packet{Type: t, Data: b[1:], Binary: true}, nil
}

// AppendText appends p in its text form: the type digit and the data, or
// "b" and the base64 of the data for a binary message (Engine.IO v4).
func AppendText(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// TextLen is the length of AppendText's output for p.
func TextLen(p Packet) int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

func decodeBase64(b []byte) ([]byte, error) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBase64, err)
	}
	return out[:n], nil
}
