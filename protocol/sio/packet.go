package sio

import (
	"errors"
	"fmt"
	"strconv"
)

// Type is a Socket.IO packet type, one ASCII digit on the wire.
type Type byte

// The Socket.IO v5 packet types.
const (
	Connect      Type = 0
	Disconnect   Type = 1
	Event        Type = 2
	Ack          Type = 3
	ConnectError Type = 4
	BinaryEvent  Type = 5
	BinaryAck    Type = 6
)

// String returns the packet type's protocol name.
func (t Type) String() string {
	switch t {
	case Connect:
		return "CONNECT"
	case Disconnect:
		return "DISCONNECT"
	case Event:
		return "EVENT"
	case Ack:
		return "ACK"
	case ConnectError:
		return "CONNECT_ERROR"
	case BinaryEvent:
		return "BINARY_EVENT"
	case BinaryAck:
		return "BINARY_ACK"
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// IsBinary reports whether packets of type t are followed by binary
// attachments.
func (t Type) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// NoID marks a packet that carries no acknowledgement id.
const NoID int64 = -1

// MaxID is the largest acknowledgement id accepted: the largest integer a
// JavaScript number holds exactly (2^53-1).
const MaxID int64 = 1<<53 - 1

// DefaultMaxAttachments bounds the attachments one packet may announce:
// socket.io-parser's default maxAttachments.
const DefaultMaxAttachments = 10

// Packet is one Socket.IO packet: the text part of an Engine.IO message.
// Data is the raw JSON payload (nil when absent) and aliases the decoded
// input; binary placeholders inside it stay as they came.
type Packet struct {
	Type        Type
	Namespace   string // "/" when the packet names none
	ID          int64  // acknowledgement id, or NoID
	Attachments int    // binary attachments that follow (binary types only)
	Data        []byte
	// Elems are the top-level elements of an EVENT or ACK payload, as
	// subslices of Data, set by Decode (which had to split them to check
	// them). For an EVENT, Elems[0] is the event name.
	Elems [][]byte
}

// Decoder errors; each is wrapped with detail.
var (
	ErrEmpty          = errors.New("sio: empty packet")
	ErrUnknownType    = errors.New("sio: unknown packet type")
	ErrBadAttachments = errors.New("sio: bad attachment count")
	ErrBadID          = errors.New("sio: bad acknowledgement id")
	ErrBadPayload     = errors.New("sio: payload not allowed for packet type")
)

// Decoder turns the text of a Socket.IO packet into a Packet. The zero value
// is ready to use with DefaultMaxAttachments.
type Decoder struct {
	// MaxAttachments bounds the attachment count a binary packet may
	// announce. Zero means DefaultMaxAttachments.
	MaxAttachments int
	// V4 accepts the socket.io v2 (protocol v4) forms: ERROR packets with
	// a string payload and namespaces with a query string.
	V4 bool
}

// Decode parses b. It checks the payload's JSON and its shape for the type:
// CONNECT takes an object or nothing, DISCONNECT nothing, EVENT a non-empty
// array led by an event name (or an id number), ACK an array,
// CONNECT_ERROR an object or string.
func (d Decoder) Decode(b []byte) (Packet, error) {
	p := Packet{Namespace: "/", ID: NoID}
	if len(b) == 0 {
		return p, ErrEmpty
	}
	if b[0] < '0' || b[0] > '6' {
		return p, fmt.Errorf("%w: %q", ErrUnknownType, b[0])
	}
	p.Type = Type(b[0] - '0')
	i := 1
	if p.Type.IsBinary() {
		j := digits(b, i)
		if j == i || j >= len(b) || b[j] != '-' || j-i > 4 {
			return p, fmt.Errorf("%w: want digits and '-'", ErrBadAttachments)
		}
		n, _ := strconv.Atoi(string(b[i:j]))
		max := d.MaxAttachments
		if max == 0 {
			max = DefaultMaxAttachments
		}
		if n > max {
			return p, fmt.Errorf("%w: %d announced, at most %d", ErrBadAttachments, n, max)
		}
		p.Attachments = n
		i = j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := i
		for j < len(b) && b[j] != ',' {
			j++
		}
		p.Namespace = string(b[i:j])
		if j < len(b) {
			j++ // the comma
		}
		i = j
	}
	if j := digits(b, i); j > i {
		if j-i > 16 {
			return p, fmt.Errorf("%w: too many digits", ErrBadID)
		}
		id, _ := strconv.ParseInt(string(b[i:j]), 10, 64)
		if id > MaxID {
			return p, fmt.Errorf("%w: %d is above 2^53-1", ErrBadID, id)
		}
		p.ID = id
		i = j
	}
	if i < len(b) {
		p.Data = b[i:]
	}
	return p, d.check(&p)
}

func (d Decoder) check(p *Packet) error {
	kind := jsonKind(p.Data)
	switch p.Type {
	case Event, BinaryEvent, Ack, BinaryAck:
		if kind != '[' {
			if err := ValidJSON(p.Data); p.Data != nil && err != nil {
				return err
			}
			return fmt.Errorf("%w: %s takes an array", ErrBadPayload, p.Type)
		}
		// SplitArray validates the JSON as it splits: one pass.
		elems, err := SplitArray(p.Data)
		if err != nil {
			return err
		}
		p.Elems = elems
		if p.Type.IsBinary() {
			// socket.io closes the connection on a placeholder that names
			// no attachment ("illegal attachments"); see placeholder.go.
			if err := CheckPlaceholders(p.Data, p.Attachments); err != nil {
				return err
			}
		}
	default:
		if p.Data != nil {
			if err := ValidJSON(p.Data); err != nil {
				return err
			}
		}
	}
	switch p.Type {
	case Connect:
		if kind != 0 && kind != '{' {
			return fmt.Errorf("%w: CONNECT takes an object", ErrBadPayload)
		}
	case Disconnect:
		if kind != 0 {
			return fmt.Errorf("%w: DISCONNECT takes none", ErrBadPayload)
		}
	case Event, BinaryEvent:
		if len(p.Elems) == 0 {
			return fmt.Errorf("%w: EVENT without a name", ErrBadPayload)
		}
		switch jsonKind(p.Elems[0]) {
		case '"':
			name, err := unquote(p.Elems[0])
			if err != nil {
				return err
			}
			if IsReserved(name) {
				return fmt.Errorf("%w: %q is a reserved event name", ErrBadPayload, name)
			}
		case '0':
		default:
			return fmt.Errorf("%w: event name must be a string", ErrBadPayload)
		}
	case Ack, BinaryAck:
		if p.ID == NoID {
			return fmt.Errorf("%w: ACK without an id", ErrBadID)
		}
	case ConnectError:
		if kind != '{' && !(d.V4 && kind == '"') {
			return fmt.Errorf("%w: CONNECT_ERROR takes an object", ErrBadPayload)
		}
	}
	return nil
}

// reserved are the event names socket.io keeps for itself; a client may not
// emit them.
var reserved = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// IsReserved reports whether name is an event name socket.io reserves.
func IsReserved(name string) bool {
	for _, r := range reserved {
		if name == r {
			return true
		}
	}
	return false
}

// AppendHeader appends the packet's text up to its payload: type,
// attachment count, namespace and id. Append p.Data (or a payload built in
// place) after it.
func AppendHeader(dst []byte, p Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.IsBinary() {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return dst
}
