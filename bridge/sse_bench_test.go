package bridge_test

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// BenchmarkSSEFanout publishes b.N small JSON messages to one event that
// 100 streams over loopback read, and reports the events delivered a
// second across all streams. Run it alone:
//
//	nice go test -run XXX -bench SSEFanout -benchtime 20000x ./bridge/
func BenchmarkSSEFanout(b *testing.B) {
	const streams = 100
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	ns := natstest.RunServer(&opts)
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	cfg := bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"load=load"}, Listen: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler)}
	br, err := bridge.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + br.Addr().String()
	if err := bridgetest.Poll(10*time.Second, br.Ready); err != nil {
		b.Fatal("bridge not ready")
	}

	var got atomic.Int64
	var wg sync.WaitGroup
	rctx, rcancel := context.WithCancel(context.Background())
	defer func() { rcancel(); wg.Wait() }()
	for range streams {
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, base+"/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("open: %v", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "event: ") {
					got.Add(1)
				}
			}
		}()
	}
	if err := bridgetest.Poll(10*time.Second, func() bool { return br.SSEStats().Open.Load() == streams }); err != nil {
		b.Fatal("streams not open")
	}
	msg := []byte(`{"taskId":12345,"title":"Review the quarterly report"}`)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := nc.Publish("load", msg); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 { // bounded in-flight: let the streams keep up
			for got.Load() < int64(i-2000)*streams {
				time.Sleep(time.Millisecond)
			}
		}
	}
	want := int64(b.N) * streams
	if err := bridgetest.Poll(60*time.Second, func() bool { return got.Load() >= want }); err != nil {
		b.Fatalf("got %d of %d events (slow closed %d)", got.Load(), want, br.SSEStats().SlowClosed.Load())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}
