package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/sio"
)

// Recovery is socket.io's connection state recovery (socket.io 4.6+
// clients), seen from the engine: it hands out the private session id
// (pid) a client resumes with, and decides what a resuming client may
// replay. The engine does the wire part; the implementation (natsock's
// bridge, over a JetStream stream) knows where events are kept and whom a
// pid belongs to. Set it in [Config.Recovery]; nil means recovery is off,
// and then no pid and no offset ever appear on the wire.
//
// With Recovery set, the CONNECT answer of every v4 client carries a pid
// beside the socket id (40{"sid":"...","pid":"..."}), and every event sent
// with [Broadcast.EmitOffset] carries its offset, the decimal seq, as its
// last argument; the client keeps the last one. After a disconnection the
// client sends CONNECT again with auth {"pid":..., "offset":..., ...}. The
// namespace's middlewares run as for any CONNECT (authentication is
// checked again, rooms are joined anew); then Resume decides. If it
// accepts, the client gets a CONNECT answer with the same pid (so it sets
// socket.recovered), then the events it missed, then live ones. If it
// refuses, the client gets a normal CONNECT answer with a new pid
// (socket.recovered is false: the application refetches).
//
// Both methods run on the goroutine reading the client's connection, after
// the middlewares, like them: they should decide quickly (a signature
// check, one key-value read). The replay runs on its own goroutine.
type Recovery interface {
	// NewPID returns the pid for s, which connects afresh (or whose
	// resume was refused). The middlewares have run: s.Auth(),
	// s.Handshake(), s.Data() and s.Rooms() are theirs, and s.ID() is the
	// id the client will get. The implementation binds the pid to what it
	// must check on resume (the identity, the namespace, where the
	// source stood), by signing it or by keeping it. An error leaves the
	// socket connected without a pid: that client cannot resume, and the
	// error is logged.
	NewPID(s *Socket) (string, error)
	// Resume decides whether s, connecting with req's pid and offset, may
	// resume. The middlewares have run, as for NewPID, but s.ID() is still
	// the new id (the socket takes r.ID as it connects). Like a
	// middleware, Resume may Join rooms and SetData to restore what the
	// session had; the replay should follow s.Rooms(). An error refuses:
	// s connects afresh with a new pid, and the error is logged (at debug
	// level: a stale or foreign pid is routine). On success the client
	// gets the same pid back, the socket takes r.ID when no connected
	// socket of the namespace has it, and r.Replay runs.
	Resume(s *Socket, req ResumeRequest) (r Resumption, err error)
}

// ResumeRequest is what a resuming client sent in its CONNECT auth.
type ResumeRequest struct {
	// PID is the pid the client got before.
	PID string
	// Offset is the last offset the client received, when HasOffset.
	Offset uint64
	// HasOffset is false when the client sent no offset: it got no event
	// with an offset since it got its pid. The implementation may resume
	// from where the source stood when it handed out the pid, or refuse.
	HasOffset bool
}

// Resumption is an accepted resume.
type Resumption struct {
	// ID is the socket id to restore. The socket takes it unless it is
	// empty or a connected socket of the namespace has it (the client's
	// old socket, not yet known to be gone, say): then the socket keeps
	// the new id it was given, and the resume goes on all the same.
	ID string
	// Replay sends the missed events; nil means there are none.
	Replay ReplayFunc
}

// ReplayFunc sends a resumed socket the events it missed, by calling emit
// once for each, in increasing seq order.
//
// It runs on a goroutine of its own, once the socket is in its rooms and
// its CONNECT answer is queued; from then on, live events sent to the
// socket with [Broadcast.EmitOffset] are held and follow the replay. So
// Replay must emit every event the socket would have been sent with a seq
// above the resume's offset, up to at least the source's last seq when
// Replay was called; any overlap with the held live events is harmless,
// since the engine never sends a socket a seq at or below one it sent it
// during the resume (emit skips such a seq and returns nil).
//
// emit returns an error when the socket has left or its connection can
// take no more (and goes on returning it): Replay should then return. It
// must be called from one goroutine at a time, and not after Replay
// returns. ctx ends when the socket leaves or the server closes. An error
// from Replay, or from an emit it ignored, while the socket is still
// there closes the connection with ReasonReplayFailed: the client
// reconnects and resumes again from the last offset it got, and loses
// nothing. An event too large for the session's queue bound
// (engine.Config.MaxQueueBytes) is skipped, as its live broadcast was.
type ReplayFunc func(ctx context.Context, emit func(event string, d Data, seq uint64) error) error

// DefaultRecoveryHold is Config.RecoveryHold's default.
const DefaultRecoveryHold = 4096

// errLeft stops a replay whose socket has left.
var errLeft = errors.New("socketio: socket left during its replay")

// parseResume reads a CONNECT auth payload for socket.io's recovery
// fields: "pid", a non-empty string, and "offset", a decimal string (the
// seq of the last event the client got), absent or null when the client
// got none. It reports ok=false when there is no pid; err says why a pid
// came with something unusable.
func parseResume(auth []byte) (req ResumeRequest, ok bool, err error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(auth, &fields) != nil {
		return ResumeRequest{}, false, nil // not an object: no pid (the middlewares judge the auth)
	}
	rawPID, found := fields["pid"]
	if !found || string(rawPID) == "null" {
		return ResumeRequest{}, false, nil
	}
	if json.Unmarshal(rawPID, &req.PID) != nil || req.PID == "" {
		return ResumeRequest{}, false, fmt.Errorf("pid %.64s is not a non-empty string", rawPID)
	}
	rawOffset, found := fields["offset"]
	if !found || string(rawOffset) == "null" {
		return req, true, nil
	}
	var offset string
	if json.Unmarshal(rawOffset, &offset) != nil {
		return ResumeRequest{}, false, fmt.Errorf("offset %.64s is not a string", rawOffset)
	}
	seq, err := parseOffset(offset)
	if err != nil {
		return ResumeRequest{}, false, err
	}
	req.Offset, req.HasOffset = seq, true
	return req, true, nil
}

// parseOffset reads an offset as formatOffset writes it: decimal digits,
// no sign, no leading zero.
func parseOffset(s string) (uint64, error) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("offset %.64q is not a decimal sequence number", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("offset %.64q is not a decimal sequence number", s)
		}
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("offset %.64q is out of range", s)
	}
	return seq, nil
}

// appendOffset appends seq as a JSON string argument.
func appendOffset(dst []byte, seq uint64) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, '"')
}

// encodeEvent builds an event packet; with offset, seq follows the
// arguments as one more, a string.
func encodeEvent(namespace, event string, d Data, seq uint64, offset bool) *engine.Message {
	if offset {
		args := make([]json.RawMessage, len(d.Args), len(d.Args)+1)
		copy(args, d.Args)
		d.Args = append(args, appendOffset(make([]byte, 0, 22), seq))
	}
	return encode(packetSpec{typ: sio.Event, namespace: namespace, id: sio.NoID, event: event, hasEvent: true}, d)
}

// resumeState is a resumed socket's state from its CONNECT answer until
// its replay, its held live events, its OnConnect and the client events
// that came meanwhile are all done. The socket's mu guards it, but for
// last, which only the resume goroutine touches.
type resumeState struct {
	cancel  context.CancelFunc
	holding bool        // live events with a seq are held, not sent
	held    []heldEvent // in the order sent
	inbound []*Event    // client events waiting for OnConnect
	// inboundBytes is what inbound holds, bounded by the session's
	// MaxQueueBytes: the read goroutine goes on reading while they wait.
	inboundBytes int
	announced    bool          // OnConnect has begun: the disconnect hooks will run
	done         chan struct{} // closed when the resume is over
	last         uint64        // the highest seq sent to the client
}

type heldEvent struct {
	m   *engine.Message
	seq uint64
}

// holdResult says what hold did with a live event.
type holdResult uint8

const (
	notHolding holdResult = iota // send it now
	held                         // it waits for the replay
	overflowed                   // past the bound: the connection is closing
)

// hold keeps a live event with a seq back while the socket's replay runs.
func (s *Socket) hold(m *engine.Message, seq uint64) holdResult {
	s.mu.Lock()
	rs := s.rs
	if rs == nil || !rs.holding {
		s.mu.Unlock()
		return notHolding
	}
	if len(rs.held) >= s.ns.srv.cfg.RecoveryHold {
		s.mu.Unlock()
		s.overflow("live events held during the replay")
		return overflowed
	}
	rs.held = append(rs.held, heldEvent{m, seq})
	s.mu.Unlock()
	return held
}

// receive dispatches an event from the client, or keeps it for after
// OnConnect while the socket resumes.
func (s *Socket) receive(ev *Event) {
	if s.resuming.Load() {
		s.mu.Lock()
		if rs := s.rs; rs != nil {
			size := ev.size()
			if len(rs.inbound) >= s.ns.srv.cfg.RecoveryHold || rs.inboundBytes+size > s.ns.srv.eng.Config().MaxQueueBytes {
				s.mu.Unlock()
				s.overflow("client events waiting for the replay")
				return
			}
			rs.inbound = append(rs.inbound, ev)
			rs.inboundBytes += size
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	s.ns.dispatch(s, ev)
}

// size is what ev holds: its name, arguments and attachments, in bytes.
func (ev *Event) size() int {
	n := len(ev.Name)
	for _, a := range ev.Args {
		n += len(a)
	}
	for _, a := range ev.Attachments {
		n += len(a)
	}
	return n
}

// overflow closes the connection of a resuming socket that would hold more
// than Config.RecoveryHold events: the client reconnects and resumes from
// its last offset, rather than lose events.
func (s *Socket) overflow(what string) {
	sess := s.conn.sess
	s.ns.srv.cfg.Logger.Info("resuming socket held too many events, closing its connection", "sid", sess.ID(),
		"socket", s.id, "namespace", s.ns.name, "remote", sess.Handshake().RemoteAddr, "held", what,
		"max", s.ns.srv.cfg.RecoveryHold)
	sess.CloseWith(engine.Reason(ReasonReplayOverflow))
}

// resume runs a resumed socket's replay, sends the live events held
// meanwhile, runs OnConnect, then the client events that waited for it.
func (s *Socket) resume(ctx context.Context, rs *resumeState, replay ReplayFunc) {
	srv := s.ns.srv
	defer srv.replays.Done()
	defer close(rs.done)
	defer rs.cancel()
	var err, emitErr error
	if replay != nil {
		err = replay(ctx, func(event string, d Data, seq uint64) error {
			if emitErr != nil {
				return emitErr
			}
			if seq <= rs.last {
				return nil
			}
			if sio.IsReserved(event) {
				emitErr = fmt.Errorf("%w: replayed event %q", ErrReserved, event)
			} else {
				emitErr = s.sendResumed(ctx, rs, encodeEvent(s.ns.name, event, d, seq, true), seq)
			}
			return emitErr
		})
		if err == nil {
			// A Replay that swallowed emit's error still failed: the
			// client would miss what emit could not send.
			err = emitErr
		}
	}
	if err == nil {
		err = s.sendHeld(ctx, rs)
	}
	if err != nil {
		s.mu.Lock()
		there := s.state == stateConnected
		s.mu.Unlock()
		if there {
			// The socket may not stay without its missed events: its
			// session closes (if the slow-consumer policy has not closed
			// it already, which the engine logged), and the client
			// resumes again.
			sess := s.conn.sess
			if !errors.Is(err, engine.ErrClosed) && !errors.Is(err, engine.ErrSlowConsumer) {
				srv.cfg.Logger.Warn("replay of a resumed socket failed, closing its connection", "sid", sess.ID(),
					"socket", s.id, "namespace", s.ns.name, "remote", sess.Handshake().RemoteAddr, "err", err)
			}
			sess.CloseWith(engine.Reason(ReasonReplayFailed))
		}
		s.endResume(rs)
		return
	}

	s.mu.Lock()
	if s.state != stateConnected {
		s.mu.Unlock()
		s.endResume(rs)
		return
	}
	rs.announced = true
	s.mu.Unlock()
	s.ns.mu.RLock()
	onConnect := s.ns.onConnect
	s.ns.mu.RUnlock()
	if onConnect != nil {
		onConnect(s)
	}
	for {
		s.mu.Lock()
		evs := rs.inbound
		rs.inbound, rs.inboundBytes = nil, 0
		if len(evs) == 0 || !s.connectedLocked() {
			s.rs = nil
			s.resuming.Store(false)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, ev := range evs {
			s.ns.dispatch(s, ev)
		}
	}
}

// endResume ends a resume that will not announce the socket.
func (s *Socket) endResume(rs *resumeState) {
	s.mu.Lock()
	if s.rs == rs {
		s.rs = nil
		s.resuming.Store(false)
	}
	rs.held, rs.inbound, rs.inboundBytes = nil, nil, 0
	s.mu.Unlock()
}

// sendHeld sends the live events held during the replay, in order, less
// those the replay sent, until none are left; then live events go out
// directly.
func (s *Socket) sendHeld(ctx context.Context, rs *resumeState) error {
	for {
		s.mu.Lock()
		if s.state != stateConnected {
			s.mu.Unlock()
			return errLeft
		}
		batch := rs.held
		rs.held = nil
		if len(batch) == 0 {
			rs.holding = false
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		for _, h := range batch {
			if h.seq <= rs.last {
				continue
			}
			if err := s.sendResumed(ctx, rs, h.m, h.seq); err != nil {
				return err
			}
		}
	}
}

// sendResumed queues one replayed or held event, pacing the replay by the
// session's queue: it waits while the queue is half full, so that a long
// replay meets neither the slow-consumer policy nor drops.
func (s *Socket) sendResumed(ctx context.Context, rs *resumeState, m *engine.Message, seq uint64) error {
	if err := s.awaitRoom(ctx, m.Size()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Under the socket's lock: once it has left, nothing more is sent
	// (a DISCONNECT for the namespace is the client's last word of it).
	if s.state != stateConnected {
		return errLeft
	}
	switch err := s.conn.sess.Send(m); {
	case errors.Is(err, engine.ErrMessageTooLarge):
		// Never sendable to this session, live or replayed: skipped, as
		// the live broadcast skipped it (the engine counts it). Failing
		// the replay would only bring the client back to fail again.
		sess := s.conn.sess
		s.ns.srv.cfg.Logger.Debug("replayed event larger than the session's queue bound, skipped", "sid", sess.ID(),
			"socket", s.id, "namespace", s.ns.name, "seq", seq, "bytes", m.Size())
	case err != nil:
		return err
	}
	rs.last = seq
	return nil
}

// Pacing of a replay: the first and the longest wait for the session's
// queue to drain.
const (
	paceFirstWait = time.Millisecond
	paceMaxWait   = 50 * time.Millisecond
)

// awaitRoom waits until the session's queue is at most half full (by
// messages and bytes, with size more), or empty.
func (s *Socket) awaitRoom(ctx context.Context, size int) error {
	cfg := s.ns.srv.eng.Config()
	maxMsgs, maxBytes := cfg.MaxQueueMessages/2, cfg.MaxQueueBytes/2
	wait := paceFirstWait
	var timer *time.Timer
	for {
		n, b := s.conn.sess.Queued()
		if n == 0 || (n < maxMsgs && b+size <= maxBytes) {
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, paceMaxWait)
	}
}

// Recovered reports whether the socket resumed an earlier one's session
// (socket.recovered in socket.io): it got its missed events replayed.
func (s *Socket) Recovered() bool { return s.recovered }
