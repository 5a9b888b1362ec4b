package bench_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/natsock/natsock/bench"
	"github.com/natsock/natsock/bridge"
)

func TestAnInboundRunAgainstNatsockCountsEveryEventOnNATSOnce(t *testing.T) {
	tests := []struct {
		name string
		cfg  bench.Config
	}{
		{"20 clients emit 2000 events, 16 in flight each, and all 2000 reach NATS",
			bench.Config{Scenario: bench.ScenarioInbound, Clients: 20, Messages: 2000}},
		{"20 clients emit 1000 acked events, 4 outstanding each, and all 1000 come back as echoes",
			bench.Config{Scenario: bench.ScenarioAck, Clients: 20, Messages: 1000}},
		{"5 clients emit 300 acked events of 2 KiB, one outstanding each",
			bench.Config{Scenario: bench.ScenarioAck, Clients: 5, Messages: 300, Window: 1, Size: 2048}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, natsURL := startBridgeWith(t, bridge.Config{Maps: []string{"tasks.assigned=newTaskAssigned"}, Inbound: []string{"taskAssigned=tasks.inbound"}})
			cfg := tc.cfg
			cfg.URL, cfg.NATSURL, cfg.Timeout = url, natsURL, time.Minute
			res, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := int64(cfg.Messages)
			if res.Published != want || res.Expected != want || res.Delivered != want {
				t.Errorf("emitted %d, expected %d, counted %d; want %d each", res.Published, res.Expected, res.Delivered, want)
			}
			if res.Lost != 0 || res.Duplicates != 0 || res.Late != 0 || res.Foreign != 0 || res.AckErrors != 0 || res.Disconnected != 0 {
				t.Errorf("lost %d, duplicated %d, late %d, foreign %d, ack errors %d (%s), disconnected %d (%s); want none",
					res.Lost, res.Duplicates, res.Late, res.Foreign, res.AckErrors, res.AckError, res.Disconnected, res.DisconnectErr)
			}
			if res.LatencyP99 <= 0 || res.FramesPerSec <= 0 {
				t.Errorf("p99 %v, %v events/s: want both measured", res.LatencyP99, res.FramesPerSec)
			}
			var text strings.Builder
			if err := res.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), "lost        0   duplicated 0") {
				t.Errorf("the report does not say nothing was lost:\n%s", text.String())
			}
		})
	}
}

func TestAnAckRunCountsTheServersErrorsAndLosesNothing(t *testing.T) {
	// natsock maps no rule for "other": every ack is an error naming it.
	url, natsURL := startBridgeWith(t, bridge.Config{Maps: []string{"tasks.assigned=newTaskAssigned"}, Inbound: []string{"taskAssigned=tasks.inbound"}})
	res, err := bench.Run(context.Background(), bench.Config{
		URL: url, NATSURL: natsURL, Scenario: bench.ScenarioAck, Event: "other",
		Clients: 10, Messages: 200, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Published != 200 || res.AckErrors != 200 || res.Delivered != 0 || res.Lost != 0 {
		t.Errorf("emitted %d, ack errors %d, echoed %d, lost %d; want 200 errors and nothing else", res.Published, res.AckErrors, res.Delivered, res.Lost)
	}
	if !strings.Contains(res.AckError, `not mapped to a NATS subject`) {
		t.Errorf("first ack error %q, want the server's reason", res.AckError)
	}
}

func TestInboundScenariosRefuseWhatTheyCannotRun(t *testing.T) {
	for _, cfg := range []bench.Config{
		{Scenario: bench.ScenarioInbound, Transport: bench.TransportPolling},
		{Scenario: bench.ScenarioAck, Rate: 10},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", cfg)
		}
	}
}
