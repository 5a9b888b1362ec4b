package engine

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// writerPool flushes websocket queues on a few long-lived goroutines,
// instead of starting a goroutine per flush: a broadcast to 10,000
// sockets used to start 10,000 goroutines, whose stacks and scheduling
// were most of a delivery's cost and the tail of its latency.
//
// A writer gives each session one non-blocking vectored write of all it
// has queued. What the socket takes at once (nearly always all of it) is
// done; a socket whose buffer is full hands the rest to a goroutine of
// its own, which writes it within WriteTimeout as flushLoop always has. So
// a slow client never holds a writer, and the others never wait for it.
type writerPool struct {
	srv *Server

	mu      sync.Mutex
	started bool
	closed  bool
	work    chan *Session
	done    sync.WaitGroup
}

// writerQueue bounds the sessions waiting for a writer; past it, a flush
// runs on a goroutine of its own, as without the pool.
const writerQueue = 1 << 14

// submit hands s, whose flushing flag the caller set, to a writer. It
// reports false when the pool cannot take it (closed, or its queue full):
// the caller then flushes on a goroutine of its own.
func (p *writerPool) submit(s *Session) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if !p.started {
		p.started = true
		p.work = make(chan *Session, writerQueue)
		n := runtime.GOMAXPROCS(0)
		for range n {
			p.done.Go(p.run)
		}
	}
	work := p.work
	p.mu.Unlock()
	select {
	case work <- s:
		return true
	default:
		return false
	}
}

func (p *writerPool) run() {
	for s := range p.work {
		s.flushTurn()
	}
}

// close ends the writers once the server's sessions are gone: what is
// still queued to them is flushed first.
func (p *writerPool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	started := p.started
	p.mu.Unlock()
	if started {
		close(p.work)
		p.done.Wait()
	}
}

// flushTurn is a writer's turn at s: one non-blocking write of its whole
// queue, then s goes back to the pool if more was queued meanwhile, or
// to a goroutine of its own if the socket could not take it all.
func (s *Session) flushTurn() {
	if !s.wmu.TryLock() {
		// Someone else writes (the close frame, a probe's answer): wait
		// for them elsewhere.
		s.flushElsewhere()
		return
	}
	s.mu.Lock()
	conn, closed := s.conn, s.closed
	s.mu.Unlock()
	if closed || conn == nil {
		s.wmu.Unlock()
		s.stopFlushing(nil)
		return
	}
	rc := idleConn(conn)
	if rc == nil {
		s.wmu.Unlock()
		s.flushElsewhere()
		return
	}
	// A write that never waits needs no deadline, and an expired one
	// (left by an earlier blocking write) would fail it.
	if !s.writeDeadline.IsZero() {
		s.writeDeadline = time.Time{}
		_ = conn.SetWriteDeadline(time.Time{})
	}
	wb := writeBufsPool.Get().(*writeBufs)
	bufs, taken := s.takeQueued(wb.bufs[:0])
	wb.bufs = bufs
	n, err := writeNow(rc, wb, bufs)
	if errors.Is(err, os.ErrDeadlineExceeded) && n == 0 {
		// A deadline set on conn behind writeDeadline's back: drop it.
		_ = conn.SetWriteDeadline(time.Time{})
		n, err = writeNow(rc, wb, bufs)
	}
	total := int64(0)
	for _, b := range bufs {
		total += int64(len(b))
	}
	switch {
	case err == nil && n == total:
		s.wrote(wb, bufs, taken)
		s.wmu.Unlock()
		s.mu.Lock()
		more := len(s.queue) > 0 && !s.closed
		if !more {
			s.flushing = false
		}
		s.mu.Unlock()
		if more && !s.srv.writers.submit(s) {
			s.flushElsewhere()
		}
	case err != nil && err != syscall.EAGAIN:
		if !atFrameBoundary(bufs, n) {
			s.writeBroken = true
		}
		s.wrote(wb, bufs, taken)
		s.wmu.Unlock()
		s.stopFlushing(err)
	default:
		// The socket took n bytes of total: the rest waits for it on a
		// goroutine that owns wmu until it is written.
		s.srv.track(true)
		go s.finishWrite(conn, wb, bufs, n, taken)
	}
}

// flushElsewhere runs s's flush on a goroutine of its own.
func (s *Session) flushElsewhere() {
	s.srv.track(true)
	go s.flushLoop()
}

// stopFlushing ends s's flush; err, if any, closes the session.
func (s *Session) stopFlushing(err error) {
	s.mu.Lock()
	s.flushing = false
	if err != nil {
		s.closeLocked(ReasonTransportError)
	}
	s.mu.Unlock()
}

// finishWrite writes what a writer's turn left of bufs (the socket took
// the first n bytes), within WriteTimeout, then flushes on as flushLoop.
// It owns wmu, and releases it.
func (s *Session) finishWrite(conn net.Conn, wb *writeBufs, bufs net.Buffers, n int64, taken int) {
	defer s.srv.wg.Done()
	rest := wb.view[:0]
	skip := n
	for _, b := range bufs {
		if skip >= int64(len(b)) {
			skip -= int64(len(b))
			continue
		}
		rest = append(rest, b[skip:])
		skip = 0
	}
	s.refreshWriteDeadline(conn)
	wb.view = rest
	wb.w = rest
	written, err := wb.w.WriteTo(conn)
	if err != nil && !atFrameBoundary(bufs, n+written) {
		s.writeBroken = true
	}
	s.wrote(wb, bufs, taken)
	s.wmu.Unlock()
	if err != nil {
		s.stopFlushing(err)
		return
	}
	s.flushAll()
}
