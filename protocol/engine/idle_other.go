//go:build !linux

package engine

import (
	"net"
	"syscall"
)

// idleConn returns nil: without Linux's MSG_PEEK wait, a connection keeps
// its read buffer while idle.
func idleConn(net.Conn) syscall.RawConn { return nil }

func waitReadable(syscall.RawConn) error { return nil }

// newEpollWatcher returns nil: epoll is Linux's.
func newEpollWatcher(*Server) idleWatcher { return nil }
