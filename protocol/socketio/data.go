package socketio

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/sio"
)

// Data is the arguments of an event or an acknowledgement as they travel:
// each argument is raw JSON (valid UTF-8: it travels in text frames), and binary values stand in it as placeholders
// ({"_placeholder":true,"num":N}) that name Attachments[N]. Keeping the
// JSON raw lets a server pass arguments on byte for byte.
type Data struct {
	Args        []json.RawMessage
	Attachments [][]byte
}

// Args builds Data from Go values: a json.RawMessage is used as it is (it
// must be valid JSON), a []byte becomes a binary attachment, anything else
// is marshalled with encoding/json.
func Args(values ...any) (Data, error) {
	var d Data
	d.Args = make([]json.RawMessage, 0, len(values))
	for i, v := range values {
		switch v := v.(type) {
		case json.RawMessage:
			if err := sio.ValidJSON(v); err != nil {
				return Data{}, fmt.Errorf("socketio: argument %d: %w", i, err)
			}
			if !utf8.Valid(v) {
				return Data{}, fmt.Errorf("socketio: argument %d: JSON is not valid UTF-8", i)
			}
			d.Args = append(d.Args, v)
		case []byte:
			d.Args = append(d.Args, sio.Placeholder(len(d.Attachments)))
			d.Attachments = append(d.Attachments, v)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return Data{}, fmt.Errorf("socketio: argument %d: %w", i, err)
			}
			d.Args = append(d.Args, b)
		}
	}
	return d, nil
}

// Binary returns argument i's bytes if it is exactly a binary placeholder.
func (d Data) Binary(i int) ([]byte, bool) {
	if i < 0 || i >= len(d.Args) {
		return nil, false
	}
	n, ok := sio.PlaceholderNum(d.Args[i])
	if !ok || n >= len(d.Attachments) {
		return nil, false
	}
	return d.Attachments[n], true
}

// packetSpec is what encode needs to build one Socket.IO packet.
type packetSpec struct {
	typ       sio.Type // Event or Ack; the binary variant is chosen here
	namespace string
	id        int64
	event     string // Event only
	hasEvent  bool
}

// encode builds the Engine.IO message for one packet: its text and its
// attachments, encoded once for every recipient.
func encode(p packetSpec, d Data) *engine.Message {
	h := sio.Packet{Type: p.typ, Namespace: p.namespace, ID: p.id}
	if n := len(d.Attachments); n > 0 {
		h.Attachments = n
		if p.typ == sio.Event {
			h.Type = sio.BinaryEvent
		} else {
			h.Type = sio.BinaryAck
		}
	}
	size := 16 + len(p.namespace) + len(p.event)
	for _, a := range d.Args {
		size += len(a) + 1
	}
	text := sio.AppendHeader(make([]byte, 0, size), h)
	args := make([][]byte, len(d.Args))
	for i, a := range d.Args {
		args[i] = a
	}
	if p.hasEvent {
		text = sio.AppendEventData(text, p.event, args...)
	} else {
		text = sio.AppendArray(text, args...)
	}
	if len(d.Attachments) == 0 {
		return engine.NewTextMessage(text)
	}
	parts := make([]engine.Part, 0, 1+len(d.Attachments))
	parts = append(parts, engine.Part{Data: text})
	for _, a := range d.Attachments {
		parts = append(parts, engine.Part{Data: a, Binary: true})
	}
	return engine.NewMessage(parts...)
}

// encodeControl builds a CONNECT, DISCONNECT or CONNECT_ERROR packet.
func encodeControl(t sio.Type, namespace string, payload []byte) *engine.Message {
	text := sio.AppendHeader(nil, sio.Packet{Type: t, Namespace: namespace, ID: sio.NoID})
	return engine.NewTextMessage(append(text, payload...))
}
