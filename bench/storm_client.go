package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// stormClient is a websocket client of a storm run that resumes as
// socket.io-client 4.6+ does: it keeps the pid of its CONNECT answer
// (40{"sid":...,"pid":...}) and the offset every event carries as its last
// string argument, and when its connection ends it connects to the
// failover node with CONNECT auth {"pid":...,"offset":...}. The server
// recovered the session when its answer names the same pid.
type stormClient struct {
	wsClient
	i int

	pid    string
	offset []byte // the last event's offset, a copy

	// When things happened, on the run's clock; written by the client's
	// goroutine, read by the run once it has ended (and, for the progress
	// bar and the summary, through state).
	lostAt      int64 // node A's connection ended
	recoveredAt int64 // node B answered the resume with the same pid
	caughtUpAt  int64 // it then had every message published before it reconnected
	// pubAtResume is how many messages were published when node B
	// answered: the client is caught up once it has that many.
	pubAtResume int64
	recovered   bool // node B restored the session (same pid) at the first resume
	attempts    int  // connection attempts to node B
	resumes     int  // connections node B accepted
	// resumedFrom is the offset of the storm's resume, and seqAtLoss how
	// many messages the client had then: they explain a loss.
	resumedFrom string
	seqAtLoss   uint64
	closedByB   int // connections node B ended before the run did
	state       stormState

	// connMu guards conn's changes (the client's goroutine) against the
	// run closing it (shutdown).
	connMu sync.Mutex
}

// setConn makes conn the client's connection, unless the run is closing
// its clients: then it closes conn and says so.
func (c *stormClient) setConn(conn net.Conn) bool {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.rs.closing.Err() != nil {
		_ = conn.Close()
		return false
	}
	c.conn = conn
	return true
}

// closeConn closes the client's connection: its reads end.
func (c *stormClient) closeConn() {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

// stormState is where a storm client is.
type stormState int32

const (
	stormOnA          stormState = iota // connected to node A
	stormReconnecting                   // A is gone; dialing B
	stormOnB                            // connected to B, recovered or not
	stormFailed                         // gave up: see err
)

// dialStorm opens client i on node A and keeps the pid of its CONNECT
// answer: a storm run needs the server's connection state recovery.
func dialStorm(ctx context.Context, s *stormRun, i int) (*stormClient, error) {
	c := &stormClient{i: i}
	c.rs = s.rs
	c.setUp(s.rs, i)
	c.client.offset = &c.offset
	if err := c.connect(ctx, s.rs.dialer, s.rs.wsURL, nil); err != nil {
		return nil, err
	}
	if c.pid == "" {
		_ = c.conn.Close()
		return nil, fmt.Errorf("%w: node A's CONNECT answer carries no pid: is connection state recovery on (natsock serve --recovery)?", ErrProtocol)
	}
	return c, nil
}

// connect dials url, reads the open packet, sends CONNECT with auth
// (client i's token, and resume's pid and offset when not nil), and reads
// the answer's pid into c.pid.
func (c *stormClient) connect(ctx context.Context, d *dialer, url string, resume map[string]string) error {
	wd := ws.Dialer{NetDial: d.netDial(c.i)}
	conn, br, _, err := wd.Dial(ctx, url)
	if err != nil {
		return err
	}
	if !c.setConn(conn) {
		return errors.New("the run ended while the client connected")
	}
	if c.buf == nil {
		c.buf = make([]byte, c.rs.cfg.ReadBuffer)
	}
	c.r, c.w, c.skip = 0, 0, 0
	if br != nil {
		early, _ := br.Peek(br.Buffered())
		c.w = copy(c.buf, early)
		ws.PutReader(br)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	defer func() { _ = conn.SetDeadline(time.Time{}) }()
	fail := func(err error) error {
		_ = conn.Close()
		return err
	}
	op, p, err := c.readWhole()
	if err != nil {
		return fail(fmt.Errorf("reading the open packet: %w", err))
	}
	if op != opText || !bytes.HasPrefix(p, []byte("0{")) {
		return fail(fmt.Errorf("%w: the open packet is %q", ErrProtocol, trim(p)))
	}
	packet, err := c.connectPacket(resume)
	if err != nil {
		return fail(err)
	}
	if _, err := conn.Write(appendClientFrame(nil, opText, packet)); err != nil {
		return fail(err)
	}
	for {
		op, p, err := c.readWhole()
		if err != nil {
			return fail(fmt.Errorf("waiting for the CONNECT answer: %w", err))
		}
		if op != opText {
			continue
		}
		switch c.packet(p, c.rs.now(), c.rs.prefix) {
		case packetConnect:
			var ans struct {
				PID string `json:"pid"`
			}
			if len(p) > 2 {
				_ = json.Unmarshal(p[2:], &ans)
			}
			c.pid = ans.PID
			return nil
		case packetConnectError:
			return fail(fmt.Errorf("%w: the server refused to connect: %q", ErrProtocol, trim(p)))
		case packetClose:
			return fail(fmt.Errorf("%w: the server closed the session while connecting", ErrProtocol))
		case packetPing:
			if _, err := conn.Write(wsPongFrame); err != nil {
				return fail(err)
			}
		}
	}
}

// connectPacket is CONNECT with the client's auth: its token when the run
// has a secret, and resume's pid and offset.
func (c *stormClient) connectPacket(resume map[string]string) ([]byte, error) {
	auth := map[string]string{}
	if c.rs.cfg.JWTSecret != "" {
		tok, err := signToken(c.rs.cfg.JWTSecret, userID(c.i), time.Now(), c.rs.cfg.Timeout+time.Hour)
		if err != nil {
			return nil, err
		}
		auth["token"] = tok
	}
	for k, v := range resume {
		auth[k] = v
	}
	if len(auth) == 0 {
		return []byte("40"), nil
	}
	js, err := json.Marshal(auth)
	if err != nil {
		return nil, err
	}
	return append([]byte("40"), js...), nil
}

// run reads node A until it dies, resumes on node B, and reads B until
// the run closes the client. If B ends the connection too, the client
// resumes on B again, as socket.io-client would, with the pid it has then
// and its last offset.
func (c *stormClient) run(s *stormRun) {
	defer c.ended.Store(true)
	// Whatever ended node A's connection (the kill's reset or EOF, a
	// close packet), the client resumes on B.
	err := c.read(s)
	for s.rs.closing.Err() == nil {
		// The connection is over: its descriptor goes before the next
		// one is opened (10,000 clients would otherwise hold twice as
		// many).
		c.closeConn()
		if c.state == stormOnB {
			c.closedByB++
			if c.err == nil {
				c.err = fmt.Errorf("node B ended the connection after the resume: %w", err)
			}
		} else {
			c.lostAt = s.rs.now()
		}
		c.setState(s, stormReconnecting)
		if err := c.resume(s); err != nil {
			c.err = fmt.Errorf("resuming on node B: %w", err)
			c.setState(s, stormFailed)
			return
		}
		c.setState(s, stormOnB)
		err = c.read(s)
	}
}

// setState moves the client to st, in its count and in the run's.
func (c *stormClient) setState(s *stormRun, st stormState) {
	s.states[c.state].Add(-1)
	s.states[st].Add(1)
	c.state = st
}

// read handles what the connection brings until it ends, keeping each
// event's offset.
func (c *stormClient) read(s *stormRun) error {
	for {
		if err := c.handleBuffered(c.rs, c.rs.now()); err != nil {
			return err
		}
		if c.recoveredAt != 0 && c.caughtUpAt == 0 && int64(c.got.Load()) >= c.pubAtResume {
			c.caughtUpAt = c.rs.now()
			s.caughtUp.Add(1)
		}
		if err := c.fill(); err != nil {
			return err
		}
	}
}

// resume connects to node B with the pid and offset, as socket.io-client
// does: after a delay of Config.ReconnectDelay, doubled each failed
// attempt up to 5s, each randomized by half either way.
func (c *stormClient) resume(s *stormRun) error {
	resume := map[string]string{"pid": c.pid}
	if len(c.offset) > 0 {
		resume["offset"] = string(c.offset)
	}
	if c.resumes == 0 {
		c.resumedFrom = string(c.offset)
		c.seqAtLoss = c.seq.distinct
	}
	oldPID := c.pid
	delay := s.rs.cfg.ReconnectDelay
	var lastErr error
	for ; ; delay = min(2*delay, 5*time.Second) {
		wait := time.Duration(float64(delay) * (0.5 + rand.Float64()))
		select {
		case <-time.After(wait):
		case <-s.rs.closing.Done():
			if lastErr != nil {
				return fmt.Errorf("the run ended before the client reconnected (%d attempts, the last: %w)", c.attempts, lastErr)
			}
			return errors.New("the run ended before the client reconnected")
		}
		c.attempts++
		ctx, cancel := context.WithTimeout(s.rs.closing, 30*time.Second)
		lastErr = c.connect(ctx, s.failover, s.failoverURL, resume)
		cancel()
		if lastErr == nil {
			break
		}
		if s.rs.closing.Err() != nil {
			return lastErr
		}
	}
	c.resumes++
	if c.resumes > 1 {
		return nil // the storm's resume was the first; see closedByB
	}
	c.recoveredAt = s.rs.now()
	c.pubAtResume = s.pub.shown.Load()
	c.recovered = c.pid == oldPID
	if c.recovered {
		s.recovered.Add(1)
	}
	return nil
}

// keepOffset copies into *offset the offset of an event frame: its last
// argument when that is a string, ,"OFFSET"] at the frame's end. A frame
// without one leaves *offset as it was.
func keepOffset(offset *[]byte, p []byte) {
	if len(p) < 4 || p[len(p)-1] != ']' || p[len(p)-2] != '"' {
		return
	}
	end := len(p) - 2
	start := bytes.LastIndexByte(p[:end], '"')
	if start < 1 || p[start-1] != ',' || bytes.IndexByte(p[start+1:end], '\\') >= 0 {
		return
	}
	*offset = append((*offset)[:0], p[start+1:end]...)
}
