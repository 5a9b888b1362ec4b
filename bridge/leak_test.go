package bridge_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// TestManyClientsLeaveNoTrace connects and disconnects 5,000 raw websocket
// clients, in waves of 1,000 open at once (the race detector allows 8,128
// goroutines), each joining "/" and receiving a broadcast before it goes:
// half close with a close frame, half just drop the connection. Afterwards
// the server has no session, and the goroutines and the heap are back
// where they were.
//
// Not parallel: it counts the process's goroutines and heap.
func TestManyClientsLeaveNoTrace(t *testing.T) {
	const (
		clients = 5000
		wave    = 1000
		dialers = 64
	)
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"wave=wave"}})

	// One client first, so that the baseline holds what the first
	// connection allocates once (pools, buffers, the timer wheel's heap).
	oneWave(t, b, nc, 1, 1)
	bridgetest.Eventually(t, startBound, "the first client gone", func() bool { return b.Connections() == 0 })
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	baseline := goleak.IgnoreCurrent()

	start := time.Now()
	for range clients / wave {
		oneWave(t, b, nc, wave, dialers)
		bridgetest.Eventually(t, startBound, "every session of the wave closed", func() bool { return b.Connections() == 0 })
	}
	elapsed := time.Since(start)

	// Goroutines: the same set as before (goleak waits for stragglers).
	goleak.VerifyNone(t, baseline)
	// Heap: near where it was. The bound is generous (5,000 sessions held
	// at once would take far more); it catches a leak of sessions, not of
	// bytes.
	var after runtime.MemStats
	bridgetest.Eventually(t, startBound, "the heap back near its baseline", func() bool {
		runtime.GC()
		runtime.ReadMemStats(&after)
		return after.HeapAlloc < before.HeapAlloc+8<<20
	})
	t.Logf("%d clients in %v; goroutines %d -> %d; heap in use %d KiB -> %d KiB",
		clients, elapsed.Round(time.Millisecond), goroutines, runtime.NumGoroutine(), before.HeapAlloc>>10, after.HeapAlloc>>10)
}

// oneWave opens n clients (dialers at a time), broadcasts one message to
// all of them, checks each got it, and closes them.
func oneWave(t *testing.T, b *testBridge, nc interface {
	Publish(string, []byte) error
	Flush() error
}, n, dialers int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	socks := make([]*bridgetest.Socket, n)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		dialErr error
	)
	for range dialers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s, err := bridgetest.DialSocket(ctx, b.URL)
				if err != nil {
					errOnce.Do(func() { dialErr = err })
					return
				}
				socks[i] = s
			}
		})
	}
	wg.Wait()
	defer func() {
		for i, s := range socks {
			switch {
			case s == nil:
			case i%2 == 0:
				s.CloseGracefully()
			default:
				s.Close()
			}
		}
	}()
	if dialErr != nil {
		t.Fatalf("dialing: %v", dialErr)
	}
	bridgetest.Eventually(t, startBound, "every client of the wave registered", func() bool { return b.Connections() == n })
	if err := nc.Publish("wave", []byte(`"hello"`)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	next.Store(0)
	for range dialers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if name, _, err := socks[i].NextEvent(startBound); err != nil || name != "wave" {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d clients did not get the broadcast", f, n)
	}
}
