//go:build linux

package engine

import (
	"net"
	"syscall"
	"unsafe"
)

// iovMax is Linux's bound on one writev's buffers.
const iovMax = 1024

// iovScratch is a writeBufs' room for writev's buffer list.
type iovScratch struct{ iov []syscall.Iovec }

// writeNow writes bufs to rc's socket with writev calls that never wait:
// it returns how many bytes the socket took, and syscall.EAGAIN when it
// could not take them all. It uses wb's scratch.
func writeNow(rc syscall.RawConn, wb *writeBufs, bufs net.Buffers) (int64, error) {
	defer clear(wb.iov[:cap(wb.iov)]) // the pool must not keep the frames
	var written int64
	for len(bufs) > 0 {
		iovs := wb.iov[:0]
		want := int64(0)
		for _, b := range bufs {
			if len(iovs) == iovMax {
				break
			}
			if len(b) == 0 {
				continue
			}
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iovs = append(iovs, v)
			want += int64(len(b))
		}
		wb.iov = iovs
		if len(iovs) == 0 {
			return written, nil
		}
		var n uintptr
		var errno syscall.Errno
		err := rc.Write(func(fd uintptr) bool {
			for {
				n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
				if errno != syscall.EINTR {
					return true // never wait for the socket: the caller decides
				}
			}
		})
		if err != nil {
			return written, err
		}
		if errno != 0 {
			return written, errno
		}
		written += int64(n)
		if int64(n) < want {
			return written, syscall.EAGAIN
		}
		// Past the bufs this call covered.
		covered := 0
		for _, b := range bufs {
			if covered == len(iovs) && len(b) > 0 {
				break
			}
			if len(b) > 0 {
				covered++
			}
			bufs = bufs[1:]
		}
	}
	return written, nil
}
