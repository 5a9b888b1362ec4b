//go:build unix

package bench

import (
	"syscall"
	"time"
)

// selfCPU is the CPU time this process has used so far, user and system,
// from getrusage.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
