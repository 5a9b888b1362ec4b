package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// reactor reads every websocket client of a run on one goroutine, from an
// epoll set, in rounds: it takes every socket that is ready, reads each
// once, handles the frames, then sleeps for Config.ReadInterval so that
// the next round finds more sockets ready and more frames in each. A
// goroutine per connection would instead wake a thread for every write
// of a server that writes each frame on its own, at several microseconds
// a wake in a VM.
//
// Sleeping between rounds would make a frame look later than it was, so
// a client takes the time of a read from the kernel (SO_TIMESTAMPNS: when
// the last segment read reached the socket), not from the clock after the
// read.
type reactor struct {
	rs   *runState
	epfd int
	// file is epfd in Go's own poller (an epoll set is readable while
	// it has sockets ready), so that waiting for the first ready socket
	// parks a goroutine rather than blocking a thread in epoll_wait.
	file    *os.File
	clients []atomic.Pointer[wsClient] // by client index, the epoll event's data
	stop    atomic.Bool
	events  []syscall.EpollEvent
	// recvmsg's arguments, reused for every read.
	iov syscall.Iovec
	msg syscall.Msghdr
	oob [64]byte
}

func newReactor(rs *runState, clients int) (*reactor, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("bench: epoll: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("bench: epoll: %w", err)
	}
	r := &reactor{rs: rs, epfd: epfd, file: os.NewFile(uintptr(epfd), "epoll"),
		clients: make([]atomic.Pointer[wsClient], clients), events: make([]syscall.EpollEvent, 512)}
	r.msg.Iov = &r.iov
	r.msg.Iovlen = 1
	r.msg.Control = &r.oob[0]
	return r, nil
}

// add takes client i's socket from net/http's poller into the reactor's.
// From then on the reactor owns it: it reads it, answers pings on it, and
// closes it.
func (r *reactor) add(c *wsClient, i int) error {
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return errors.New("bench: not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) { fd, derr = syscall.Dup(int(s)) }); err != nil {
		return err
	}
	if derr != nil {
		return fmt.Errorf("bench: dup: %w", derr)
	}
	// The copy shares the socket, non-blocking as Go made it. Closing
	// the original takes it out of Go's poller; the socket stays open.
	_ = c.conn.Close()
	syscall.CloseOnExec(fd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		_ = syscall.Close(fd)
		return fmt.Errorf("bench: SO_TIMESTAMPNS: %w", err)
	}
	c.fd, c.detached = fd, true
	r.clients[i].Store(c)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(i)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		r.clients[i].Store(nil)
		_ = syscall.Close(fd)
		return fmt.Errorf("bench: epoll_ctl: %w", err)
	}
	return nil
}

// run reads until close. Frames that arrived while connecting are handled
// in the first round: a socket with data is ready at once.
func (r *reactor) run() {
	rc, err := r.file.SyscallConn()
	if err != nil {
		return
	}
	interval := r.rs.cfg.ReadInterval
	var n int
	wait := func(uintptr) bool {
		n, err = syscall.EpollWait(r.epfd, r.events, 0)
		return n > 0 || (err != nil && err != syscall.EINTR)
	}
	for !r.stop.Load() {
		if rerr := rc.Read(wait); rerr != nil || err != nil {
			return // closed
		}
		for _, ev := range r.events[:n] {
			if c := r.clients[ev.Fd].Load(); c != nil && !c.ended.Load() {
				if err := r.read(c); err != nil {
					r.end(c, int(ev.Fd), err)
				}
			}
		}
		if n < len(r.events) && interval > 0 {
			time.Sleep(interval)
		}
	}
}

// read reads what c's socket holds, once, and handles it.
func (r *reactor) read(c *wsClient) error {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	free := c.buf[c.w:]
	r.iov.Base = &free[0]
	r.iov.SetLen(len(free))
	r.msg.SetControllen(len(r.oob))
	r.msg.Flags = 0
	// Raw: it never blocks, and a thread that the runtime sees in a
	// syscall keeps its monitor thread polling every 20us.
	n, _, errno := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&r.msg)), syscall.MSG_DONTWAIT)
	switch {
	case errno == syscall.EAGAIN || errno == syscall.EINTR:
		return nil
	case errno != 0:
		return errno
	case n == 0:
		return net.ErrClosed // the server closed the connection
	}
	c.w += int(n)
	now, ok := r.kernelTime()
	if !ok {
		now = r.rs.now()
	}
	return c.handleBuffered(r.rs, now)
}

// kernelTime is when the last segment just read reached the socket, on the
// run's clock, from the SCM_TIMESTAMPNS control message.
func (r *reactor) kernelTime() (int64, bool) {
	b := r.oob[:r.msg.Controllen]
	const hdr = syscall.SizeofCmsghdr
	for len(b) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hdr || l > len(b) {
			return 0, false
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= hdr+16 {
			sec := int64(binary.NativeEndian.Uint64(b[hdr:]))
			nsec := int64(binary.NativeEndian.Uint64(b[hdr+8:]))
			return sec*1e9 + nsec - r.rs.wallStart, true
		}
		b = b[min(len(b), (l+7)&^7):]
	}
	return 0, false
}

// end closes a client the server ended or that broke.
func (r *reactor) end(c *wsClient, i int, err error) {
	if errors.Is(err, net.ErrClosed) {
		err = errServerClosed
	}
	c.err = err
	_ = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	_ = syscall.Close(c.fd)
	r.clients[i].Store(nil)
	c.ended.Store(true)
}

// close stops run; the caller waits for it, then calls release.
func (r *reactor) close() {
	r.stop.Store(true)
	_ = r.file.Close() // wakes run's wait; closes epfd
}

// release closes the sockets and the epoll set once run has returned.
func (r *reactor) release() {
	for i := range r.clients {
		if c := r.clients[i].Load(); c != nil {
			_ = syscall.Close(c.fd)
			r.clients[i].Store(nil)
			c.ended.Store(true)
		}
	}
}

// writeFD writes a control frame on a detached client's socket.
func (c *wsClient) writeFD(p []byte) error {
	for tries := 0; len(p) > 0; tries++ {
		n, err := syscall.Write(c.fd, p)
		if err == syscall.EAGAIN && tries < 1000 {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}
