package engine_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natsock/natsock/protocol/engine"
)

// dialEngineWS opens a websocket session on url and reads its open packet.
func dialEngineWS(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatalf("reading the open packet: %v", err)
	}
	open := make([]byte, h.Length)
	if _, err := io.ReadFull(br, open); err != nil || h.OpCode != ws.OpText || !strings.HasPrefix(string(open), "0{") {
		t.Fatalf("first frame: %v %q (%v), want the open packet", h.OpCode, open, err)
	}
	return conn, br
}

// writeMaskedFrame writes one client frame whose header declares length
// and whose payload, if given, follows.
func writeMaskedFrame(conn net.Conn, fin bool, op ws.OpCode, length int64, payload []byte) error {
	mask := [4]byte{0x11, 0x22, 0x33, 0x44}
	if err := ws.WriteHeader(conn, ws.Header{Fin: fin, OpCode: op, Length: length, Masked: true, Mask: mask}); err != nil {
		return err
	}
	p := append([]byte(nil), payload...)
	ws.Cipher(p, mask, 0)
	_, err := conn.Write(p)
	return err
}

// readCloseCode reads frames until a close frame and returns its status
// code. It fails the test if the connection ends, or nothing comes within
// the wait, without one.
func readCloseCode(t *testing.T, conn net.Conn, br *bufio.Reader, wait time.Duration) ws.StatusCode {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			t.Fatalf("no close frame within %v: %v", wait, err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			return code
		}
	}
}

// A message sent in fragments is bounded by MaxPayload as a whole, whatever
// lengths its continuation frames declare: one that declares 2^63-1 bytes
// must not wrap the bound check around (and let the server buffer the
// stream without end). The server closes with 1009 (message too big).
func TestAFragmentedMessagePastMaxPayloadIsClosedWith1009(t *testing.T) {
	t.Parallel()
	const max = 64 << 10
	for _, tc := range []struct {
		name string
		// continuation writes the frames after the first fragment; the
		// returned error is ignored (the server may close mid-stream).
		continuation func(conn net.Conn) error
	}{
		{"continuation frames of 16 KiB each add up past the bound", func(conn net.Conn) error {
			chunk := make([]byte, 16<<10)
			for range 2 * max / len(chunk) {
				if err := writeMaskedFrame(conn, false, ws.OpContinuation, int64(len(chunk)), chunk); err != nil {
					return err
				}
			}
			return writeMaskedFrame(conn, true, ws.OpContinuation, 1, []byte("x"))
		}},
		{"a continuation frame declaring 2^63-1 bytes, then a 4 MiB stream", func(conn net.Conn) error {
			if err := writeMaskedFrame(conn, true, ws.OpContinuation, 1<<63-1, nil); err != nil {
				return err
			}
			chunk := make([]byte, 64<<10)
			for range 64 {
				if _, err := conn.Write(chunk); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, rec, url := startServer(t, engine.Config{MaxPayload: max})
			conn, br := dialEngineWS(t, url)
			waitOpened(t, rec)
			if err := writeMaskedFrame(conn, false, ws.OpText, 4, []byte("4abc")); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				_ = tc.continuation(conn)
			}()
			if code := readCloseCode(t, conn, br, 10*time.Second); code != ws.StatusMessageTooBig {
				t.Errorf("close code %d, want %d (message too big)", code, ws.StatusMessageTooBig)
			}
			if why := waitClosed(t, rec); why != engine.ReasonPayloadTooLarge {
				t.Errorf("session closed for %q, want %q", why, engine.ReasonPayloadTooLarge)
			}
			conn.Close()
			<-done
		})
	}
}
