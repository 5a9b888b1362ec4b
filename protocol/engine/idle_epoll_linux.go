//go:build linux

package engine

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
)

// epollWatcher keeps idle websocket connections in one epoll set. Each is
// registered level-triggered and one-shot: when it has bytes (or EOF, or
// an error) the watcher's goroutine starts a reader for it, and the reader
// arms it again once it has read all that was waiting. An idle connection
// costs a map entry and the kernel's epoll item; no goroutine, no buffer.
//
// Tokens, not file descriptors, name the connections in the set: a closed
// descriptor's number is soon reused, and an event already collected for
// the old connection must not reach the new one. The set is created, and
// its goroutine started, on the first watch.
type epollWatcher struct {
	srv *Server

	mu       sync.Mutex
	started  bool
	closed   bool
	epfd     int
	wake     [2]int // a pipe: a byte on wake[1] ends the loop
	next     uint64
	sessions map[uint64]*Session
	done     chan struct{}
	// jobs hands ready connections to the long-lived readers, queued
	// (a goroutine per wake cost more than the reads); when the queue is
	// full, a ready connection gets a goroutine of its own. A reader
	// never waits on the network (read handles only whole frames), but it
	// runs the Handler: a handler that blocks (the Handler documents it
	// must not) holds one of the 2*GOMAXPROCS readers meanwhile.
	jobs    chan readJob
	readers sync.WaitGroup
}

type readJob struct {
	s   *Session
	tok uint64
}

// wakeToken names the wake pipe in the set; session tokens start at 1.
const wakeToken = 0

const epollArm = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func newEpollWatcher(srv *Server) idleWatcher {
	return &epollWatcher{srv: srv, sessions: make(map[uint64]*Session)}
}

// startLocked creates the epoll set and its goroutine.
func (w *epollWatcher) startLocked() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		_ = syscall.Close(epfd)
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	setToken(&ev, wakeToken)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(p[0])
		_ = syscall.Close(p[1])
		return err
	}
	w.epfd, w.wake, w.started = epfd, p, true
	w.done = make(chan struct{})
	w.jobs = make(chan readJob, 256)
	for range 2 * runtime.GOMAXPROCS(0) {
		w.readers.Go(func() {
			for j := range w.jobs {
				w.read(j.s, j.tok)
			}
		})
	}
	go w.run(epfd, p[0], w.done)
	return nil
}

func setToken(ev *syscall.EpollEvent, tok uint64) {
	ev.Fd = int32(uint32(tok))
	ev.Pad = int32(uint32(tok >> 32))
}

func token(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

func (w *epollWatcher) watch(s *Session, conn net.Conn) bool {
	rc := idleConn(conn)
	if rc == nil {
		return false
	}
	// s.mu orders this against the session's close: either the close
	// comes first and nothing is registered, or the token is on the
	// session when finish calls forget.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return true // the close tears the connection down
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		s.mu.Unlock()
		return false
	}
	if !w.started {
		if err := w.startLocked(); err != nil {
			w.mu.Unlock()
			s.mu.Unlock()
			w.srv.cfg.Logger.Warn("epoll unavailable: idle connections wait on goroutines", "err", err)
			return false
		}
	}
	w.next++
	tok := w.next
	w.sessions[tok] = s
	epfd := w.epfd
	w.mu.Unlock()
	s.idleToken = tok
	s.mu.Unlock()
	if err := arm(rc, epfd, tok, syscall.EPOLL_CTL_ADD); err != nil {
		w.forget(s)
		return false
	}
	return true
}

// arm registers (op EPOLL_CTL_ADD) or re-arms (EPOLL_CTL_MOD) conn's
// descriptor. RawConn.Control holds the descriptor open meanwhile, so its
// number cannot be another connection's by then.
func arm(rc syscall.RawConn, epfd int, tok uint64, op int) error {
	var cerr error
	err := rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: epollArm}
		setToken(&ev, tok)
		cerr = syscall.EpollCtl(epfd, op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	return cerr
}

func (w *epollWatcher) forget(s *Session) {
	s.mu.Lock()
	tok := s.idleToken
	s.idleToken = 0
	s.mu.Unlock()
	if tok == 0 {
		return
	}
	w.mu.Lock()
	delete(w.sessions, tok)
	w.mu.Unlock()
	// A closed descriptor leaves the epoll set by itself; one still open
	// (a forget before its close) would only wake a reader that finds
	// its token gone.
}

// run collects events until the wake pipe is written.
func (w *epollWatcher) run(epfd, wake int, done chan struct{}) {
	defer close(done)
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			w.srv.cfg.Logger.Error("epoll wait failed: idle websocket connections are no longer read", "err", err)
			return
		}
		for i := range events[:n] {
			tok := token(&events[i])
			if tok == wakeToken {
				return
			}
			// The reader is counted as a request is: track refuses once
			// Close has begun (Close then closes the session itself), and
			// otherwise its count happens before Close waits, through the
			// server's lock. Counting under w.mu, while the token is
			// known, keeps a session's reader from starting after its
			// teardown has forgotten it.
			w.mu.Lock()
			s := w.sessions[tok]
			if s != nil && !w.srv.track(false) {
				s = nil
			}
			w.mu.Unlock()
			if s == nil {
				continue
			}
			select {
			case w.jobs <- readJob{s, tok}:
			default:
				go w.read(s, tok)
			}
		}
	}
}

// read handles what s's connection has waiting, then arms it again.
//
// It reads what the socket holds without waiting. When that is whole
// websocket frames (nearly always: a client's event or pong is one small
// frame), they are handled from memory, so the read can never block and
// it may run on one of the watcher's long-lived readers. A frame that
// continues past what has arrived is finished on a goroutine of its own,
// which may wait for the rest (within the client's heartbeat).
func (w *epollWatcher) read(s *Session, tok uint64) {
	defer w.srv.wg.Done()
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	rc := idleConn(conn)
	if rc == nil {
		return
	}
	buf := readBufs.Get().(*[]byte)
	n, err := readNow(rc, *buf)
	switch {
	case err == syscall.EAGAIN:
		readBufs.Put(buf)
		w.rearm(s, tok, rc) // woken for nothing
		return
	case err != nil:
		readBufs.Put(buf)
		s.closeFor(err)
		return
	}
	data := (*buf)[:n]
	if wholeFrames(data) < n {
		rest := bytes.Clone(data)
		readBufs.Put(buf)
		w.srv.track(true)
		go w.finishRead(s, tok, conn, rc, rest)
		return
	}
	ended := s.readBytes(data)
	readBufs.Put(buf)
	if !ended {
		w.rearm(s, tok, rc)
	}
}

// finishRead handles rest, which ends inside a frame, and what follows it
// on conn up to a message boundary, then arms the connection again.
func (w *epollWatcher) finishRead(s *Session, tok uint64, conn net.Conn, rc syscall.RawConn, rest []byte) {
	defer w.srv.wg.Done()
	br := readers.Get().(*bufio.Reader)
	br.Reset(io.MultiReader(bytes.NewReader(rest), conn))
	ended := s.readSome(br)
	br.Reset(nil)
	readers.Put(br)
	if !ended {
		w.rearm(s, tok, rc)
	}
}

// rearm arms s's connection again, unless s has been forgotten.
func (w *epollWatcher) rearm(s *Session, tok uint64, rc syscall.RawConn) {
	w.mu.Lock()
	live, epfd := w.sessions[tok] == s, w.epfd
	w.mu.Unlock()
	if !live {
		return
	}
	if err := arm(rc, epfd, tok, syscall.EPOLL_CTL_MOD); err != nil {
		s.closeFor(err)
	}
}

// readBufs lends the readers the buffer one read fills.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readNowSize); return &b }}

// readNowSize is what one read takes from a socket: many small frames.
const readNowSize = 4096

// readNow reads what rc's socket holds into buf without waiting for more:
// syscall.EAGAIN when it holds nothing, io.EOF when the client closed.
func readNow(rc syscall.RawConn, buf []byte) (int, error) {
	var n int
	var errno error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), buf)
			if errno != syscall.EINTR {
				return true // never wait: the caller re-arms epoll
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != nil:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (w *epollWatcher) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	started, done := w.started, w.done
	w.mu.Unlock()
	if !started {
		return
	}
	_, _ = syscall.Write(w.wake[1], []byte{1})
	<-done
	close(w.jobs)
	w.readers.Wait()
	_ = syscall.Close(w.epfd)
	_ = syscall.Close(w.wake[0])
	_ = syscall.Close(w.wake[1])
}
