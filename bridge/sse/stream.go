package sse

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Reason says why a stream ended. The values are the Engine.IO close
// reasons of the same causes, so that logs and lifecycle events read the
// same for a stream as for a socket.
type Reason string

// Stream end reasons.
const (
	ReasonTransportClose Reason = "transport close"      // the client went away
	ReasonTransportError Reason = "transport error"      // a write failed or passed WriteTimeout
	ReasonSlow           Reason = "slow"                 // the queue passed its bound
	ReasonServerShutdown Reason = "server shutting down" // Close, at shutdown
)

// Errors of Stream.Send.
var (
	ErrClosed       = errors.New("sse: stream closed")
	ErrSlowConsumer = errors.New("sse: slow consumer, queue full")
	ErrTooLarge     = errors.New("sse: event larger than MaxQueueBytes")
)

// Config bounds a Stream. Every field must be positive; package bridge
// fills them from the socket.io session's settings, so that a stream
// and a socket get the same limits.
type Config struct {
	// MaxQueueBytes and MaxQueueMessages bound what waits to be written.
	MaxQueueBytes    int
	MaxQueueMessages int
	// DropOldest, at a full queue, drops the oldest queued events until
	// the new one fits, instead of closing the stream with ReasonSlow.
	DropOldest bool
	// WriteTimeout bounds one write (and flush) to the client.
	WriteTimeout time.Duration
	// KeepAlive is how long the stream may be silent before a comment is
	// written.
	KeepAlive time.Duration
}

// Stream is one client's event stream. Send and Close may be called from
// any goroutine; Write and Serve from the request's only.
type Stream struct {
	cfg Config
	w   http.ResponseWriter
	rc  *http.ResponseController

	mu          sync.Mutex
	queue       [][]byte
	queuedBytes int
	closed      bool
	reason      Reason
	wake        chan struct{} // cap 1: something was queued, or the stream closed
}

// NewStream makes the stream of w, a response whose headers the caller
// writes (with Write or Serve's first write) before anything else.
func NewStream(w http.ResponseWriter, cfg Config) *Stream {
	return &Stream{cfg: cfg, w: w, rc: http.NewResponseController(w), wake: make(chan struct{}, 1)}
}

// Send queues frame, one or more whole events (see AppendEvent), to be
// written by Serve. It never blocks. frame must not be changed afterwards;
// one frame may be sent to many streams. At a full queue it closes the
// stream (ErrSlowConsumer), or with Config.DropOldest drops the oldest
// queued frames and reports how many. A frame larger than MaxQueueBytes
// is refused with ErrTooLarge, the stream left as it was.
func (s *Stream) Send(frame []byte) (dropped int, err error) {
	if len(frame) > s.cfg.MaxQueueBytes {
		return 0, ErrTooLarge
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	if len(s.queue) >= s.cfg.MaxQueueMessages || s.queuedBytes+len(frame) > s.cfg.MaxQueueBytes {
		if !s.cfg.DropOldest {
			s.closeLocked(ReasonSlow)
			s.mu.Unlock()
			return 0, ErrSlowConsumer
		}
		for len(s.queue) > 0 && (len(s.queue) >= s.cfg.MaxQueueMessages || s.queuedBytes+len(frame) > s.cfg.MaxQueueBytes) {
			s.queuedBytes -= len(s.queue[0])
			s.queue[0] = nil
			s.queue = s.queue[1:]
			dropped++
		}
	}
	s.queue = append(s.queue, frame)
	s.queuedBytes += len(frame)
	s.mu.Unlock()
	s.signal()
	return dropped, nil
}

// Queued returns the bytes waiting to be written.
func (s *Stream) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queuedBytes
}

// Close ends the stream with reason once what is queued is written (Serve
// returns then). Only the first Close, or the slow-consumer close, sets
// the reason.
func (s *Stream) Close(reason Reason) {
	s.mu.Lock()
	if !s.closed {
		s.closed, s.reason = true, reason
	}
	s.mu.Unlock()
	s.signal()
}

// closeLocked closes the stream at once, dropping what is queued: a slow
// client is not owed the rest.
func (s *Stream) closeLocked(reason Reason) {
	s.closed, s.reason = true, reason
	clear(s.queue)
	s.queue, s.queuedBytes = nil, 0
	s.signal()
}

func (s *Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Write writes frames at once and flushes them, within WriteTimeout: for
// what comes before Serve (the response's first bytes, a replay), in
// order and with backpressure rather than through the queue.
func (s *Stream) Write(frames ...[]byte) error {
	// A server or writer without deadlines (HTTP/2 may lack them, a
	// recorder has none) is written without one.
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	for _, f := range frames {
		if _, err := s.w.Write(f); err != nil {
			return err
		}
	}
	return s.rc.Flush()
}

// Serve writes what Send queues until the stream is closed (it returns
// Close's reason, or ReasonSlow), the client goes away (ctx, the
// request's context, ends: ReasonTransportClose) or a write fails
// (ReasonTransportError). Each wake-up writes the whole queue and flushes
// once. A comment is written after KeepAlive without a write.
func (s *Stream) Serve(ctx context.Context) Reason {
	keepAlive := time.NewTimer(s.cfg.KeepAlive)
	defer keepAlive.Stop()
	var batch [][]byte
	for {
		select {
		case <-ctx.Done():
			s.Close(ReasonTransportClose)
			return s.endReason()
		case <-keepAlive.C:
			if err := s.Write(keepAliveComment); err != nil {
				s.Close(ReasonTransportError)
				return s.endReason()
			}
			keepAlive.Reset(s.cfg.KeepAlive)
			continue
		case <-s.wake:
		}
		s.mu.Lock()
		batch = append(batch[:0], s.queue...)
		clear(s.queue)
		s.queue, s.queuedBytes = s.queue[:0], 0
		closed := s.closed
		s.mu.Unlock()
		if len(batch) > 0 {
			err := s.Write(batch...) // net/http buffers the small frames into larger writes
			clear(batch)
			if err != nil {
				s.Close(ReasonTransportError)
				return s.endReason()
			}
			keepAlive.Reset(s.cfg.KeepAlive)
		}
		if closed {
			return s.endReason()
		}
	}
}

// keepAliveComment is what a silent stream is sent every KeepAlive.
var keepAliveComment = AppendComment(nil, "keep-alive")

// endReason is the reason the stream closed with.
func (s *Stream) endReason() Reason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}
