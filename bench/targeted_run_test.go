package bench_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/natsock/natsock/bench"
	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/auth"
)

func TestATargetedRunCatchesAServerThatBroadcasts(t *testing.T) {
	// natsock sends notify.user.* to every socket when its map names no
	// room: each message reaches its user's client and every other one,
	// and the bench must count all the others as misdelivered.
	url, natsURL := startBridgeWith(t, bridge.Config{Maps: []string{"notify.user.*=notification"}})
	const clients, messages = 20, 100
	res, err := bench.Run(context.Background(), bench.Config{
		URL: url, NATSURL: natsURL, Scenario: bench.ScenarioTargeted, JWTSecret: "s3cret",
		Clients: clients, Messages: messages, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Published != messages || res.Expected != messages || res.Delivered != messages {
		t.Errorf("published %d, expected %d, delivered %d; want %d each", res.Published, res.Expected, res.Delivered, messages)
	}
	// The run ends once every client holds its own messages; copies of
	// the last ones to the other clients may still be on their way then.
	if want := int64(messages * (clients - 1)); res.Misdelivered > want || res.Misdelivered < want*9/10 {
		t.Errorf("misdelivered %d, want %d (or, the last copies in flight, at least 90%% of it): every message at every other client", res.Misdelivered, want)
	}
	if res.Lost != 0 || res.Duplicates != 0 || res.Foreign != 0 || res.Disconnected != 0 {
		t.Errorf("lost %d, duplicated %d, foreign %d, disconnected %d (%s); want none",
			res.Lost, res.Duplicates, res.Foreign, res.Disconnected, res.DisconnectErr)
	}
}

// testSecret is an HS256 secret as long as natsock asks (32 bytes).
const testSecret = "natsock-bench-test-secret-32-byt"

func TestATargetedRunAgainstNatsockDeliversEachMessageToItsUserAlone(t *testing.T) {
	tests := []struct {
		name string
		cfg  bench.Config
	}{
		{"40 websocket users get 400 windowed messages, each its own, none lost",
			bench.Config{Transport: bench.TransportWebSocket, Clients: 40, Messages: 400}},
		{"40 websocket users get 200 messages at 1000/s, each its own, none lost",
			bench.Config{Transport: bench.TransportWebSocket, Clients: 40, Messages: 200, Rate: 1000}},
		{"20 polling users get 200 windowed messages, each its own, none lost",
			bench.Config{Transport: bench.TransportPolling, Clients: 20, Messages: 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, natsURL := startBridgeWith(t, bridge.Config{
				Maps: []string{"notify.user.*=notification@user:{3}"},
				Auth: auth.Config{JWTSecret: []byte(testSecret), Required: true, RoomTemplates: []string{"user:{sub}"}},
			})
			cfg := tc.cfg
			cfg.URL, cfg.NATSURL = url, natsURL
			cfg.Scenario, cfg.JWTSecret = bench.ScenarioTargeted, testSecret
			cfg.Timeout = time.Minute
			res, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Published != int64(cfg.Messages) || res.Expected != res.Published || res.Delivered != res.Published {
				t.Errorf("published %d, expected %d, delivered %d; want %d each", res.Published, res.Expected, res.Delivered, cfg.Messages)
			}
			if res.Lost != 0 || res.Misdelivered != 0 || res.Duplicates != 0 || res.Late != 0 || res.Foreign != 0 || res.Disconnected != 0 {
				t.Errorf("lost %d, misdelivered %d, duplicated %d, late %d, foreign %d, disconnected %d (%s); want none",
					res.Lost, res.Misdelivered, res.Duplicates, res.Late, res.Foreign, res.Disconnected, res.DisconnectErr)
			}
		})
	}
}

func TestATargetedRunWithTheWrongSecretIsRefusedAtConnect(t *testing.T) {
	url, natsURL := startBridgeWith(t, bridge.Config{
		Maps: []string{"notify.user.*=notification@user:{3}"},
		Auth: auth.Config{JWTSecret: []byte(testSecret), Required: true, RoomTemplates: []string{"user:{sub}"}},
	})
	_, err := bench.Run(context.Background(), bench.Config{
		URL: url, NATSURL: natsURL, Scenario: bench.ScenarioTargeted, JWTSecret: "another-secret-of-thirty-two-byt",
		Clients: 3, Messages: 10, Timeout: 30 * time.Second,
	})
	if !errors.Is(err, bench.ErrProtocol) || !strings.Contains(err.Error(), "refused to connect") {
		t.Fatalf("Run = %v, want the server's refusal", err)
	}
}
