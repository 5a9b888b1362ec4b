package bench_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	natstest "github.com/nats-io/nats-server/v2/test"

	"github.com/natsock/natsock/bench"
	"github.com/natsock/natsock/bridge"
)

// startBridge runs natsock's bridge on a free loopback port, on an
// in-process NATS server, until the test ends, and returns its URL and
// the NATS server's.
func startBridge(t *testing.T) (url, natsURL string) {
	t.Helper()
	return startBridgeWith(t, bridge.Config{Maps: []string{"tasks.assigned=newTaskAssigned"}})
}

// startBridgeWith is startBridge with cfg's rules and settings.
func startBridgeWith(t *testing.T, cfg bridge.Config) (url, natsURL string) {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	ns := natstest.RunServer(&opts)
	t.Cleanup(ns.Shutdown)
	cfg.Listen = "127.0.0.1:0"
	cfg.NATSURL = ns.ClientURL()
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := bridge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bridge.Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("the bridge did not shut down within 15s")
		}
	})
	addr := b.Addr()
	if addr == nil {
		t.Fatalf("the bridge did not start: %v", <-done)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !b.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the bridge was not ready within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return "http://" + addr.String(), ns.ClientURL()
}

func TestRunAgainstNatsock(t *testing.T) {
	tests := []struct {
		name string
		cfg  bench.Config
	}{
		{"50 websocket clients get 200 windowed messages each, none lost or duplicated",
			bench.Config{Transport: bench.TransportWebSocket, Clients: 50, Messages: 200}},
		{"50 polling clients get 200 windowed messages each, none lost or duplicated",
			bench.Config{Transport: bench.TransportPolling, Clients: 50, Messages: 200}},
		{"20 websocket clients get 100 messages at 1000/s from two source addresses",
			bench.Config{Transport: bench.TransportWebSocket, Clients: 20, Messages: 100, Rate: 1000,
				SourceIPs: must(bench.ParseSourceIPs("2"))}},
		{"20 polling clients get 100 messages at 1000/s, 4 KiB each, larger than their read buffer",
			bench.Config{Transport: bench.TransportPolling, Clients: 20, Messages: 100, Rate: 1000, Size: 4096, ReadBuffer: 1024}},
		{"20 websocket clients get 50 messages of 4 KiB, larger than their read buffer",
			bench.Config{Transport: bench.TransportWebSocket, Clients: 20, Messages: 50, Size: 4096, ReadBuffer: 1024}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, natsURL := startBridge(t)
			cfg := tc.cfg
			cfg.URL, cfg.NATSURL = url, natsURL
			cfg.Timeout = time.Minute
			res, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := int64(cfg.Clients * cfg.Messages)
			if res.Published != int64(cfg.Messages) || res.Expected != want || res.Delivered != want {
				t.Errorf("published %d, expected %d frames, delivered %d; want %d, %d, %d",
					res.Published, res.Expected, res.Delivered, cfg.Messages, want, want)
			}
			if res.Lost != 0 || res.Duplicates != 0 || res.Late != 0 || res.Foreign != 0 || res.Disconnected != 0 {
				t.Errorf("lost %d, duplicated %d, late %d, foreign %d, disconnected %d (%s); want none",
					res.Lost, res.Duplicates, res.Late, res.Foreign, res.Disconnected, res.DisconnectErr)
			}
			if res.LatencyMax <= 0 || res.LatencyP50 > res.LatencyP99 || res.LatencyP99 > res.LatencyMax {
				t.Errorf("latencies p50 %v p99 %v max %v are not ordered", res.LatencyP50, res.LatencyP99, res.LatencyMax)
			}
		})
	}
}

func TestAnIdleRunHoldsItsClientsAndMeasuresTheServer(t *testing.T) {
	// The "server" is this process: its memory grows by the clients' own.
	url, _ := startBridge(t)
	res, err := bench.Run(context.Background(), bench.Config{
		URL: url, Clients: 30, Hold: 100 * time.Millisecond, PID: selfPID(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Clients != 30 || res.ConnectTime <= 0 || res.Held < 100*time.Millisecond || res.Published != 0 {
		t.Errorf("clients %d connect %v held %v published %d", res.Clients, res.ConnectTime, res.Held, res.Published)
	}
	if res.ServerRSSBefore <= 0 || res.ServerRSSAfter <= 0 {
		t.Errorf("server memory %d -> %d: not measured", res.ServerRSSBefore, res.ServerRSSAfter)
	}
}

func TestARunWithNoServerSaysSo(t *testing.T) {
	_, natsURL := startBridge(t)
	// Port 1: nothing listens there.
	_, err := bench.Run(context.Background(), bench.Config{
		URL: "http://127.0.0.1:1", NATSURL: natsURL, Clients: 3, Messages: 1, Timeout: 10 * time.Second,
	})
	if err == nil {
		t.Fatal("Run against no server succeeded")
	}
	if errors.Is(err, bench.ErrTimeout) {
		t.Errorf("Run timed out instead of failing at once: %v", err)
	}
}

func TestARunThatReachesItsTimeoutReportsWhatItMeasured(t *testing.T) {
	url, natsURL := startBridge(t)
	res, err := bench.Run(context.Background(), bench.Config{
		URL: url, NATSURL: natsURL, Clients: 5, Messages: 1000000, Rate: 100, Timeout: 500 * time.Millisecond,
	})
	if !errors.Is(err, bench.ErrTimeout) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
	if res == nil || res.Published == 0 || res.Delivered == 0 || res.Duplicates != 0 {
		t.Fatalf("partial result %+v", res)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// selfPID is this test process's id.
func selfPID() int { return os.Getpid() }
