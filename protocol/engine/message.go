package engine

import (
	"sync"

	"github.com/gobwas/ws"
	"github.com/natsock/natsock/protocol/eio"
)

// Part is one Engine.IO message packet of a Message.
type Part struct {
	Data   []byte
	Binary bool
}

// Message is a unit of delivery: one or more Engine.IO packets that are
// queued, dropped and written together (a Socket.IO packet and its binary
// attachments). A Message is immutable once built and may be sent to any
// number of sessions: each wire encoding is built once, on first use, and
// every recipient on that encoding gets the same bytes.
type Message struct {
	packets []eio.Packet
	raw     []byte // a websocket control frame, when not nil
	size    int    // bytes counted against a session's queue bound

	ws4Once, ws3Once, poll4Once, poll3Once sync.Once
	ws4, ws3, poll4, poll3                 []byte
}

// NewMessage builds a Message of Engine.IO "message" packets. The parts'
// Data must not change afterwards.
func NewMessage(parts ...Part) *Message {
	m := &Message{packets: make([]eio.Packet, len(parts))}
	for i, p := range parts {
		m.packets[i] = eio.Packet{Type: eio.Message, Data: p.Data, Binary: p.Binary}
		m.size += len(p.Data)
	}
	return m
}

// NewTextMessage is NewMessage with one text part.
func NewTextMessage(data []byte) *Message {
	return NewMessage(Part{Data: data})
}

// Size is the number of payload bytes m counts against a queue bound.
func (m *Message) Size() int { return m.size }

// newControl builds a control packet; its size, counted against the queue
// bound, is its encoding's (the type byte and data).
func newControl(t eio.Type, data string) *Message {
	return &Message{packets: []eio.Packet{{Type: t, Data: []byte(data)}}, size: 1 + len(data)}
}

// Control packets shared by every session.
var (
	pingMsg      = newControl(eio.Ping, "")
	pongMsg      = newControl(eio.Pong, "")
	noopMsg      = newControl(eio.Noop, "")
	closeMsg     = newControl(eio.Close, "")
	pongProbeMsg = newControl(eio.Pong, "probe")
)

// rawWSMessage wraps a websocket control frame (a pong to the client's
// ping) so it is written in order with the queue.
// Its size, counted against the queue bound, is the frame's.
func rawWSMessage(frame []byte) *Message { return &Message{raw: frame, size: len(frame)} }

// wsFrames returns m as consecutive websocket frames for protocol v (3 or 4).
func (m *Message) wsFrames(v int) []byte {
	if m.raw != nil {
		return m.raw
	}
	if v == 3 {
		m.ws3Once.Do(func() { m.ws3 = m.encodeWS(3) })
		return m.ws3
	}
	m.ws4Once.Do(func() { m.ws4 = m.encodeWS(4) })
	return m.ws4
}

func (m *Message) encodeWS(v int) []byte {
	n := 0
	for _, p := range m.packets {
		n += ws.MaxHeaderSize + 1 + len(p.Data)
	}
	b := make([]byte, 0, n)
	for _, p := range m.packets {
		if p.Binary {
			plen := len(p.Data)
			if v == 3 {
				plen++ // v3 binary frames lead with the packet type byte
			}
			b = appendFrameHeader(b, ws.OpBinary, plen)
			if v == 3 {
				b = append(b, byte(p.Type))
			}
			b = append(b, p.Data...)
			continue
		}
		b = appendFrameHeader(b, ws.OpText, 1+len(p.Data))
		b = append(b, '0'+byte(p.Type))
		b = append(b, p.Data...)
	}
	return b
}

// pollRecords returns m's packets as polling payload records for protocol v:
// joined by the record separator in v4, length-prefixed in v3.
func (m *Message) pollRecords(v int) []byte {
	if v == 3 {
		m.poll3Once.Do(func() {
			var b []byte
			for _, p := range m.packets {
				b = eio.AppendPayloadRecordV3(b, eio.AppendTextV3(nil, p))
			}
			m.poll3 = b
		})
		return m.poll3
	}
	m.poll4Once.Do(func() {
		n := 0
		for _, p := range m.packets {
			n += eio.TextLen(p) + 1
		}
		b := make([]byte, 0, n)
		for i, p := range m.packets {
			if i > 0 {
				b = append(b, eio.Separator)
			}
			b = eio.AppendText(b, p)
		}
		m.poll4 = b
	})
	return m.poll4
}

// appendFrameHeader appends an unmasked, final websocket frame header. The
// encoding is gobwas/ws's; writing into a slice keeps it allocation-free.
func appendFrameHeader(b []byte, op ws.OpCode, length int) []byte {
	var hb sliceWriter
	hb.b = b
	// ws.WriteHeader only fails when the writer does; ours never does.
	_ = ws.WriteHeader(&hb, ws.Header{Fin: true, OpCode: op, Length: int64(length)})
	return hb.b
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
