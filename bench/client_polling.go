package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// pollClient is a Socket.IO client on HTTP long-polling: one keep-alive
// connection for its GETs, one short-lived connection per POST. It parses
// responses in place from one buffer, grown when a body does not fit.
type pollClient struct {
	client
	rs    *runState
	i     int
	mu    sync.Mutex // guards conn against close
	conn  net.Conn
	done  bool // close was called
	buf   []byte
	r, w  int
	get   []byte // the GET request, with the session id
	query string // the path and query, with the session id
}

// dialPolling opens a polling session and joins the root namespace.
func dialPolling(ctx context.Context, rs *runState, i int) (*pollClient, error) {
	c := &pollClient{rs: rs, i: i, buf: make([]byte, rs.cfg.ReadBuffer)}
	c.setUp(rs, i)
	conn, err := rs.dialer.dial(ctx, i)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	if err := c.join(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// join does the handshake GET, POSTs CONNECT and polls for its answer.
func (c *pollClient) join(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	}
	base := c.rs.pollPath
	body, err := c.roundTrip(ctx, []byte("GET "+base+" HTTP/1.1\r\nHost: "+c.rs.host+"\r\n\r\n"))
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if !bytes.HasPrefix(body, []byte("0{")) {
		return fmt.Errorf("%w: the open packet is %q", ErrProtocol, trim(body))
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body[1:], &open); err != nil || open.SID == "" {
		return fmt.Errorf("%w: no session id in the open packet %q", ErrProtocol, trim(body))
	}
	c.query = base + "&sid=" + open.SID
	c.get = []byte("GET " + c.query + " HTTP/1.1\r\nHost: " + c.rs.host + "\r\n\r\n")
	connect, err := c.rs.connectPacket(c.i)
	if err != nil {
		return err
	}
	if err := c.post(ctx, connect); err != nil {
		return fmt.Errorf("sending CONNECT: %w", err)
	}
	for {
		body, err := c.roundTrip(ctx, c.get)
		if err != nil {
			return fmt.Errorf("waiting for the CONNECT answer: %w", err)
		}
		connected, pings := false, 0
		for len(body) > 0 {
			var rec []byte
			rec, body = nextRecord(body)
			switch c.packet(rec, 0, c.rs.prefix) {
			case packetConnect:
				connected = true
			case packetConnectError:
				return fmt.Errorf("%w: the server refused to connect: %q", ErrProtocol, trim(rec))
			case packetClose:
				return fmt.Errorf("%w: the server closed the session while connecting", ErrProtocol)
			case packetPing:
				pings++
			}
		}
		if pings > 0 {
			if err := c.post(ctx, "3"); err != nil {
				return err
			}
		}
		if connected {
			_ = c.conn.SetDeadline(time.Time{})
			return nil
		}
	}
}

// nextRecord splits the first record off an Engine.IO v4 polling payload.
func nextRecord(body []byte) (rec, rest []byte) {
	if i := bytes.IndexByte(body, 0x1e); i >= 0 {
		return body[:i], body[i+1:]
	}
	return body, nil
}

// run polls until the session ends: it counts the run's events and answers
// pings. It allocates nothing per frame.
func (c *pollClient) run() {
	defer c.ended.Store(true)
	ctx := context.Background() // a GET waits as long as the server holds it; close ends it
	for {
		body, err := c.roundTrip(ctx, c.get)
		if err != nil {
			c.err = err
			return
		}
		now := c.rs.now()
		pings := 0
		for len(body) > 0 {
			var rec []byte
			rec, body = nextRecord(body)
			switch c.packet(rec, now, c.rs.prefix) {
			case packetPing:
				pings++
			case packetClose:
				c.err = errServerClosed
				return
			}
		}
		if pings > 0 {
			pctx, cancel := context.WithTimeout(c.rs.closing, 10*time.Second)
			err := c.post(pctx, "3")
			cancel()
			if err != nil {
				c.err = err
				return
			}
		}
	}
}

// roundTrip writes a request on the GET connection and returns the body
// of a 200 answer, which stays valid until the next roundTrip. It
// reconnects first when the server closed the connection after its last
// answer.
func (c *pollClient) roundTrip(ctx context.Context, req []byte) ([]byte, error) {
	if c.conn == nil {
		conn, err := c.rs.dialer.dial(ctx, c.i)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.done {
			c.mu.Unlock()
			_ = conn.Close()
			return nil, net.ErrClosed
		}
		c.conn = conn
		c.mu.Unlock()
	}
	if _, err := c.conn.Write(req); err != nil {
		return nil, err
	}
	head, body, err := readResponse(c.conn, &c.buf, &c.r, &c.w)
	if err != nil {
		return nil, err
	}
	if head.close {
		c.mu.Lock()
		_ = c.conn.Close()
		c.conn = nil
		c.mu.Unlock()
	}
	if head.status != 200 {
		return nil, fmt.Errorf("%w: HTTP %d: %q", ErrProtocol, head.status, trim(body))
	}
	return body, nil
}

// readResponse reads one response from conn into *buf (buf[*r:*w] holds
// bytes read and not yet used) and returns its head and body, in place. It
// grows *buf when the response does not fit.
func readResponse(conn net.Conn, buf *[]byte, r, w *int) (responseHead, []byte, error) {
	for {
		head, hn, err := parseResponseHead((*buf)[*r:*w])
		if err != nil {
			return responseHead{}, nil, err
		}
		if hn > 0 {
			need := hn + head.contentLength
			if *r+need > len(*buf) {
				if need > len(*buf) {
					nb := make([]byte, need+need/4)
					*w = copy(nb, (*buf)[*r:*w])
					*buf = nb
				} else {
					*w = copy(*buf, (*buf)[*r:*w])
				}
				*r = 0
			}
			for *w-*r < need {
				n, err := conn.Read((*buf)[*w:])
				*w += n
				if n == 0 && err != nil {
					return responseHead{}, nil, err
				}
			}
			body := (*buf)[*r+hn : *r+need]
			*r += need
			if *r == *w {
				*r, *w = 0, 0
			}
			return head, body, nil
		}
		if *r > 0 {
			*w = copy(*buf, (*buf)[*r:*w])
			*r = 0
		}
		if *w == len(*buf) {
			nb := make([]byte, 2*len(*buf))
			copy(nb, (*buf)[:*w])
			*buf = nb
		}
		n, err := conn.Read((*buf)[*w:])
		*w += n
		if n == 0 && err != nil {
			return responseHead{}, nil, err
		}
	}
}

// post sends one Engine.IO packet in a POST on a connection of its own,
// as a browser does while its GET is held.
func (c *pollClient) post(ctx context.Context, packet string) error {
	conn, err := c.rs.dialer.dial(ctx, c.i)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	req := "POST " + c.query + " HTTP/1.1\r\nHost: " + c.rs.host +
		"\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: " + strconv.Itoa(len(packet)) +
		"\r\nConnection: close\r\n\r\n" + packet
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	buf := make([]byte, 1024)
	var r, w int
	head, body, err := readResponse(conn, &buf, &r, &w)
	if err != nil {
		return err
	}
	if head.status != 200 {
		return fmt.Errorf("%w: POST answered HTTP %d: %q", ErrProtocol, head.status, trim(body))
	}
	return nil
}

// close ends the session's connections; run then returns.
func (c *pollClient) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}
