package engine

import (
	"bufio"
	"net"
	"sync"
	"syscall"
)

// An idleWatcher holds the websocket connections that have nothing to
// read, so that an idle connection costs neither a read buffer nor a
// goroutine of its own, and hands each back to a goroutine once it has
// bytes. Two implement it: epollWatcher (Linux) keeps every idle
// connection in one epoll set served by one goroutine; goroutineWatcher,
// the portable path, parks one shallow goroutine per connection.
type idleWatcher interface {
	// watch arranges for s's conn to be read once it has bytes, EOF or
	// an error. It reports false when it cannot watch conn; the caller
	// then reads conn on its own goroutine.
	watch(s *Session, conn net.Conn) bool
	// forget drops s, once its transport is closed.
	forget(s *Session)
	// close releases the watcher, once no session is left to watch.
	close()
}

// newIdleWatcher returns the server's watcher: epoll where the system has
// it (and portableIdle is unset), else a goroutine per idle connection.
func newIdleWatcher(srv *Server) idleWatcher {
	if !portableIdle {
		if w := newEpollWatcher(srv); w != nil {
			return w
		}
	}
	return goroutineWatcher{srv}
}

// portableIdle makes new servers use goroutineWatcher even where epoll
// exists: the tests run the package's suite on both paths.
var portableIdle = false

// goroutineWatcher parks one goroutine per idle connection. On Linux the
// goroutine waits with a one-byte MSG_PEEK, so it holds no read buffer;
// elsewhere it cannot wait without reading, and watch declines.
type goroutineWatcher struct{ srv *Server }

func (g goroutineWatcher) watch(s *Session, conn net.Conn) bool {
	rc := idleConn(conn)
	if rc == nil {
		return false
	}
	g.srv.track(true)
	go s.idleLoop(rc, conn)
	return true
}

func (goroutineWatcher) forget(*Session) {}
func (goroutineWatcher) close()          {}

func (s *Session) idleLoop(rc syscall.RawConn, conn net.Conn) {
	defer s.srv.wg.Done()
	for {
		if err := waitReadable(rc); err != nil {
			s.closeFor(err)
			return
		}
		if s.readPooled(conn) {
			return
		}
	}
}

//go:noinline
func (s *Session) closeFor(err error) { s.CloseWith(closeReasonFor(err)) }

// readers lends read buffers to connections that have bytes waiting.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// readPooled handles what conn has to read with a borrowed buffer; it
// reports whether the session ended.
//
//go:noinline
func (s *Session) readPooled(conn net.Conn) bool {
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	ended := s.readSome(br)
	br.Reset(nil)
	readers.Put(br)
	return ended
}
