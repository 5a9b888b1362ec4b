package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors of a replay. A caller that gets one of them knows the client
// cannot be brought up to date from the stream and must start afresh
// (socket.recovered false; an SSE stream without its backlog).
var (
	// ErrReplayTooOld: the message right after the offset is no longer in
	// the stream (older than the recovery window, or deleted).
	ErrReplayTooOld = errors.New("bridge: replay: the stream no longer holds the messages after this offset (older than the recovery window)")
	// ErrReplayAhead: the offset is past the stream's last message, so it
	// is not one this stream gave (a stream made anew, or a made-up
	// offset).
	ErrReplayAhead = errors.New("bridge: replay: the offset is past the stream's last message")
	// ErrRecoveryOff: Config.Recovery is off, or Run has not set it up.
	ErrRecoveryOff = errors.New("bridge: recovery is off")
)

const (
	// recentChunk is how many messages a replay from memory copies at
	// once.
	recentChunk = 256
	// replayBatch is how many messages one direct get asks for.
	replayBatch = 256
	// replayTimeout bounds the wait for each answer of a direct get.
	replayTimeout = 5 * time.Second
	// replayStaleTries bounds the re-reads when the replica answering a
	// direct get is behind what this node has delivered (see replayAfter).
	replayStaleTries = 40
	replayStaleDelay = 25 * time.Millisecond
)

// directGetRequest is JetStream's batched direct get ($JS.API.DIRECT.GET):
// Batch messages from sequence Seq on, then an end-of-batch status.
type directGetRequest struct {
	Seq   uint64 `json:"seq"`
	Batch int    `json:"batch"`
}

// The headers JetStream adds to a message read by direct get; replay
// removes them, so that fn sees the headers the publisher sent.
var directGetHeaders = []string{
	jetstream.StreamHeader, jetstream.SubjectHeader, jetstream.SequenceHeader,
	jetstream.TimeStampHeaer, "Nats-Num-Pending", "Nats-Last-Sequence", "Nats-UpTo-Sequence",
}

// replayAfter calls fn, in stream order, for every message of the recovery
// stream after sequence after, up to the present: at least up to the last
// message this node had delivered live when it was called. It returns the
// last sequence it passed to fn (after, when there was none). An error from
// fn stops it and is returned as is.
//
// It fails with ErrReplayTooOld when message after+1 is gone (expired or
// deleted: the client missed something it cannot have), ErrReplayAhead when
// after is past the stream's last message, and ErrRecoveryOff when there is
// no stream. fn sees every subject of the stream, mapped or not; the caller
// filters (see Mapping.Match) as live delivery would.
//
// To splice a replay with live delivery, without a gap or a duplicate,
// start holding the live messages first (their sequence is the one
// deliverStream passes on), then replay, then pass on the held and later
// live messages whose sequence is above the returned last.
//
// It serves the replay from the node's memory of what it delivered last
// (recentLog) when that holds everything after the offset; otherwise it
// reads the stream by JetStream's batched direct get, which needs no
// consumer and may be answered by any replica; a replica behind this
// node's delivery is re-read (bounded by replayStaleTries). fn must not
// change hdr or data: they may be shared with other replays.
func (b *Bridge) replayAfter(ctx context.Context, after uint64, fn func(seq uint64, subject string, hdr nats.Header, data []byte) error) (last uint64, err error) {
	rec := b.rec
	nc := b.conn.Load()
	if rec == nil || nc == nil {
		return after, ErrRecoveryOff
	}
	if after == math.MaxUint64 {
		// No stream reaches it, and after+1 would wrap to 0, which a
		// direct get refuses as an empty request.
		return after, fmt.Errorf("%w (offset %d)", ErrReplayAhead, after)
	}
	// From this node's memory when it holds everything after the offset
	// (the usual case: a client away for a moment), a chunk at a time.
	// Should the memory move past the replay meanwhile (the window, or
	// its bounds), the rest is read from the stream. It stops at what
	// live delivery had taken in when it began (rec.recorded: the caller
	// holds what is broadcast later), so that a replay slower than the
	// publishers ends.
	last = after
	end := rec.recorded.Load()
	var chunk []recentMsg
	for {
		msgs, ok, tooOld := rec.recent.since(chunk, last, time.Now(), recentChunk)
		chunk = msgs
		if !ok {
			break
		}
		if tooOld && last == after {
			return after, fmt.Errorf("%w (the message after offset %d is older than the window)", ErrReplayTooOld, after)
		}
		for _, m := range msgs {
			if m.seq > end {
				return last, nil
			}
			if err := fn(m.seq, m.subject, m.hdr, m.data); err != nil {
				return last, err
			}
			last = m.seq
		}
		clear(msgs) // no chunk keeps data the memory has let go
		if len(msgs) < recentChunk || last >= end {
			return last, nil
		}
	}
	after = last
	release, err := rec.acquireRead(ctx)
	if err != nil {
		return after, err
	}
	defer release()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return after, fmt.Errorf("bridge: replay: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	last = after
	checked := false // message after+1 was seen, or shown not to be due
	// What live delivery had taken in when the replay began (recorded,
	// which a message reaches before its broadcast): the replay reaches
	// at least this far, whichever replica answers.
	floor := rec.recorded.Load()
	for tries := 0; ; {
		more, err := b.replayBatch(ctx, nc, sub, inbox, &last, &checked, after, fn)
		if err != nil {
			return last, err
		}
		if more {
			continue
		}
		if last >= floor {
			return last, nil
		}
		// The stream ended, for the replica that answered, before what this
		// node has delivered: that replica is behind. Ask again.
		if tries++; tries > replayStaleTries {
			return last, fmt.Errorf("bridge: replay: the stream replica answering reads stays behind this node's delivery (sequence %d, this node delivered %d)", last, floor)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(replayStaleDelay):
		}
	}
}

// replayBatch asks for one batch after *last and passes its messages to
// fn. more reports that the stream holds more after this batch.
func (b *Bridge) replayBatch(ctx context.Context, nc *nats.Conn, sub *nats.Subscription, inbox string, last *uint64, checked *bool,
	after uint64, fn func(uint64, string, nats.Header, []byte) error) (more bool, err error) {
	req, _ := json.Marshal(directGetRequest{Seq: *last + 1, Batch: replayBatch})
	if err := nc.PublishRequest("$JS.API.DIRECT.GET."+b.cfg.RecoveryStream, inbox, req); err != nil {
		return false, fmt.Errorf("bridge: replay: %w", err)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, replayTimeout)
		m, err := sub.NextMsgWithContext(rctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no answer from the stream within %v", replayTimeout)
			}
			return false, fmt.Errorf("bridge: replay: %w", err)
		}
		if m.Header.Get(jetstream.SequenceHeader) == "" {
			// A status: its own "Status" header is only trusted on a
			// message without a sequence (a publisher's headers may name
			// anything).
			switch status := m.Header.Get("Status"); status {
			case "204": // end of batch
				return m.Header.Get("Nats-Num-Pending") != "0", nil
			case "404": // nothing at or after the sequence asked for
				if !*checked {
					if err := b.checkOffset(ctx, after); err != nil {
						return false, err
					}
					*checked = true
				}
				return false, nil
			default:
				return false, fmt.Errorf("bridge: replay: the stream answered %q %s", status, m.Header.Get("Description"))
			}
		}
		seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil {
			return false, fmt.Errorf("bridge: replay: a message without its sequence: %w", err)
		}
		if !*checked {
			if seq != after+1 {
				return false, fmt.Errorf("%w (the first message after offset %d is %d)", ErrReplayTooOld, after, seq)
			}
			*checked = true
		}
		if seq <= *last {
			continue // a replica's answer overlapping an earlier one
		}
		subject := m.Header.Get(jetstream.SubjectHeader)
		hdr := m.Header
		for _, h := range directGetHeaders {
			hdr.Del(h)
		}
		if len(hdr) == 0 {
			hdr = nil
		}
		if err := fn(seq, subject, hdr, m.Data); err != nil {
			return false, err
		}
		*last = seq
	}
}

// checkOffset tells, when the stream holds nothing after offset, whether
// that is because the client is up to date (nil), because what it missed
// expired (ErrReplayTooOld), or because the offset is not this stream's
// (ErrReplayAhead). It asks the stream's leader.
func (b *Bridge) checkOffset(ctx context.Context, offset uint64) error {
	if offset == b.rec.delivered.Load() {
		return nil // the last message this node delivered: up to date
	}
	st, err := b.rec.js.Stream(ctx, b.cfg.RecoveryStream)
	if err != nil {
		return fmt.Errorf("bridge: replay: stream info: %w", err)
	}
	state := st.CachedInfo().State
	switch {
	case offset > state.LastSeq:
		return fmt.Errorf("%w (offset %d, last %d)", ErrReplayAhead, offset, state.LastSeq)
	case offset+1 < state.FirstSeq:
		return fmt.Errorf("%w (offset %d, first held %d)", ErrReplayTooOld, offset, state.FirstSeq)
	}
	return nil // up to date, or the replica that answered is behind (replayAfter asks again)
}
