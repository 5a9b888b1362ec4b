package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/metrics"
	"github.com/natsock/natsock/internal/bridgetest"
)

// startNATS runs a NATS server in the test's process, on a free port.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	s := natstest.RunServer(&opts)
	t.Cleanup(s.Shutdown)
	return s
}

// startBridge runs a bridge on a free loopback port with its metrics at
// /metrics, and returns its base URL once it is ready.
func startBridge(t *testing.T, cfg bridge.Config) (*bridge.Bridge, string) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := bridge.New(cfg)
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	m := metrics.New(b, cfg.Logger)
	b.Handle("GET "+metrics.Path, m.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bridge.Run: %v", err)
		}
	})
	addr := b.Addr()
	if addr == nil {
		cancel()
		t.Fatalf("bridge did not start: %v", <-done)
	}
	url := "http://" + addr.String()
	bridgetest.Eventually(t, 10*time.Second, "the bridge is ready", b.Ready)
	return b, url
}

// scrape fetches url with a real HTTP client and returns every sample of
// the text exposition format by its series ("name{label=\"v\"}").
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET %s: Content-Type %q, want Prometheus's text format", url, ct)
	}
	samples := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("GET %s: sample %q: %v", url, line, err)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return samples
}

// want checks samples[series] == v.
func want(t *testing.T, samples map[string]float64, series string, v float64) {
	t.Helper()
	got, ok := samples[series]
	switch {
	case !ok:
		t.Errorf("%s: missing from /metrics", series)
	case got != v:
		t.Errorf("%s = %v, want %v", series, got, v)
	}
}

// TestMetricsMoveWithTraffic scrapes /metrics before and after real
// traffic: a socket.io-client 4.8.4 (node) connected over websocket
// receives messages published on NATS, some stamped with
// Natsock-Published-At, and emits an event the inbound rule publishes.
// The counters move by exactly what happened.
func TestMetricsMoveWithTraffic(t *testing.T) {
	bridgetest.RequireNode(t)
	s := startNATS(t)
	_, url := startBridge(t, bridge.Config{
		NATSURL: s.ClientURL(),
		Maps:    []string{"tasks.assigned=newTaskAssigned", "alerts.*=alert@/ops"},
		Inbound: []string{"taskAssigned=tasks.assigned"},
	})
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	before := scrape(t, url+"/metrics")
	want(t, before, `natsock_sockets{namespace="/",transport="websocket"}`, 0)
	want(t, before, `natsock_sockets{namespace="/ops",transport="polling"}`, 0)
	want(t, before, `natsock_connections`, 0)
	want(t, before, `natsock_map_messages_total{map="tasks.assigned=newTaskAssigned"}`, 0)
	want(t, before, `natsock_nats_connected`, 1)
	want(t, before, `natsock_ready`, 1)
	for _, runtime := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := before[runtime]; !ok {
			t.Errorf("%s: missing; the Go and process collectors are registered", runtime)
		}
	}

	const n = 4
	client := bridgetest.Interop(t, "--url", url, "--client", "4.8.4", "--transports", "websocket",
		"--scenario", "receive", "--event", "newTaskAssigned", "--count", strconv.Itoa(n), "--timeout", "20000")
	client.WaitReady(25 * time.Second)
	during := scrape(t, url+"/metrics")
	want(t, during, `natsock_sockets{namespace="/",transport="websocket"}`, 1)
	want(t, during, `natsock_connections`, 1)

	for i := range n {
		m := &nats.Msg{Subject: "tasks.assigned", Data: fmt.Appendf(nil, `{"taskName":"task %d"}`, i), Header: nats.Header{}}
		if i%2 == 0 { // half stamped by their publisher, half not
			m.Header.Set(bridge.HeaderPublishedAt, strconv.FormatInt(time.Now().UnixNano(), 10))
		}
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	// One with a bad stamp: measured from receipt, and counted.
	bad := &nats.Msg{Subject: "tasks.assigned", Data: []byte(`{"taskName":"late"}`), Header: nats.Header{}}
	bad.Header.Set(bridge.HeaderPublishedAt, "yesterday")
	if err := nc.PublishMsg(bad); err != nil {
		t.Fatal(err)
	}
	client.MustOK(25 * time.Second)

	// The client emits taskAssigned; the inbound rule publishes it.
	sub, err := nc.SubscribeSync("tasks.assigned")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	bridgetest.Interop(t, "--url", url, "--client", "4.8.4", "--transports", "polling",
		"--scenario", "emit", "--event", "taskAssigned", "--data", `[{"taskName":"from a client"}]`, "--timeout", "20000").
		MustOK(25 * time.Second)
	if _, err := sub.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("the client's emit did not reach NATS: %v", err)
	}
	// And an event no rule maps.
	bridgetest.Interop(t, "--url", url, "--client", "4.8.4", "--transports", "websocket",
		"--scenario", "emit", "--event", "nobodyListens", "--data", `[1]`, "--timeout", "20000").
		MustOK(25 * time.Second)

	var after map[string]float64
	bridgetest.Eventually(t, 10*time.Second, "the clients are gone and their events counted", func() bool {
		after = scrape(t, url+"/metrics")
		return after[`natsock_sockets{namespace="/",transport="websocket"}`] == 0 &&
			after[`natsock_inbound_dropped_total{reason="unmapped"}`] == 1
	})
	// n+1 published by the test, and 1 by the emitting client, all routed
	// by the first rule.
	want(t, after, `natsock_map_messages_total{map="tasks.assigned=newTaskAssigned"}`, n+2)
	want(t, after, `natsock_map_messages_total{map="alerts.*=alert@/ops"}`, 0)
	if d := after[`natsock_map_deliveries_total{map="tasks.assigned=newTaskAssigned"}`]; d < n {
		t.Errorf("natsock_map_deliveries_total = %v, want at least %d (one a message while the receiver was connected)", d, n)
	}
	want(t, after, `natsock_inbound_published_total{inbound="taskAssigned=tasks.assigned"}`, 1)
	want(t, after, `natsock_inbound_requests_total{inbound="taskAssigned=tasks.assigned"}`, 0)
	want(t, after, `natsock_emit_latency_seconds_count{from="publisher"}`, n/2)
	want(t, after, `natsock_emit_latency_seconds_count{from="receipt"}`, n/2+2)
	want(t, after, `natsock_emit_latency_seconds_bucket{from="publisher",le="+Inf"}`, n/2)
	want(t, after, `natsock_published_at_invalid_total`, 1)
	if after[`natsock_engine_sessions_opened_total`] != 3 {
		t.Errorf("natsock_engine_sessions_opened_total = %v, want 3 (three clients)", after[`natsock_engine_sessions_opened_total`])
	}
	want(t, after, `natsock_auth_handshakes_total{result="refused"}`, 0)
	want(t, after, `natsock_nats_reconnects_total`, 0)
}

// TestMetricsOnTheirOwnListener serves the metrics on a port of their
// own, as --metrics-listen does, and stops when the context ends.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	s := startNATS(t)
	b, url := startBridgeNoMetrics(t, s.ClientURL())
	m := metrics.New(b, slog.New(slog.DiscardHandler))
	ln, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()

	got := scrape(t, "http://"+ln.Addr().String()+metrics.Path)
	want(t, got, `natsock_nats_connected`, 1)
	// The main listener does not serve them.
	resp, err := http.Get(url + metrics.Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s%s on the main listener: %s, want 404", url, metrics.Path, resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + metrics.Path); err == nil {
		t.Errorf("the metrics listener still answers after Serve returned")
	}
	http.DefaultClient.CloseIdleConnections()
}

func startBridgeNoMetrics(t *testing.T, natsURL string) (*bridge.Bridge, string) {
	t.Helper()
	b, err := bridge.New(bridge.Config{NATSURL: natsURL, Listen: "127.0.0.1:0",
		Maps: []string{"a=b"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bridge.Run: %v", err)
		}
	})
	bridgetest.Eventually(t, 10*time.Second, "the bridge is ready", b.Ready)
	return b, "http://" + b.Addr().String()
}

// TestListenRefusesABadAddress: a bad --metrics-listen stops natsock with
// an error naming the address and why.
func TestListenRefusesABadAddress(t *testing.T) {
	taken, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name, addr, wantText string
	}{
		{"an address without a port is refused", "localhost", "want host:port"},
		{"a port that is not a number is refused", "127.0.0.1:metrix", `bad port "metrix"`},
		{"a port out of range is refused", "127.0.0.1:70000", `bad port "70000"`},
		{"a port in use is refused", taken.Addr().String(), "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := metrics.Listen(tc.addr)
			if err == nil {
				ln.Close()
				t.Fatalf("Listen(%q) succeeded", tc.addr)
			}
			if !errors.Is(err, metrics.ErrListen) || !strings.Contains(err.Error(), tc.wantText) ||
				!strings.Contains(err.Error(), strconv.Quote(tc.addr)) {
				t.Errorf("Listen(%q) = %v; want ErrListen naming the address and %q", tc.addr, err, tc.wantText)
			}
		})
	}
}

// TestRecoveryMissesAreCounted: with connection-state recovery on (a
// JetStream NATS), a socket.io-client 4.8.4 that resumes with a pid
// natsock never issued is refused, connects afresh, and the miss shows in
// natsock_recovery_resumes_total.
func TestRecoveryMissesAreCounted(t *testing.T) {
	bridgetest.RequireNode(t)
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = t.TempDir()
	s := natstest.RunServer(&opts)
	t.Cleanup(s.Shutdown)
	_, url := startBridge(t, bridge.Config{
		NATSURL:  s.ClientURL(),
		Maps:     []string{"tasks.assigned=newTaskAssigned"},
		Recovery: true,
	})
	before := scrape(t, url+"/metrics")
	want(t, before, `natsock_recovery_resumes_total{result="refused"}`, 0)
	want(t, before, `natsock_recovery_resumes_total{result="recovered"}`, 0)

	bridgetest.Interop(t, "--url", url, "--client", "4.8.4", "--transports", "websocket",
		"--scenario", "emit", "--event", "hello", "--data", `[1]`, "--auth", `{"pid":"never-issued","offset":"5"}`,
		"--timeout", "20000").
		MustOK(25 * time.Second)
	after := scrape(t, url+"/metrics")
	want(t, after, `natsock_recovery_resumes_total{result="refused"}`, 1)
	want(t, after, `natsock_recovery_resumes_total{result="recovered"}`, 0)
	want(t, after, `natsock_recovery_replayed_total`, 0)
}

// TestSSEStreamsAreCounted: a plain HTTP client reading GET /events is
// an open stream in natsock_sse_streams while it reads, and what NATS
// publishes to it is counted.
func TestSSEStreamsAreCounted(t *testing.T) {
	s := startNATS(t)
	_, url := startBridge(t, bridge.Config{NATSURL: s.ClientURL(), Maps: []string{"tasks.assigned=newTaskAssigned"}})
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: %s", resp.Status)
	}
	got := make(chan string, 1)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") {
				got <- sc.Text()
				return
			}
		}
		close(got)
	}()
	bridgetest.Eventually(t, 10*time.Second, "the stream counted open", func() bool {
		return scrape(t, url+"/metrics")["natsock_sse_streams"] == 1
	})
	if err := nc.Publish("tasks.assigned", []byte(`{"taskName":"to a stream"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case line, ok := <-got:
		if !ok || !strings.Contains(line, "to a stream") {
			t.Fatalf("the stream got %q (open %v)", line, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream got nothing within 10s")
	}
	after := scrape(t, url+"/metrics")
	want(t, after, "natsock_sse_streams_opened_total", 1)
	want(t, after, "natsock_sse_deliveries_total", 1)
	cancel()
	bridgetest.Eventually(t, 10*time.Second, "the stream counted closed", func() bool {
		return scrape(t, url+"/metrics")["natsock_sse_streams"] == 0
	})
}
