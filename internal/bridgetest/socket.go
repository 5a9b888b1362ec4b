package bridgetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Socket is a raw Socket.IO v5 client on one websocket (gobwas/ws), with no
// client library: it sends and reads Engine.IO text packets itself and
// answers the server's pings while it reads. It costs a connection and a
// little buffer, so a test can open thousands. Reads happen on one
// goroutine at a time; Send may be called from any.
type Socket struct {
	conn net.Conn
	rw   io.ReadWriter
	wmu  *sync.Mutex
	// ID is the socket id the server's CONNECT answer named.
	ID    string
	pings atomic.Int64
}

// Pings returns how many of the server's pings Next has answered.
func (s *Socket) Pings() int64 { return s.pings.Load() }

// Closed is what Next returns once the server sent its close frame: the
// status code and the reason text it carried.
type Closed struct {
	Code   ws.StatusCode
	Reason string
}

func (c *Closed) Error() string {
	return fmt.Sprintf("websocket closed by the server: %d %q", c.Code, c.Reason)
}

// DialSocket connects to the socket.io endpoint at base (http://host:port),
// path /socket.io/, over websocket, and joins the main namespace.
func DialSocket(ctx context.Context, base string) (*Socket, error) {
	return DialSocketPath(ctx, base, "/socket.io/")
}

// DialSocketPath is DialSocket on another socket.io path.
func DialSocketPath(ctx context.Context, base, path string) (*Socket, error) {
	s, err := DialEngine(ctx, base, path)
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	if err := s.Send("40"); err != nil {
		s.Close()
		return nil, err
	}
	p, err := s.Next(time.Until(deadline))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("bridgetest: waiting for the CONNECT answer: %w", err)
	}
	var ok40 struct{ SID string }
	js, found := strings.CutPrefix(p, "40")
	if !found || json.Unmarshal([]byte(js), &ok40) != nil || ok40.SID == "" {
		s.Close()
		return nil, fmt.Errorf("bridgetest: CONNECT answered %q, want 40{\"sid\":...}", p)
	}
	s.ID = ok40.SID
	return s, nil
}

// DialEngine opens the websocket and reads the Engine.IO open packet, but
// joins no namespace.
func DialEngine(ctx context.Context, base, path string) (*Socket, error) {
	url := "ws" + strings.TrimPrefix(base, "http") + path + "?EIO=4&transport=websocket"
	conn, br, _, err := ws.Dialer{}.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("bridgetest: websocket to %s: %w", url, err)
	}
	var r io.Reader = conn
	if br != nil {
		r = br // it reads on from conn once its buffer is spent
	}
	mu := &sync.Mutex{}
	s := &Socket{conn: conn, wmu: mu, rw: struct {
		io.Reader
		io.Writer
	}{r, lockedWriter{mu, conn}}}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	open, err := s.next(time.Until(deadline))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("bridgetest: waiting for the open packet: %w", err)
	}
	if !strings.HasPrefix(open, "0{") {
		s.Close()
		return nil, fmt.Errorf("bridgetest: first packet %q, want the open packet 0{...}", open)
	}
	return s, nil
}

// Send sends one Engine.IO text packet ("40", "42[...]", "3").
func (s *Socket) Send(packet string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteFrame(s.conn, ws.MaskFrame(ws.NewTextFrame([]byte(packet)))); err != nil {
		return fmt.Errorf("bridgetest: sending %q: %w", packet, err)
	}
	return nil
}

// SendFrame writes raw bytes to the connection, for frames a well-behaved
// client never sends.
func (s *Socket) SendFrame(raw []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := s.conn.Write(raw)
	return err
}

// Next returns the next Engine.IO packet other than a ping (which it
// answers), as text; a binary message is returned as "binary:" and its
// bytes. Once the server has closed the websocket it returns a *Closed;
// past within, a timeout error.
func (s *Socket) Next(within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for {
		p, err := s.next(time.Until(deadline))
		if err != nil {
			return "", err
		}
		if p == "2" {
			if err := s.Send("3"); err != nil {
				return "", err
			}
			s.pings.Add(1)
			continue
		}
		return p, nil
	}
}

// next reads one data message. It reads the frames itself: a client
// library answers a close frame, and when that answer fails (the server
// may be gone already after a refusal) reports the failed write instead of
// the close frame and its reason.
func (s *Socket) next(within time.Duration) (string, error) {
	if within <= 0 {
		within = time.Millisecond
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(within))
	var (
		msg []byte
		op  ws.OpCode
	)
	for {
		h, err := ws.ReadHeader(s.rw)
		if err != nil {
			return "", err
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(s.rw, payload); err != nil {
			return "", err
		}
		switch {
		case h.OpCode == ws.OpClose:
			code, reason := ws.ParseCloseFrameData(payload)
			return "", &Closed{Code: code, Reason: reason}
		case h.OpCode == ws.OpPing:
			s.wmu.Lock()
			_ = ws.WriteFrame(s.conn, ws.MaskFrame(ws.NewPongFrame(payload)))
			s.wmu.Unlock()
			continue
		case h.OpCode.IsControl():
			continue
		case h.OpCode != ws.OpContinuation:
			op = h.OpCode
		}
		msg = append(msg, payload...)
		if h.Fin {
			break
		}
	}
	if op == ws.OpBinary {
		return "binary:" + string(msg), nil
	}
	return string(msg), nil
}

// NextEvent skips to the next EVENT packet of the main namespace and
// returns its name and arguments.
func (s *Socket) NextEvent(within time.Duration) (string, []json.RawMessage, error) {
	deadline := time.Now().Add(within)
	for {
		p, err := s.Next(time.Until(deadline))
		if err != nil {
			return "", nil, err
		}
		if name, args, ok := ParseEvent(p); ok {
			return name, args, nil
		}
	}
}

// ParseEvent reads an EVENT packet of the main namespace, 42["name",...].
func ParseEvent(p string) (string, []json.RawMessage, bool) {
	js, ok := strings.CutPrefix(p, "42")
	if !ok {
		return "", nil, false
	}
	var elems []json.RawMessage
	if json.Unmarshal([]byte(js), &elems) != nil || len(elems) == 0 {
		return "", nil, false
	}
	var name string
	if json.Unmarshal(elems[0], &name) != nil {
		return "", nil, false
	}
	return name, elems[1:], true
}

// Close closes the connection at once, without a close frame.
func (s *Socket) Close() { _ = s.conn.Close() }

// CloseGracefully sends a websocket close frame, then closes.
func (s *Socket) CloseGracefully() {
	s.wmu.Lock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = ws.WriteFrame(s.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	s.wmu.Unlock()
	_ = s.conn.Close()
}

// IsTimeout reports whether err is a read that ran out of time.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
