//go:build !linux

package engine

import (
	"errors"
	"net"
	"syscall"
)

// writeNow is Linux's: elsewhere idleConn returns nil, and writers hand
// every flush to a goroutine of its own before they would call it.
func writeNow(syscall.RawConn, *writeBufs, net.Buffers) (int64, error) {
	return 0, errors.New("engine: non-blocking writes are Linux's")
}

type iovScratch struct{}
