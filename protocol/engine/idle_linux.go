//go:build linux

package engine

import (
	"net"
	"syscall"
	"unsafe"
)

// idleConn returns conn's raw socket, to wait on without a buffer, or nil.
func idleConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// waitReadable parks until the socket has bytes (or EOF, or an error) to
// read. It peeks one byte with MSG_PEEK, so it consumes nothing and needs no
// buffer: the parked goroutine holds only this shallow frame.
//
//go:noinline
func waitReadable(rc syscall.RawConn) error {
	var werr error
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EAGAIN {
			return false
		}
		if e != 0 && e != syscall.EINTR { // EINTR: let the read find out
			werr = e
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}
