package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS([]byte("Name:\tnatsock\nVmPeak:\t  9000 kB\nVmRSS:\t   20480 kB\nThreads:\t5\n"))
	if err != nil || got != 20480<<10 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 20480<<10)
	}
	if _, err := parseVmRSS([]byte("Name:\tzombie\nState:\tZ\n")); err == nil {
		t.Error("a status without VmRSS was accepted")
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis, then fields 3 to 17.
	stat := "1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 300*clockTick {
		t.Errorf("parseStatCPU = %v, %v; want %v", got, err, 300*clockTick)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1 2")); err == nil {
		t.Error("a short stat line was accepted")
	}
}

func TestProcReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here")
	}
	if rss, err := procRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("procRSS = %d, %v", rss, err)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if cpu, err := procCPU(os.Getpid()); err != nil || cpu <= 0 {
		t.Errorf("procCPU = %v, %v", cpu, err)
	}
}
