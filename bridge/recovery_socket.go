package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsock/natsock/protocol/sio"
	"github.com/natsock/natsock/protocol/socketio"
)

// socketRecovery is the bridge's side of the engine's recovery seam
// (socketio.Recovery): pids signed with the key all nodes share, checked
// against the new handshake's identity and namespace, and replays read
// from the recovery stream. The engine does the wire part: the pid in the
// CONNECT answer, the offset on each event, holding live events while a
// replay runs, and sending each seq once.
//
// A resume is honoured (socket.recovered true) when the pid is this
// cluster's, for this namespace and this identity, from this incarnation
// of the stream, and the stream still holds the message right after the
// client's offset: then nothing the client missed is gone. Otherwise the
// socket connects afresh with a new pid (recovered false) and the
// application refetches. All of that is decided in Resume, before the
// CONNECT answer, with at most one read of the stream; the replay itself
// runs after it, on the engine's resume goroutine.
type socketRecovery struct{ b *Bridge }

var _ socketio.Recovery = socketRecovery{}

// RecoveryStats count resumes.
type RecoveryStats struct {
	Recovered atomic.Uint64 // resumes honoured (socket.recovered true)
	Refused   atomic.Uint64 // resumes refused: bad, forged or foreign pid, offset outside the stream or the window
	Replayed  atomic.Uint64 // events replayed to resumed sockets
	Failed    atomic.Uint64 // replays that failed after the resume was honoured (the client reconnects and resumes again)
	NewPIDs   atomic.Uint64 // pids issued
	Skipped   atomic.Uint64 // stream messages live delivery never got: gone from the stream before it read them
}

// RecoveryStats returns the recovery counters (zero while Recovery is off).
func (b *Bridge) RecoveryStats() *RecoveryStats { return &b.recStats }

// errNotStarted answers the seam before Run has set recovery up (the
// listener is not open then, so no client can ask).
var errNotStarted = errors.New("bridge: recovery not started")

// NewPID signs a pid for s: its namespace, its identity, the stream's
// incarnation, and the sequence live delivery has reached, from which a
// resume without an offset replays.
func (sr socketRecovery) NewPID(s *socketio.Socket) (string, error) {
	b := sr.b
	rec := b.rec
	if rec == nil {
		return "", errNotStarted
	}
	b.recStats.NewPIDs.Add(1)
	t := pidTicket{Issued: time.Now(), Stream: rec.created, Start: rec.delivered.Load(), SocketID: s.ID()}
	return rec.pids.issue(t, s.Namespace().Name(), identityBinding(identityOf(s))), nil
}

// Resume checks a resume and returns its replay; see socketRecovery.
func (sr socketRecovery) Resume(s *socketio.Socket, req socketio.ResumeRequest) (socketio.Resumption, error) {
	b := sr.b
	rec := b.rec
	if rec == nil {
		return socketio.Resumption{}, errNotStarted
	}
	after, t, err := rec.resumeFrom(req, s.Namespace().Name(), identityBinding(identityOf(s)))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HandshakeTimeout)
		err = b.probeOffset(ctx, after)
		cancel()
	}
	if err != nil {
		b.recStats.Refused.Add(1)
		return socketio.Resumption{}, fmt.Errorf("bridge: resume refused: %w", err)
	}
	b.recStats.Recovered.Add(1)
	if t.SocketID != "" {
		// What was sent to the old id reaches the socket, replayed and
		// live, also when it must take a new id: its old socket, whose
		// loss this node has not seen yet (a half-open connection waiting
		// for its ping to time out), still holds the old one.
		s.Join(t.SocketID)
	}
	return socketio.Resumption{
		ID: t.SocketID,
		Replay: func(ctx context.Context, emit func(event string, d socketio.Data, seq uint64) error) error {
			err := b.replaySocket(ctx, s, after, emit)
			if err != nil && s.Connected() {
				b.recStats.Failed.Add(1)
			}
			return err
		},
	}, nil
}

// resumeFrom checks a resume's pid and returns the sequence to replay
// after: the client's offset, or the pid's start when it sent none.
func (rec *recovery) resumeFrom(req socketio.ResumeRequest, ns string, binding []byte) (uint64, pidTicket, error) {
	t, err := rec.pids.check(req.PID, ns, binding)
	if err != nil {
		return 0, t, err
	}
	if t.Stream != rec.created {
		return 0, t, errPIDStream
	}
	if !req.HasOffset {
		return t.Start, t, nil
	}
	if req.Offset < t.Start {
		return 0, t, fmt.Errorf("%w (offset %d, the pid's start %d)", errPIDOffset, req.Offset, t.Start)
	}
	return req.Offset, t, nil
}

// replaySocket emits to s, in order, what live delivery would have sent
// it after sequence after: the messages of the stream whose rule routes
// them to s's namespace and to one of its rooms (or its id), decoded as
// live delivery decodes them. It returns once live delivery has passed
// the last message replayed, so that the engine, which holds live events
// until then and sends each seq once, gets none of them twice.
func (b *Bridge) replaySocket(ctx context.Context, s *socketio.Socket, after uint64, emit func(string, socketio.Data, uint64) error) error {
	ns := s.Namespace().Name()
	rooms := map[string]struct{}{s.ID(): {}} // the id it resumed with
	for _, r := range s.Rooms() {
		rooms[r] = struct{}{}
	}
	maxBytes := b.sio.Engine().Config().MaxQueueBytes
	last, err := b.replayAfter(ctx, after, func(seq uint64, subject string, _ nats.Header, payload []byte) error {
		route, rule, err := b.mapping.Match(subject)
		if rule == nil || err != nil || sio.IsReserved(route.Event) || len(payload) > maxBytes || route.Namespace != ns {
			return nil // live delivery drops it too, or sends it elsewhere
		}
		if _, in := rooms[route.Room]; route.Room != "" && !in {
			return nil
		}
		data, _ := DecodePayload(payload)
		if err := emit(route.Event, data, seq); err != nil {
			return err
		}
		b.recStats.Replayed.Add(1)
		return nil
	})
	if err != nil {
		return err
	}
	return b.rec.waitDelivered(ctx, last)
}

// probeOffset checks, from this node's memory or with one direct get,
// that the stream still holds everything after offset: the message offset+1, or nothing because the
// client is up to date. It fails with ErrReplayTooOld or ErrReplayAhead
// as replayAfter would.
func (b *Bridge) probeOffset(ctx context.Context, offset uint64) error {
	if offset == math.MaxUint64 {
		return fmt.Errorf("%w (offset %d)", ErrReplayAhead, offset) // offset+1 would wrap to 0
	}
	if ok, tooOld := b.rec.recent.holds(offset, time.Now()); ok {
		// This node delivered everything after offset a moment ago.
		if tooOld {
			return fmt.Errorf("%w (the message after offset %d is older than the window)", ErrReplayTooOld, offset)
		}
		return nil
	}
	release, err := b.rec.acquireRead(ctx)
	if err != nil {
		return err
	}
	defer release()
	nc := b.conn.Load()
	req, _ := json.Marshal(struct {
		Seq uint64 `json:"seq"`
	}{offset + 1})
	m, err := nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+b.cfg.RecoveryStream, req)
	if err != nil {
		return fmt.Errorf("bridge: reading the recovery stream: %w", err)
	}
	if seq := m.Header.Get(jetstream.SequenceHeader); seq != "" {
		if seq != strconv.FormatUint(offset+1, 10) {
			return fmt.Errorf("bridge: reading the recovery stream: asked for %d, got %s", offset+1, seq)
		}
		return nil
	}
	if status := m.Header.Get("Status"); status != "404" {
		return fmt.Errorf("bridge: reading the recovery stream: answered %q %s", status, m.Header.Get("Description"))
	}
	return b.checkOffset(ctx, offset)
}
