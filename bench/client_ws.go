package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

var (
	// Client frames are masked; one key for all of them is allowed.
	wsPongFrame = appendClientFrame(nil, opText, []byte("3"))
)

// peekLen is how much of a frame larger than the read buffer a client
// waits for before it handles the frame: enough for an event's prefix.
const peekLen = 256

// wsClient is a Socket.IO client on a websocket. It reads frames in place
// from one buffer: buf[r:w] holds what is read and not yet handled.
type wsClient struct {
	client
	rs   *runState
	conn net.Conn
	buf  []byte
	r, w int
	skip int64 // bytes of a frame larger than buf still to discard
	// detached is set once a reactor owns the socket: fd, not conn.
	detached bool
	fd       int
	// wmu serialises writes: the reader's pongs and, in an inbound or
	// ack run, the sender's events.
	wmu sync.Mutex
}

// dialWS opens a websocket to the server and joins the root namespace.
func dialWS(ctx context.Context, rs *runState, i int) (*wsClient, error) {
	d := ws.Dialer{NetDial: rs.dialer.netDial(i)}
	conn, br, _, err := d.Dial(ctx, rs.wsURL)
	if err != nil {
		return nil, err
	}
	c := &wsClient{rs: rs, conn: conn, buf: make([]byte, rs.cfg.ReadBuffer)}
	c.setUp(rs, i)
	if br != nil {
		// The open packet may have come with the handshake's answer.
		early, _ := br.Peek(br.Buffered())
		c.w = copy(c.buf, early)
		ws.PutReader(br)
	}
	if err := c.join(ctx, rs, i); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// join reads the open packet, sends client i's CONNECT and waits for its
// answer.
func (c *wsClient) join(ctx context.Context, rs *runState, i int) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	}
	defer func() { _ = c.conn.SetDeadline(time.Time{}) }()
	op, p, err := c.readWhole()
	if err != nil {
		return fmt.Errorf("reading the open packet: %w", err)
	}
	if op != opText || !bytes.HasPrefix(p, []byte("0{")) {
		return fmt.Errorf("%w: the open packet is %q", ErrProtocol, trim(p))
	}
	connect, err := rs.connectPacket(i)
	if err != nil {
		return err
	}
	if _, err := c.conn.Write(appendClientFrame(nil, opText, []byte(connect))); err != nil {
		return err
	}
	for {
		op, p, err := c.readWhole()
		if err != nil {
			return fmt.Errorf("waiting for the CONNECT answer: %w", err)
		}
		if op != opText {
			continue
		}
		switch c.packet(p, 0, rs.prefix) {
		case packetConnect:
			return nil
		case packetConnectError:
			return fmt.Errorf("%w: the server refused to connect: %q", ErrProtocol, trim(p))
		case packetClose:
			return fmt.Errorf("%w: the server closed the session while connecting", ErrProtocol)
		case packetPing:
			if _, err := c.conn.Write(wsPongFrame); err != nil {
				return err
			}
		}
	}
}

// readWhole returns the next data frame whole (handshake only: the frame
// must fit the buffer). It answers websocket pings.
func (c *wsClient) readWhole() (byte, []byte, error) {
	for {
		h, hn, err := parseFrameHeader(c.buf[c.r:c.w])
		if err != nil {
			return 0, nil, err
		}
		if hn > 0 && int64(c.w-c.r-hn) >= h.length {
			p := c.buf[c.r+hn : c.r+hn+int(h.length)]
			c.r += hn + int(h.length)
			switch h.op {
			case opClose:
				return 0, nil, io.EOF
			case opPing:
				if err := c.writeControl(opPong, p); err != nil {
					return 0, nil, err
				}
				continue
			case opPong:
				continue
			}
			return h.op, p, nil
		}
		if hn > 0 && int64(hn)+h.length > int64(len(c.buf)) {
			return 0, nil, fmt.Errorf("%w: a %d-byte handshake frame", ErrProtocol, h.length)
		}
		if err := c.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// fill moves the unhandled bytes to the front and reads more after them.
func (c *wsClient) fill() error {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	n, err := c.conn.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	return err
}

func (c *wsClient) writeControl(op byte, p []byte) error {
	return c.write(appendClientFrame(nil, op, p))
}

// write writes to the server, on the socket the client's reader owns.
func (c *wsClient) write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.detached {
		return c.writeFD(p)
	}
	_, err := c.conn.Write(p)
	return err
}

// run reads until the connection ends: it counts the run's events and
// answers pings. It allocates nothing per frame.
func (c *wsClient) run() {
	defer c.ended.Store(true)
	rs := c.rs
	now := rs.now()
	for {
		if err := c.handleBuffered(rs, now); err != nil {
			c.err = err
			return
		}
		if err := c.fill(); err != nil {
			c.err = err
			return
		}
		now = rs.now()
	}
}

// handleBuffered handles every frame buf holds, and the first bytes of a
// frame too large for buf, which it then skips.
func (c *wsClient) handleBuffered(rs *runState, now int64) error {
	for {
		if c.skip > 0 {
			k := min(c.skip, int64(c.w-c.r))
			c.r += int(k)
			c.skip -= k
			if c.skip > 0 {
				return nil
			}
		}
		h, hn, err := parseFrameHeader(c.buf[c.r:c.w])
		if err != nil || hn == 0 {
			return err
		}
		avail := int64(c.w - c.r - hn)
		var p []byte
		switch {
		case h.length <= avail:
			p = c.buf[c.r+hn : c.r+hn+int(h.length)]
			c.r += hn + int(h.length)
		case int64(hn)+h.length <= int64(len(c.buf)) || avail < min(h.length, peekLen):
			return nil // read the rest first
		default:
			p = c.buf[c.r+hn : c.w]
			c.skip = h.length - avail
			c.r = c.w
		}
		switch h.op {
		case opText:
			switch c.packet(p, now, rs.prefix) {
			case packetPing:
				if err := c.write(wsPongFrame); err != nil {
					return err
				}
			case packetClose:
				return errServerClosed
			}
		case opPing:
			if err := c.writeControl(opPong, p); err != nil {
				return err
			}
		case opClose:
			return errServerClosed
		}
	}
}

// close ends the connection; run then returns. A reactor closes the
// sockets it owns itself.
func (c *wsClient) close() error {
	if c.detached {
		return nil
	}
	return c.conn.Close()
}

var (
	// ErrProtocol is a server that does not speak Socket.IO as a client
	// expects.
	ErrProtocol = errors.New("bench: unexpected socket.io protocol")
	// errServerClosed ends a client whose server closed its session.
	errServerClosed = errors.New("bench: the server closed the session")
)
