package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge/sse"
	"github.com/natsock/natsock/protocol/sio"
)

// The reasons a SSEResetEvent gives.
const (
	SSEResetTooOld      = "too_old"     // the events after the id are gone from the stream (older than the window)
	SSEResetUnknownID   = "unknown_id"  // the id is past the stream's last event: not this stream's
	SSEResetUnavailable = "unavailable" // the stream could not be read (recovery not started, JetStream away)
)

// sseReplayBatch is how many bytes of replayed events are written at once.
const sseReplayBatch = 32 << 10

// errSSESlow ends a replay whose stream's live events, held meanwhile,
// passed the queue bound.
var errSSESlow = errors.New("bridge: event stream: live events held during the replay passed MaxQueueBytes")

// sseWriteError is a failed write to the client during a replay.
type sseWriteError struct{ err error }

func (e *sseWriteError) Error() string { return "bridge: event stream: " + e.err.Error() }
func (e *sseWriteError) Unwrap() error { return e.err }

// lastEventID returns the stream sequence a GET /events resumes after:
// its Last-Event-ID header, or (for a client that cannot set one) its
// lastEventId parameter. ok is false when it gives none, or recovery is
// off (a Last-Event-ID is then ignored, whatever it holds).
func (b *Bridge) lastEventID(r *http.Request, q sseQuery) (after uint64, ok bool, err error) {
	if !b.cfg.Recovery {
		return 0, false, nil
	}
	id, given := r.Header.Get("Last-Event-ID"), r.Header.Values("Last-Event-ID") != nil
	if !given && q.hasLastEventID {
		id = q.lastEventID
	}
	if id == "" {
		return 0, false, nil // EventSource sends none before its first id
	}
	after, err = sse.ParseSequenceID(id)
	if err != nil {
		return 0, false, fmt.Errorf("%w: Last-Event-ID: %w (natsock's event ids are stream sequences)", ErrBadSSEQuery, err)
	}
	return after, true, nil
}

// resumeSSE writes the events of c's namespace, rooms and query that the
// recovery stream holds after sequence after, in order, then passes on
// the live events held meanwhile that are newer than the last one
// replayed: nothing twice, nothing skipped. When the stream cannot serve
// the resume (too old, an id not its own, JetStream away), it writes a
// SSEResetEvent instead and passes on every held event. An error means
// the stream must end: the client went away, a write failed, or the live
// events held passed the queue bound (errSSESlow).
func (b *Bridge) resumeSSE(ctx context.Context, c *sseClient, after uint64) error {
	maxBytes := b.sio.Engine().Config().MaxQueueBytes
	st := &b.sse.stats
	var buf []byte
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := c.stream.Write(buf)
		buf = buf[:0]
		if err != nil {
			return &sseWriteError{err}
		}
		return nil
	}
	var sent uint64 // the last sequence the replay wrote
	last, err := b.replayAfter(ctx, after, func(seq uint64, subject string, _ nats.Header, data []byte) error {
		if c.overflowed() {
			return errSSESlow
		}
		route, rule, err := b.mapping.Match(subject)
		// What live delivery drops for everyone is not replayed either.
		if rule == nil || err != nil || !c.reaches(route) || sio.IsReserved(route.Event) || len(data) > maxBytes {
			return nil
		}
		payload, _ := DecodePayload(data)
		f, err := sseFrame(route.Event, payload, seq)
		if err != nil {
			st.BadName.Add(1)
			return nil
		}
		buf = append(buf, f...)
		sent = seq
		st.Replayed.Add(1)
		if len(buf) >= sseReplayBatch {
			return flush()
		}
		return nil
	})
	var werr *sseWriteError
	switch {
	case err == nil:
	case errors.As(err, &werr), errors.Is(err, errSSESlow), ctx.Err() != nil:
		return err
	case b.stopped.Load():
		// NATS is draining under it: the stream ends with the node's
		// others, and the client resumes elsewhere from the same id.
		return err
	case errors.Is(err, ErrReplayTooOld):
		buf = append(buf, b.sseReset(c, after, SSEResetTooOld)...)
	case errors.Is(err, ErrReplayAhead):
		buf = append(buf, b.sseReset(c, after, SSEResetUnknownID)...)
	default:
		b.log.Warn("an event stream's resume could not read the recovery stream; it goes on live after a reset event",
			"stream", c.id, "remote", c.remote, "last_event_id", after, "err", err)
		buf = append(buf, b.sseReset(c, after, SSEResetUnavailable)...)
	}
	if err := flush(); err != nil {
		return err
	}
	if err != nil {
		// A reset: every held event goes on but those the replay had
		// already written before it failed (none: every one, 0).
		last = sent
	} else if werr := b.rec.waitDelivered(ctx, last); werr != nil {
		// The replay may reach a message whose broadcast is still under
		// way, or one a replica had that this node has not delivered
		// yet: once live delivery has passed it on, its live copy is held
		// and dropped below, never sent after the replay's.
		return werr
	}
	if !c.endHold(last) {
		return errSSESlow
	}
	return nil
}

// sseReset is the SSEResetEvent of a resume after that cannot be served.
// Its id is where the stream goes on from: just before the first live
// event held for c, or else the last sequence this node has delivered,
// so that a reconnect before any other event resumes from there.
func (b *Bridge) sseReset(c *sseClient, after uint64, reason string) []byte {
	b.sse.stats.Reset.Add(1)
	var from uint64
	if rec := b.rec; rec != nil {
		from = rec.delivered.Load()
	}
	if first := c.firstHeld(); first != 0 {
		from = min(from, first-1)
	}
	data, _ := json.Marshal(struct {
		LastEventID string `json:"lastEventId"`
		Reason      string `json:"reason"`
	}{strconv.FormatUint(after, 10), reason})
	ev := sse.Event{Name: SSEResetEvent, Data: data}
	if from != 0 {
		ev.ID = strconv.FormatUint(from, 10)
	}
	f, _ := sse.AppendEvent(nil, ev) // no line break in a fixed name, a number or compact JSON
	return f
}

// overflowed reports whether the live events held for c passed the bound.
func (c *sseClient) overflowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.overflow
}

// firstHeld returns the sequence of the first live event held, 0 when none.
func (c *sseClient) firstHeld() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) == 0 {
		return 0
	}
	return c.held[0].seq
}

// endHold queues the held live events newer than last (every one when
// last is 0) and lets later ones through; false means the stream was
// closed as slow, now or while holding.
func (c *sseClient) endHold(last uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	if c.overflow {
		c.stream.Close(sse.ReasonSlow)
		return false
	}
	for _, h := range c.held {
		if last != 0 && h.seq <= last {
			continue
		}
		if _, err := c.stream.Send(h.frame); err == sse.ErrSlowConsumer {
			c.held = nil
			return false
		}
	}
	c.held, c.heldBytes = nil, 0
	return true
}
