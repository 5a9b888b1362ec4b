package conformance

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// The protocol gives a client windows of 200 ms (pingTimeout) and 300 ms
// (pingInterval). A loaded machine, or the race detector's own pauses, can
// stall this whole process, server and client alike, for longer than that;
// a test whose window closed during such a stall says nothing about the
// server. So the timing-sensitive tests run as attempts: an attempt that
// fails while the process was seen to stall is inconclusive and is made
// again, up to maxAttempts times. A failure in an attempt without a stall
// fails the test at once.

const (
	// maxAttempts bounds the attempts of one test.
	maxAttempts = 3
	// stallLimit is the longest scheduling delay after which an attempt
	// still counts: half the shortest window of the protocol.
	stallLimit = 100 * time.Millisecond
	// stallTick is how often the stall watch looks at the clock.
	stallTick = 5 * time.Millisecond
)

// stallWatch records the longest delay of a ticker in this process, which
// is how long the process could not run its goroutines.
type stallWatch struct {
	worst atomic.Int64 // nanoseconds
	stop  chan struct{}
	done  chan struct{}
}

func startStallWatch() *stallWatch {
	w := &stallWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		ticker := time.NewTicker(stallTick)
		defer ticker.Stop()
		last := time.Now()
		for {
			select {
			case <-w.stop:
				return
			case <-ticker.C:
				now := time.Now()
				if late := int64(now.Sub(last) - stallTick); late > w.worst.Load() {
					w.worst.Store(late)
				}
				last = now
			}
		}
	}()
	return w
}

func (w *stallWatch) stalled() (time.Duration, bool) {
	d := time.Duration(w.worst.Load())
	return d, d > stallLimit
}

func (w *stallWatch) close() {
	close(w.stop)
	<-w.done
}

// inconclusive is the panic value that ends an attempt spoiled by a stall.
type inconclusive struct{ msg string }

// attemptT is the testing.TB of one attempt: its Fatal family ends the
// attempt as inconclusive when the process stalled, and fails the test
// otherwise.
type attemptT struct {
	testing.TB
	watch *stallWatch
}

func (a *attemptT) spoiled(msg string) {
	if d, stalled := a.watch.stalled(); stalled {
		panic(inconclusive{fmt.Sprintf("%s (the process stalled for %v)", msg, d.Round(time.Millisecond))})
	}
}

func (a *attemptT) Fatalf(format string, args ...any) {
	a.TB.Helper()
	a.spoiled(fmt.Sprintf(format, args...))
	a.TB.Fatalf(format, args...)
}

func (a *attemptT) Fatal(args ...any) {
	a.TB.Helper()
	a.spoiled(fmt.Sprint(args...))
	a.TB.Fatal(args...)
}

func (a *attemptT) FailNow() {
	a.TB.Helper()
	a.spoiled("FailNow")
	a.TB.FailNow()
}

// attempt runs try until an attempt is conclusive, at most maxAttempts
// times.
func attempt(t *testing.T, try func(t testing.TB)) {
	t.Helper()
	for i := 1; i <= maxAttempts; i++ {
		if runAttempt(t, try) {
			return
		}
		t.Logf("attempt %d of %d was inconclusive", i, maxAttempts)
	}
	t.Fatalf("%d attempts in a row were spoiled by stalls of the process longer than %v: is the machine overloaded?",
		maxAttempts, stallLimit)
}

func runAttempt(t *testing.T, try func(t testing.TB)) (conclusive bool) {
	w := startStallWatch()
	defer w.close()
	defer func() {
		if r := recover(); r != nil {
			inc, ok := r.(inconclusive)
			if !ok {
				panic(r)
			}
			t.Logf("inconclusive: %s", inc.msg)
			conclusive = false
		}
	}()
	try(&attemptT{TB: t, watch: w})
	return true
}
