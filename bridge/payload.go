package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/natsock/natsock/protocol/sio"
	"github.com/natsock/natsock/protocol/socketio"
)

// PayloadKind is how a NATS payload reaches socket.io clients.
type PayloadKind int

// The payload kinds, in the order they are tried.
const (
	PayloadJSON   PayloadKind = iota // a JSON value, passed through byte for byte
	PayloadString                    // UTF-8 text that is not JSON: a JSON string
	PayloadBinary                    // anything else: a binary attachment
)

func (k PayloadKind) String() string {
	switch k {
	case PayloadJSON:
		return "json"
	case PayloadString:
		return "string"
	}
	return "binary"
}

// DecodePayload turns a NATS message body into the one argument of a
// socket.io event. A UTF-8 body that is one JSON value (objects, arrays,
// numbers, strings, true, false, null; nested at most sio.MaxDepth) passes
// through raw, so a large integer keeps every digit. Other UTF-8 text (the
// empty body included) becomes a JSON string. Anything else, JSON-shaped
// bytes with invalid UTF-8 inside a string included, becomes binary: an
// ArrayBuffer in a browser, a Buffer in node.
func DecodePayload(body []byte) (socketio.Data, PayloadKind) {
	// JSON text is UTF-8 (RFC 8259 section 8.1), and the argument travels in
	// a websocket text frame, which a client closes on invalid UTF-8;
	// sio.ValidJSON checks the syntax only.
	if !utf8.Valid(body) {
		return socketio.Data{
			Args:        []json.RawMessage{sio.Placeholder(0)},
			Attachments: [][]byte{body},
		}, PayloadBinary
	}
	if len(body) > 0 && sio.ValidJSON(body) == nil {
		return socketio.Data{Args: []json.RawMessage{bytes.TrimSpace(body)}}, PayloadJSON
	}
	return socketio.Data{Args: []json.RawMessage{sio.AppendQuote(nil, string(body))}}, PayloadString
}

// EncodeArgs turns a client event's arguments into a NATS message body: no
// argument is an empty body; one argument is that value as JSON, or its raw
// bytes when it is binary; several are a JSON array. Binary values nested
// inside JSON (or among several arguments) become base64 strings.
func EncodeArgs(d socketio.Data) ([]byte, error) {
	switch len(d.Args) {
	case 0:
		return nil, nil
	case 1:
		if len(d.Attachments) == 0 {
			return d.Args[0], nil // no placeholder to read or fill
		}
		if b, ok := d.Binary(0); ok {
			return b, nil
		}
		return inlineBinary(d.Args[0], d.Attachments)
	}
	out := []byte{'['}
	for i, a := range d.Args {
		if i > 0 {
			out = append(out, ',')
		}
		v, err := inlineBinary(a, d.Attachments)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return append(out, ']'), nil
}

// inlineBinary replaces binary placeholders in arg with the base64 of their
// attachment, keeping every other byte; which objects are placeholders, and
// what they may name, is sio's one rule (sio.AppendPlaceholders). Without
// attachments arg is returned unchanged: socket.io reads placeholders only
// in binary packets.
func inlineBinary(arg json.RawMessage, attachments [][]byte) ([]byte, error) {
	if len(attachments) == 0 {
		return arg, nil
	}
	out, err := sio.AppendPlaceholders(nil, arg, len(attachments), func(dst []byte, num int) []byte {
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, attachments[num])
		return append(dst, '"')
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: argument: %w", err)
	}
	return out, nil
}
