package engine

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// FuzzReadMessage feeds arbitrary bytes to the websocket message reader,
// the parser that reads what a client sends on a websocket: it must not
// panic, never return more than MaxPayload bytes, return only UTF-8 text,
// and refuse what it cannot read with an error.
func FuzzReadMessage(f *testing.F) {
	frame := func(fin bool, op ws.OpCode, masked bool, p string) []byte {
		h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(p)), Masked: masked}
		var b bytes.Buffer
		_ = ws.WriteHeader(&b, h)
		return append(b.Bytes(), p...) // a zero mask key leaves p as it is
	}
	f.Add(frame(true, ws.OpText, true, "40"))
	f.Add(frame(true, ws.OpBinary, true, "\x01\x02"))
	f.Add(append(frame(false, ws.OpText, true, "4he"), frame(true, ws.OpContinuation, true, "llo")...))
	f.Add(append(frame(true, ws.OpPing, true, "p"), frame(true, ws.OpText, true, "2")...))
	f.Add(frame(true, ws.OpClose, true, "\x03\xe8"))
	f.Add(frame(true, ws.OpText, false, "40"))
	f.Add(frame(true, ws.OpText, true, "4caf\xe9"))
	f.Add([]byte("\x81\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Add([]byte("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00"))
	f.Add([]byte("\x81\xfe\x00\x02\x00\x00\x00\x0040"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	const max = 1 << 10
	f.Fuzz(func(t *testing.T, in []byte) {
		srv := &Server{cfg: Config{MaxPayload: max}}
		s := &Session{srv: srv, closed: true} // closed: an answered ping queues nothing
		br := bufio.NewReaderSize(bytes.NewReader(in), readBufferSize)
		var hbuf [ws.MaxHeaderSize - 2]byte
		for range 64 {
			op, msg, err := s.readMessage(br, hbuf[:])
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errProtocol) ||
					errors.Is(err, errTooLarge) || errors.Is(err, errClientClose) {
					return
				}
				t.Fatalf("readMessage: an error of no known kind: %v", err)
			}
			if len(msg) > max {
				t.Fatalf("readMessage returned %d bytes, more than MaxPayload %d", len(msg), max)
			}
			if op != ws.OpText && op != ws.OpBinary {
				t.Fatalf("readMessage returned opcode %v", op)
			}
			if op == ws.OpText && !utf8.Valid(msg) {
				t.Fatalf("readMessage returned text that is not UTF-8: %q", msg)
			}
		}
	})
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzReadMessageBound checks the frame reader's memory bound: whatever
// lengths the frames declare (a continuation frame declaring 2^63-1 bytes
// must not wrap the sum around), the reader takes at most MaxPayload bytes
// of payload past what the frames in the input hold. The input is followed
// by an endless stream of zeros (the payload of a frame that declares more
// than the input holds; read as a header, zeros are an unmasked frame the
// reader refuses), so a reader that ignored its bound would read on, up to
// the cap below.
func FuzzReadMessageBound(f *testing.F) {
	frame := func(fin bool, op ws.OpCode, length int64, p string) []byte {
		var b bytes.Buffer
		_ = ws.WriteHeader(&b, ws.Header{Fin: fin, OpCode: op, Length: length, Masked: true})
		return append(b.Bytes(), p...)
	}
	f.Add(frame(true, ws.OpText, 2, "40"))
	f.Add(append(frame(false, ws.OpText, 3, "4he"), frame(true, ws.OpContinuation, 3, "llo")...))
	f.Add(append(frame(false, ws.OpText, 3, "4he"), frame(true, ws.OpContinuation, 1<<63-1, "")...))
	f.Add(append(frame(false, ws.OpText, 3, "4he"), frame(false, ws.OpContinuation, 1<<63-3, "")...))
	f.Add(append(frame(false, ws.OpBinary, 0, ""), frame(true, ws.OpContinuation, 1<<62, "")...))
	f.Add(frame(true, ws.OpText, 1<<63-1, ""))
	f.Add(append(frame(false, ws.OpText, 1, "4"), frame(true, ws.OpPing, 1, "p")...))
	const max = 1 << 10
	// readCap is where the stream of zeros ends: far enough past the bound
	// that a reader ignoring it is caught, near enough to stay quick.
	const readCap = 64 * max
	f.Fuzz(func(t *testing.T, in []byte) {
		srv := &Server{cfg: Config{MaxPayload: max}}
		s := &Session{srv: srv, closed: true} // closed: an answered ping queues nothing
		src := &countingReader{r: io.MultiReader(bytes.NewReader(in), io.LimitReader(zeros{}, readCap))}
		br := bufio.NewReaderSize(src, readBufferSize)
		var hbuf [ws.MaxHeaderSize - 2]byte
		for range 64 {
			_, msg, err := s.readMessage(br, hbuf[:])
			if len(msg) > max {
				t.Fatalf("readMessage returned %d bytes, more than MaxPayload %d", len(msg), max)
			}
			// What the reader consumed past the input is at most one
			// message's payload, a frame header, and the read buffer's
			// look-ahead.
			if past := src.n - int64(len(in)); past > max+ws.MaxHeaderSize+readBufferSize {
				t.Fatalf("readMessage read %d bytes past the input's %d, more than MaxPayload %d allows", past, len(in), max)
			}
			if err != nil {
				return
			}
		}
	})
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
