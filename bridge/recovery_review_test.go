package bridge_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
)

// TestReplayAfterOffsetsAtTheEndOfTheRange: an offset at or next to the
// largest sequence number (which no stream reaches; a client made it up)
// is past the stream's end, not a failure to read it, whether the node's
// memory holds messages or not: offset+1 must not wrap to 0.
func TestReplayAfterOffsetsAtTheEndOfTheRange(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	tb := startBridge(t, recoveryConfig(js.ClientURL()))
	nc := connect(t, js.ClientURL())
	for _, stage := range []string{"an empty stream", "a stream with messages"} {
		for _, after := range []uint64{math.MaxUint64, math.MaxUint64 - 1} {
			_, err := bridge.ReplayAfter(tb.Bridge, context.Background(), after, func(uint64, string, nats.Header, []byte) error {
				t.Errorf("%s, after %d: a message replayed", stage, after)
				return nil
			})
			if !errors.Is(err, bridge.ErrReplayAhead) {
				t.Errorf("%s, after %d: %v, want ErrReplayAhead", stage, after, err)
			}
		}
		publishAll(t, nc, "news.a", `"one"`, `"two"`)
		waitDelivered(t, tb, 2)
	}
}

// TestSSELargestLastEventIDIsUnknown: Last-Event-ID 18446744073709551615
// (the largest sequence number) is an id the stream never gave: a reset
// with reason unknown_id, not "unavailable" with a warning logged.
func TestSSELargestLastEventIDIsUnknown(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	tb := startBridge(t, recoveryConfig(js.ClientURL()))
	nc := connect(t, js.ClientURL())
	publishAll(t, nc, "news.a", `"one"`)
	waitDelivered(t, tb, 1)
	id := strconv.FormatUint(math.MaxUint64, 10)
	c := openSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {id}})
	ev := c.next(t)
	if ev.Event != bridge.SSEResetEvent || !containsStr(ev.Data, bridge.SSEResetUnknownID) {
		t.Fatalf("Last-Event-ID %s: first event %+v, want %s with reason %s", id, ev, bridge.SSEResetEvent, bridge.SSEResetUnknownID)
	}
	c.close()
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestRecoveryWithoutJetStreamSaysSo: --recovery on a NATS server that
// runs without JetStream stops the start with an error that says so and
// how to fix it.
func TestRecoveryWithoutJetStreamSaysSo(t *testing.T) {
	t.Parallel()
	ns := startNATS(t) // no JetStream
	err := runUntilError(t, recoveryConfig(ns.ClientURL()))
	if err == nil || !containsStr(err.Error(), "JetStream is not enabled") || !containsStr(err.Error(), "-js") {
		t.Fatalf("Run = %v; want an error saying JetStream is not enabled", err)
	}
	if !errors.Is(err, bridge.ErrStreamConfig) {
		t.Errorf("Run = %v; want ErrStreamConfig: a server without JetStream is its configuration, not a moment to wait out", err)
	}
}
