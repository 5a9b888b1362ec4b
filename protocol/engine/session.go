package engine

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/natsock/natsock/protocol/eio"
	"github.com/natsock/natsock/protocol/internal/timers"
)

// Handshake is what a session keeps of the HTTP request that opened it: a
// copy, so that nothing of the request itself outlives the handshake.
type Handshake struct {
	RemoteAddr string
	Query      url.Values  // the application's parameters (Engine.IO's own removed); nil when none
	Header     http.Header // without the websocket and hop-by-hop headers
	Time       time.Time
}

type transportKind uint8

const (
	transportPolling transportKind = iota
	transportWebSocket
)

func (k transportKind) String() string {
	if k == transportWebSocket {
		return "websocket"
	}
	return "polling"
}

// pollingGrace is how long a closed polling session waits for the client's
// next GET: to collect its last packets and the close packet after a
// graceful close (counted again after each GET that leaves some behind),
// or the noop that answers a GET racing the client's own close.
const pollingGrace = 2 * time.Second

// Session is one Engine.IO connection, whatever its transport. Its methods
// are safe for concurrent use.
type Session struct {
	srv       *Server
	id        string
	ip        string // the remote IP its place under the connection limits is counted for
	protocol  int    // 3 or 4
	handshake Handshake

	mu          sync.Mutex
	closed      bool
	reason      Reason
	transport   transportKind
	queue       []*Message
	queuedBytes int // bytes queued or being written

	conn          net.Conn  // websocket only
	flushing      bool      // a goroutine is writing conn's queue
	writeDeadline time.Time // conn's write deadline; under wmu
	writeBroken   bool      // a write to conn failed, maybe mid-frame; under wmu

	pollHeld   bool          // a GET is waiting for packets
	pollPosted bool          // a POST is being read
	pollWake   chan struct{} // wakes the held GET
	pollNoop   bool          // an upgrade is probing: answer GETs with noop
	probeSince time.Time     // when the probe began
	pollFinal  *Message      // what the last GET gets once the session is closed; nil: GETs get 400
	draining   bool          // closed, waiting (without a held GET) for a GET to collect the rest
	drainTimer *time.Timer   // ends draining at drainUntil
	drainUntil time.Time     // when a draining session gives up on its client
	upgrading  bool

	timer     timers.Timer
	awaitPong bool
	// deadline is when the heartbeat gives up on the client unless it
	// answers (v4: pongs; v3: pings) first: pingInterval+pingTimeout after
	// the handshake or its last answer. Requests check it themselves, so
	// it holds however late the timer wheel runs.
	deadline time.Time

	idleToken uint64 // the session's token in an epollWatcher; under mu

	wmu  sync.Mutex // serializes websocket writes
	inMu sync.Mutex // serializes calls into the Handler
	data any
}

// ID returns the Engine.IO session id (the "sid").
func (s *Session) ID() string { return s.id }

// Protocol returns the Engine.IO protocol version: 4, or 3 for a socket.io
// v2 client.
func (s *Session) Protocol() int { return s.protocol }

// Handshake returns what the session kept of its opening request.
func (s *Session) Handshake() *Handshake { return &s.handshake }

// Transport returns "websocket" or "polling".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport.String()
}

// SetData attaches the layer above's state to the session.
func (s *Session) SetData(v any) { s.data = v }

// Data returns what SetData attached.
func (s *Session) Data() any { return s.data }

// Send queues m for the client. It never blocks on the network. When the
// queue is full the Server's SlowPolicy applies and Send returns
// ErrSlowConsumer; on a closed session it returns ErrClosed. A message
// larger than MaxQueueBytes on its own could never be queued: Send refuses
// it with ErrMessageTooLarge and leaves the session and its queue alone.
func (s *Session) Send(m *Message) error {
	if m.size > s.srv.cfg.MaxQueueBytes {
		s.srv.stats.tooLarge.Add(1)
		return ErrMessageTooLarge
	}
	return s.queueBounded(m)
}

// Queued returns how many messages, and how many of their bytes, wait in
// the session's outbound queue (or are being written): what Send counts
// against MaxQueueMessages and MaxQueueBytes. A layer above that sends a
// long run of messages to one session (a replay) reads it to pace itself
// rather than meet the SlowPolicy.
func (s *Session) Queued() (messages, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue), s.queuedBytes
}

// queueBounded queues m within the queue bound, or applies the SlowPolicy:
// SlowDisconnect closes the session; SlowDropOldest drops the oldest
// messages (never a control packet) until m fits, or m itself when they
// are all control packets.
func (s *Session) queueBounded(m *Message) error {
	cfg := &s.srv.cfg
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if len(s.queue) >= cfg.MaxQueueMessages || s.queuedBytes+m.size > cfg.MaxQueueBytes {
		if cfg.SlowPolicy != SlowDropOldest {
			held, n := s.queuedBytes, len(s.queue)
			s.closeLocked(ReasonSlow)
			s.mu.Unlock()
			s.srv.stats.slowClosed.Add(1)
			atomicMax(&s.srv.stats.slowHeld, uint64(held))
			s.srv.cfg.Logger.Info("slow consumer disconnected: its outbound queue is full",
				"sid", s.id, "remote", s.handshake.RemoteAddr, "queued_bytes", held, "queued_messages", n,
				"max_queue_bytes", cfg.MaxQueueBytes, "max_queue_messages", cfg.MaxQueueMessages)
			return ErrSlowConsumer
		}
		dropped := 0
		for len(s.queue) > 0 && (len(s.queue) >= cfg.MaxQueueMessages || s.queuedBytes+m.size > cfg.MaxQueueBytes) {
			if isControl(s.queue[0]) {
				break // never drop a heartbeat
			}
			s.queuedBytes -= s.queue[0].size
			s.queue[0] = nil
			s.queue = s.queue[1:]
			dropped++
		}
		if len(s.queue) >= cfg.MaxQueueMessages || s.queuedBytes+m.size > cfg.MaxQueueBytes {
			s.mu.Unlock()
			s.srv.stats.dropped.Add(uint64(dropped) + 1)
			return ErrSlowConsumer
		}
		s.srv.stats.dropped.Add(uint64(dropped))
	}
	s.enqueueLocked(m)
	s.mu.Unlock()
	return nil
}

func isControl(m *Message) bool { return m.raw != nil || m.packets[0].Type != eio.Message }

// sendControl queues a reply the client asked for (a pong to its ping).
// It counts against the queue bound like any message: a client that keeps
// asking and never reads meets the SlowPolicy, and under SlowDropOldest a
// reply that finds the queue full of control packets is dropped.
func (s *Session) sendControl(m *Message) { _ = s.queueBounded(m) }

func (s *Session) enqueueLocked(m *Message) {
	s.queue = append(s.queue, m)
	s.queuedBytes += m.size
	s.kickLocked()
}

// kickLocked starts delivery of the queue: a writer's turn for websocket,
// a wake-up for a held polling GET.
func (s *Session) kickLocked() {
	if s.transport == transportWebSocket {
		if !s.flushing && len(s.queue) > 0 {
			s.flushing = true
			if !s.srv.writers.submit(s) {
				s.srv.track(true)
				go s.flushLoop()
			}
		}
		return
	}
	s.wakePollLocked()
}

// Close closes the session with ReasonForcedClose, after what is queued has
// been written.
func (s *Session) Close() { s.CloseWith(ReasonForcedClose) }

// CloseWith closes the session for reason. Graceful reasons (forced close,
// server shutdown, client close) deliver what is queued first; the others
// cut the transport at once.
func (s *Session) CloseWith(reason Reason) {
	s.mu.Lock()
	s.closeLocked(reason)
	s.mu.Unlock()
}

func graceful(r Reason) bool {
	return r == ReasonForcedClose || r == ReasonServerShutdown || r == ReasonTransportClose
}

// closeLocked marks the session closed and hands the transport teardown
// and the handler's OnClose to a goroutine, so that it is safe to call from
// anywhere, handlers included.
func (s *Session) closeLocked(reason Reason) {
	if s.closed {
		return
	}
	s.closed = true
	s.reason = reason
	s.srv.wheel.Stop(&s.timer)
	if s.transport == transportPolling {
		// The session stays registered while a GET is to get its final
		// packet: a held one now, or the client's next within
		// pollingGrace.
		switch {
		case reason == ReasonTransportClose:
			// The client closed. As Node.js does, a GET gets noop and
			// what was queued is dropped; a GET that raced the close
			// (sent with it, arriving after it) gets the noop too.
			s.dropQueueLocked()
			s.pollFinal = noopMsg
		case graceful(reason):
			// A close the server chose: the client collects all that is
			// queued, then the close packet.
			s.pollFinal = closeMsg
		default:
			s.dropQueueLocked()
			s.pollFinal = nil
			if s.pollHeld {
				s.pollFinal = closeMsg
			}
		}
		if s.pollFinal != nil && !s.pollHeld {
			s.awaitLastGETLocked()
		}
		s.wakePollLocked()
	}
	if s.transport != transportPolling || s.pollFinal == nil {
		s.srv.remove(s)
	}
	s.srv.track(true)
	go s.finish(reason)
}

func (s *Session) dropQueueLocked() {
	clear(s.queue)
	s.queue = nil
	s.queuedBytes = 0
}

// awaitLastGETLocked keeps a closed polling session registered until the
// client's next GET, for at most pollingGrace from now.
func (s *Session) awaitLastGETLocked() {
	s.drainUntil = time.Now().Add(pollingGrace)
	if s.draining {
		return // the pending endDrain sees the later deadline
	}
	s.draining = true
	s.srv.track(true)
	s.drainTimer = time.AfterFunc(pollingGrace, s.endDrain)
}

// endPollingLocked ends a closed polling session's wait for GETs: later
// ones get 400, and the session leaves the server's table. It is safe to
// call more than once.
func (s *Session) endPollingLocked() {
	s.pollFinal = nil
	if s.draining {
		s.draining = false
		if s.drainTimer.Stop() {
			s.srv.wg.Done() // the timer's share: endDrain will not run
		}
	}
	s.srv.remove(s)
}

// finish tears the transport down and tells the handler, once.
func (s *Session) finish(reason Reason) {
	defer s.srv.wg.Done()
	s.mu.Lock()
	transport, conn := s.transport, s.conn
	s.mu.Unlock()
	if transport == transportWebSocket {
		s.closeWebSocket(conn, reason)
		s.srv.idle.forget(s)
	}
	s.inMu.Lock()
	s.srv.handler.OnClose(s, reason)
	s.inMu.Unlock()
}

// endDrain ends a closed polling session's wait for its last GET, unless
// a GET has moved the deadline meanwhile.
func (s *Session) endDrain() {
	s.mu.Lock()
	if s.draining {
		if left := time.Until(s.drainUntil); left > 0 {
			s.drainTimer.Reset(left) // keeps the wait group's share
			s.mu.Unlock()
			return
		}
		s.draining = false
		s.pollFinal = nil
		s.srv.remove(s)
	}
	s.mu.Unlock()
	s.srv.wg.Done()
}

// closeWebSocket writes what is queued (graceful reasons only) and a close
// frame, then closes conn.
func (s *Session) closeWebSocket(conn net.Conn, reason Reason) {
	code := ws.StatusNormalClosure
	switch reason {
	case ReasonParseError:
		code = ws.StatusProtocolError
	case ReasonPayloadTooLarge:
		code = ws.StatusMessageTooBig
	case ReasonSlow, ReasonPingTimeout, ReasonServerShutdown:
		code = ws.StatusGoingAway
	}
	if reason == ReasonSlow || reason == ReasonPingTimeout || reason == ReasonTransportError {
		// Abort a write in progress: a client that does not read gets no
		// more of our time. A client refused for what it sent is still
		// reading, and the write in progress ends (within WriteTimeout)
		// before the close frame that says why.
		_ = conn.SetWriteDeadline(time.Unix(1, 0))
	}
	s.wmu.Lock()
	if graceful(reason) {
		_ = s.writeQueued(conn)
	} else {
		s.mu.Lock()
		s.queue = nil
		s.mu.Unlock()
	}
	// The close frame names the reason, so that a client (or its
	// developer, in the browser's network panel) can tell a refusal from a
	// shutdown; socket.io clients read only that the transport closed.
	// After a failed write the stream may end mid-frame: a close frame
	// would be read as that frame's payload.
	wrote := false
	if !s.writeBroken {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, err := conn.Write(ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, closeText(reason)))))
		wrote = err == nil
	}
	s.wmu.Unlock()
	if wrote && (reason == ReasonParseError || reason == ReasonPayloadTooLarge) {
		lingerClose(conn)
	}
	_ = conn.Close()
}

// Bounds of lingerClose.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 1 << 20
)

// lingerClose ends the write side and reads what the client is still
// sending, for a moment, before the connection is closed. A refused client
// is often mid-message (one too large, say); closing a socket with unread
// bytes makes the kernel reset the connection, and a reset can reach the
// client before the close frame that says why it was refused.
func lingerClose(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, io.LimitReader(conn, lingerBytes))
}

// closeText is a close frame's reason text: the reason, cut to the 123
// bytes a close frame holds.
func closeText(r Reason) string {
	t := string(r)
	if len(t) > 123 {
		n := 123
		for n > 0 && !utf8.RuneStart(t[n]) {
			n--
		}
		t = t[:n]
	}
	return t
}

// writeBufs is a flush's scratch: the frames to write and a copy of them,
// the view that (*net.Buffers).WriteTo consumes (it shortens the slices it
// writes, in place: bufs keeps the frames whole, to tell where a cut write
// stopped). Pooled, and kept in one struct so that neither escapes per
// write.
type writeBufs struct {
	bufs, view, w net.Buffers
	iovScratch
}

var writeBufsPool = sync.Pool{New: func() any {
	return &writeBufs{bufs: make(net.Buffers, 0, 64), view: make(net.Buffers, 0, 64)}
}}

// flushLoop writes the websocket queue until it is empty, on a goroutine
// of its own (counted by track).
func (s *Session) flushLoop() {
	defer s.srv.wg.Done()
	s.flushAll()
}

// flushAll writes the websocket queue until it is empty, blocking on the
// socket as long as WriteTimeout allows.
func (s *Session) flushAll() {
	for {
		s.wmu.Lock()
		s.mu.Lock()
		conn, closed := s.conn, s.closed
		s.mu.Unlock()
		var err error
		if !closed {
			err = s.writeQueued(conn)
		}
		s.wmu.Unlock()
		s.mu.Lock()
		if err != nil || closed || len(s.queue) == 0 {
			s.flushing = false
			if err != nil {
				s.closeLocked(ReasonTransportError)
			}
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// writeQueued takes the whole queue and writes it to conn in one vectored
// write. The caller holds wmu.
func (s *Session) writeQueued(conn net.Conn) error {
	wb := writeBufsPool.Get().(*writeBufs)
	bufs, taken := s.takeQueued(wb.bufs[:0])
	var err error
	if len(bufs) > 0 {
		s.refreshWriteDeadline(conn)
		wb.view = append(wb.view[:0], bufs...)
		wb.w = wb.view
		var n int64
		n, err = wb.w.WriteTo(conn)
		if err != nil && !atFrameBoundary(bufs, n) {
			s.writeBroken = true
		}
	}
	s.wrote(wb, bufs, taken)
	return err
}

// takeQueued moves the queue's frames onto bufs, and returns them with
// their queued size.
func (s *Session) takeQueued(bufs net.Buffers) (net.Buffers, int) {
	s.mu.Lock()
	taken := 0
	for i, m := range s.queue {
		bufs = append(bufs, m.wsFrames(s.protocol))
		taken += m.size
		s.queue[i] = nil
		if m == pingMsg {
			s.pingTakenLocked()
		}
	}
	s.queue = s.queue[:0]
	s.mu.Unlock()
	return bufs, taken
}

// refreshWriteDeadline keeps conn's write deadline at most WriteTimeout
// away. Setting a deadline costs about as much as a small write's
// bookkeeping, so it is refreshed only once half of it is used: a write
// still never blocks longer than WriteTimeout. The caller holds wmu.
func (s *Session) refreshWriteDeadline(conn net.Conn) {
	now := time.Now()
	if s.writeDeadline.Sub(now) < s.srv.cfg.WriteTimeout/2 {
		s.writeDeadline = now.Add(s.srv.cfg.WriteTimeout)
		_ = conn.SetWriteDeadline(s.writeDeadline)
	}
}

// wrote counts a write of bufs, gives its scratch back and releases the
// bytes it took from the queue bound.
func (s *Session) wrote(wb *writeBufs, bufs net.Buffers, taken int) {
	if len(bufs) > 0 {
		s.srv.stats.writes.Add(1)
		s.srv.stats.frames.Add(uint64(len(bufs)))
	}
	clear(bufs[:cap(bufs)])
	clear(wb.view[:cap(wb.view)])
	wb.bufs, wb.view, wb.w = bufs[:0], wb.view[:0], nil
	writeBufsPool.Put(wb)
	s.mu.Lock()
	s.queuedBytes -= taken
	s.mu.Unlock()
}

// atFrameBoundary reports whether the first n bytes of bufs end where one
// of its messages ends (or nothing was written): a write cut there leaves
// the stream whole.
func atFrameBoundary(bufs net.Buffers, n int64) bool {
	if n == 0 {
		return true
	}
	for _, b := range bufs {
		n -= int64(len(b))
		if n <= 0 {
			return n == 0
		}
	}
	return true
}

// startHeartbeat arms the session's timer: the first ping (v4) or the
// deadline for the client's first ping (v3).
func (s *Session) startHeartbeat() {
	s.timer.Init(s.onTimer)
	s.mu.Lock()
	s.rearmHeartbeatLocked(time.Now())
	s.mu.Unlock()
}

// rearmHeartbeatLocked counts the heartbeat from now: the handshake, or the
// client's answer. Both the deadline and the next ping derive from the
// configured intervals and now, never from when a timer ran.
func (s *Session) rearmHeartbeatLocked(now time.Time) {
	cfg := &s.srv.cfg
	s.deadline = now.Add(cfg.PingInterval + cfg.PingTimeout)
	if s.protocol == 3 {
		s.srv.wheel.Schedule(&s.timer, s.deadline)
		return
	}
	s.srv.wheel.Schedule(&s.timer, now.Add(cfg.PingInterval))
}

// expiredLocked closes the session for a ping timeout if its deadline has
// passed, whether or not the wheel has run, and reports whether the session
// is closed. Requests call it first: a request made pingInterval +
// pingTimeout after the handshake, without an answer, finds the session
// gone, however loaded the machine.
func (s *Session) expiredLocked() bool {
	if !s.closed && !s.deadline.IsZero() && !time.Now().Before(s.deadline) {
		s.closeLocked(ReasonPingTimeout)
	}
	return s.closed
}

// onTimer runs on the wheel's goroutine.
func (s *Session) onTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if now := time.Now(); now.Before(s.deadline) {
		if s.protocol == 4 && !s.awaitPong {
			// The ping timeout runs from when the ping is due (and
			// queued): the session ends pingInterval+pingTimeout after
			// the last answer, unless a late ping moves it (pingTaken).
			s.awaitPong = true
			s.enqueueLocked(pingMsg)
		}
		s.srv.wheel.Schedule(&s.timer, s.deadline)
		return
	}
	s.closeLocked(ReasonPingTimeout)
}

// pingTakenLocked is called when a transport takes the ping from the queue
// to deliver it. A ping taken late (its timer ran late on a loaded
// machine, or the transport did) still leaves the client pingTimeout to
// answer, as Node.js counts the timeout from the ping it sends. A ping
// nobody takes moves nothing: that session ends at its deadline.
func (s *Session) pingTakenLocked() {
	if d := time.Now().Add(s.srv.cfg.PingTimeout); s.awaitPong && d.After(s.deadline) {
		s.deadline = d // the timer, due at the old deadline, re-arms itself
	}
}

// onPacket handles one packet from the client, from whichever transport.
func (s *Session) onPacket(p eio.Packet) {
	switch p.Type {
	case eio.Message:
		s.inMu.Lock()
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if !closed {
			s.srv.handler.OnMessage(s, p.Data, p.Binary)
		}
		s.inMu.Unlock()
	case eio.Pong:
		if s.protocol == 4 {
			s.mu.Lock()
			if s.awaitPong && !s.expiredLocked() {
				s.awaitPong = false
				s.rearmHeartbeatLocked(time.Now())
			}
			s.mu.Unlock()
		}
	case eio.Ping:
		if s.protocol == 3 {
			s.mu.Lock()
			if !s.expiredLocked() {
				s.rearmHeartbeatLocked(time.Now())
			}
			s.mu.Unlock()
			if len(p.Data) == 0 {
				s.sendControl(pongMsg)
			} else {
				s.sendControl(newControl(eio.Pong, string(p.Data)))
			}
		}
	case eio.Close:
		s.CloseWith(ReasonTransportClose)
	case eio.Noop:
	default: // open or upgrade outside an upgrade
		s.CloseWith(ReasonParseError)
	}
}
