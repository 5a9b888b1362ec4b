package socketio_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/engine"
)

// BenchmarkStalledClient measures how one stalled websocket client (it
// joins, then never reads) moves the delivery latency of the live clients
// around it: from Emit to the live client's read of the frame, over
// loopback, with the engine's default queue bounds (4 MiB, 10000
// messages). Broadcasts are paced a window of 16 ahead of the slowest live
// client. It reports the live clients' p50 and p99 latency.
//
//	go test -run='^$' -bench=StalledClient -benchtime=20000x ./protocol/socketio/
//
// With the default policy the stalled client is cut once its queue is full
// (about 10000 broadcasts of this size in); with drop-oldest it stays at
// its bound and the engine drops its oldest message for every new one.
func BenchmarkStalledClient(b *testing.B) {
	const live = 50
	for _, bc := range []struct {
		name    string
		stalled int
		policy  engine.SlowPolicy
	}{
		{"stalled=0", 0, engine.SlowDisconnect},
		{"stalled=1/policy=disconnect", 1, engine.SlowDisconnect},
		{"stalled=1/policy=drop-oldest", 1, engine.SlowDropOldest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := startSlowEnv(b, engine.Config{SlowPolicy: bc.policy})
			epoch := time.Now()
			for range bc.stalled {
				dialTicks(b, e.url, epoch)
			}
			clients := make([]*tickClient, live)
			for i := range clients {
				clients[i] = dialTicks(b, e.url, epoch)
				clients[i].latency = make([]time.Duration, 0, b.N)
				go clients[i].read()
			}
			ns := e.srv.Of("/")
			pad := strings.Repeat("x", 160) // ~200-byte events
			b.ResetTimer()
			broadcastPaced(b, ns, clients, b.N, 16, epoch, pad)
			waitTicks(b, clients, b.N)
			b.StopTimer()
			var all []time.Duration
			for _, c := range clients {
				c.stop()
				all = append(all, c.latency...)
			}
			slices.Sort(all)
			q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Nanoseconds()) }
			b.ReportMetric(q(0.50), "p50-ns")
			b.ReportMetric(q(0.99), "p99-ns")
			st := e.srv.Engine().Stats()
			b.ReportMetric(float64(st.SlowClosed), "slow-cut")
			b.ReportMetric(float64(st.Dropped), "dropped")
			if bc.stalled > 0 && b.N >= 20000 && st.SlowClosed+st.Dropped == 0 {
				b.Errorf("the stalled client never reached its bound: %s", fmt.Sprint(st))
			}
		})
	}
}
