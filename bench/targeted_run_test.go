package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/natsock/natsock/bench"
	"github.com/natsock/natsock/bridge"
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
	if want := int64(messages * (clients - 1)); res.Misdelivered != want {
		t.Errorf("misdelivered %d, want %d: every message at every other client", res.Misdelivered, want)
	}
	if res.Lost != 0 || res.Duplicates != 0 || res.Foreign != 0 || res.Disconnected != 0 {
		t.Errorf("lost %d, duplicated %d, foreign %d, disconnected %d (%s); want none",
			res.Lost, res.Duplicates, res.Foreign, res.Disconnected, res.DisconnectErr)
	}
}
