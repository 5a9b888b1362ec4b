package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// procRSS is a process's resident set size in bytes, VmRSS in
// /proc/PID/status.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("bench: server memory: %w", err)
	}
	return parseVmRSS(b)
}

func parseVmRSS(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 2 && string(f[1]) == "kB" {
			if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				return kb << 10, nil
			}
		}
		return 0, fmt.Errorf("bench: server memory: bad line %q", bytes.TrimSpace(line))
	}
	return 0, fmt.Errorf("bench: server memory: no VmRSS line (is the process a zombie?)")
}

// clockTick is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procCPU is the CPU time a process has used so far, user and system
// (utime and stime in /proc/PID/stat), in clock ticks of 10ms.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("bench: server CPU: %w", err)
	}
	return parseStatCPU(b)
}

func parseStatCPU(stat []byte) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces
	// and parentheses: the fields after it start after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: server CPU: malformed /proc stat")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: server CPU: malformed /proc stat")
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: server CPU: malformed /proc stat")
	}
	return time.Duration(utime+stime) * clockTick, nil
}
