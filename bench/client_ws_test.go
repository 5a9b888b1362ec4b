package bench

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestWSClientReadsFramesInAnyChunking feeds one client a stream of frames
// cut at random places: frames smaller than its buffer, larger ones it
// must skip after their prefix, pings of both protocols and a duplicate.
func TestWSClientReadsFramesInAnyChunking(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		r := rand.New(rand.NewPCG(seed, 0))
		const messages = 100
		rs := &runState{cfg: Config{ReadBuffer: minReadBuffer, Messages: messages}, start: time.Now(), run: 5}
		rs.prefix = eventPrefix("ev", rs.run)

		var stream bytes.Buffer
		write := func(op ws.OpCode, p []byte) {
			_ = ws.WriteFrame(&stream, ws.NewFrame(op, true, p))
		}
		for seq := range uint64(messages) {
			size := []int{64, 900, 1500, 5000}[r.IntN(4)]
			write(ws.OpText, frame("ev", appendMessage(nil, rs.run, seq, 0, size)))
			if seq%10 == 0 {
				write(ws.OpText, []byte("2")) // Engine.IO ping
			}
			if seq == 50 {
				write(ws.OpText, frame("ev", appendMessage(nil, rs.run, seq, 0, 64)))
				write(ws.OpPing, []byte("hi"))
				write(ws.OpText, frame("other", appendMessage(nil, rs.run, seq, 0, 64)))
			}
		}
		write(ws.OpClose, nil)

		server, clientConn := net.Pipe()
		c := &wsClient{rs: rs, conn: clientConn, buf: make([]byte, rs.cfg.ReadBuffer)}
		c.seq = newSeqTracker(messages)
		var wg sync.WaitGroup
		var sent bytes.Buffer // what the client wrote back
		wg.Go(func() { _, _ = io.Copy(&sent, server) })
		wg.Go(c.run)
		b := stream.Bytes()
		for len(b) > 0 {
			n := min(len(b), 1+r.IntN(1200))
			if _, err := server.Write(b[:n]); err != nil {
				t.Fatalf("seed %d: writing: %v", seed, err)
			}
			b = b[n:]
		}
		waitFor(t, c.ended.Load)
		_ = server.Close()
		wg.Wait()

		if !errors.Is(c.err, errServerClosed) {
			t.Errorf("seed %d: the client ended with %v, want the server's close", seed, c.err)
		}
		if c.frames != messages+1 || c.seq.distinct != messages || c.seq.dups != 1 || c.foreign != 1 || c.got.Load() != messages {
			t.Errorf("seed %d: frames %d distinct %d dups %d foreign %d got %d", seed, c.frames, c.seq.distinct, c.seq.dups, c.foreign, c.got.Load())
		}
		pongs, wsPongs := countClientFrames(t, sent.Bytes())
		if pongs != messages/10 || wsPongs != 1 {
			t.Errorf("seed %d: %d Engine.IO pongs and %d websocket pongs, want %d and 1", seed, pongs, wsPongs, messages/10)
		}
	}
}

// countClientFrames counts the Engine.IO pongs ("3") and websocket pongs
// in what a client wrote.
func countClientFrames(t *testing.T, b []byte) (pongs, wsPongs int) {
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatalf("the client wrote a bad frame: %v", err)
		}
		f = ws.UnmaskFrameInPlace(f)
		switch {
		case f.Header.OpCode == ws.OpText && string(f.Payload) == "3":
			pongs++
		case f.Header.OpCode == ws.OpPong && string(f.Payload) == "hi":
			wsPongs++
		default:
			t.Errorf("the client wrote %v %q", f.Header.OpCode, f.Payload)
		}
	}
	return pongs, wsPongs
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
