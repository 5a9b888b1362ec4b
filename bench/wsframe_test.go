package bench

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// serverFrame is a frame as a server writes it, from gobwas/ws.
func serverFrame(t testing.TB, h ws.Header) []byte {
	var b bytes.Buffer
	if err := ws.WriteHeader(&b, h); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseFrameHeaderReadsWhatGobwasWrites(t *testing.T) {
	tests := []struct {
		name string
		h    ws.Header
	}{
		{"a short text frame", ws.Header{Fin: true, OpCode: ws.OpText, Length: 3}},
		{"an empty text frame", ws.Header{Fin: true, OpCode: ws.OpText}},
		{"a 125-byte frame, the longest with a 7-bit length", ws.Header{Fin: true, OpCode: ws.OpText, Length: 125}},
		{"a 126-byte frame, the shortest with a 16-bit length", ws.Header{Fin: true, OpCode: ws.OpText, Length: 126}},
		{"a 65535-byte frame", ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 65535}},
		{"a 65536-byte frame has a 64-bit length", ws.Header{Fin: true, OpCode: ws.OpText, Length: 65536}},
		{"a first fragment", ws.Header{OpCode: ws.OpText, Length: 10}},
		{"a continuation", ws.Header{Fin: true, OpCode: ws.OpContinuation, Length: 10}},
		{"a ping", ws.Header{Fin: true, OpCode: ws.OpPing, Length: 4}},
		{"a close", ws.Header{Fin: true, OpCode: ws.OpClose, Length: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := serverFrame(t, tc.h)
			h, n, err := parseFrameHeader(append(b, "payload"...))
			if err != nil || n != len(b) {
				t.Fatalf("parseFrameHeader = %+v, %d, %v; want a %d-byte header", h, n, err, len(b))
			}
			if h.fin != tc.h.Fin || h.op != byte(tc.h.OpCode) || h.length != tc.h.Length {
				t.Errorf("got %+v, want %+v", h, tc.h)
			}
			for i := range len(b) {
				if _, n, err := parseFrameHeader(b[:i]); n != 0 || err != nil {
					t.Fatalf("the first %d bytes: size %d, error %v; want 0 and none (need more)", i, n, err)
				}
			}
		})
	}
}

func TestParseFrameHeaderRefusesWhatAServerMustNotSend(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"a masked frame", []byte{0x81, 0x83, 1, 2, 3, 4}},
		{"an RSV bit without an extension", []byte{0xc1, 0x03}},
		{"a reserved opcode", []byte{0x83, 0x00}},
		{"a fragmented ping", []byte{0x09, 0x00}},
		{"a ping longer than 125 bytes", []byte{0x89, 126, 0, 126}},
		{"a length with the top bit set", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := parseFrameHeader(tc.b); err == nil {
				t.Errorf("parseFrameHeader(% x) accepted it", tc.b)
			}
		})
	}
}

func TestAppendClientFrameIsWhatGobwasReads(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte("ab"), n/2+1)[:n]
		b := appendClientFrame(nil, opText, p)
		r := bytes.NewReader(b)
		h, err := ws.ReadHeader(r)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got := make([]byte, h.Length)
		_, _ = r.Read(got)
		ws.Cipher(got, h.Mask, 0)
		if !h.Fin || !h.Masked || h.OpCode != ws.OpText || !bytes.Equal(got, p) || r.Len() != 0 {
			t.Errorf("%d bytes: header %+v, payload ok %v, %d bytes left", n, h, bytes.Equal(got, p), r.Len())
		}
	}
}

// FuzzParseFrameHeader checks that parseFrameHeader never panics, and that
// every header it accepts is one gobwas/ws reads the same.
func FuzzParseFrameHeader(f *testing.F) {
	f.Add(serverFrame(f, ws.Header{Fin: true, OpCode: ws.OpText, Length: 3}))
	f.Add(serverFrame(f, ws.Header{Fin: true, OpCode: ws.OpText, Length: 300}))
	f.Add(serverFrame(f, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1 << 20}))
	f.Add(serverFrame(f, ws.Header{Fin: true, OpCode: ws.OpClose, Length: 2}))
	f.Add([]byte{0x81, 0x83, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := parseFrameHeader(b)
		if err != nil || n == 0 {
			return
		}
		if n > maxFrameHeader || n > len(b) || h.length < 0 {
			t.Fatalf("parseFrameHeader(% x) = %+v, %d", b, h, n)
		}
		gh, err := ws.ReadHeader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("accepted % x, which gobwas refuses: %v", b, err)
		}
		if gh.Fin != h.fin || byte(gh.OpCode) != h.op || gh.Length != h.length || gh.Masked {
			t.Fatalf("% x: parsed %+v, gobwas reads %+v", b, h, gh)
		}
	})
}
