package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
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

// TestRecoveryWhileTheOldSocketLingers: a client whose old socket this
// node has not yet seen go (a phone that changed networks: its old
// connection is half open until the ping times out) resumes under a new
// id, since the old one is taken. It must still get what was sent to its
// old id: the events of the gap, replayed, and the live ones after, as
// it would on a node where the old id was free.
func TestRecoveryWhileTheOldSocketLingers(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	cfg := recoveryConfig(js.ClientURL())
	cfg.Maps = []string{"direct.*=direct@{2}", "news.*=news"}
	tb := startBridge(t, cfg)
	nc := connect(t, js.ClientURL())

	// The old socket: connected, never closed, quiet.
	ctx, cancel := context.WithTimeout(context.Background(), recoveryBound)
	defer cancel()
	old, err := bridgetest.DialEngine(ctx, tb.URL, "/socket.io/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(old.Close)
	if err := old.Send("40"); err != nil {
		t.Fatal(err)
	}
	p, err := old.Next(recoveryBound)
	var answer struct{ SID, PID string }
	if js, ok := strings.CutPrefix(p, "40"); err != nil || !ok || json.Unmarshal([]byte(js), &answer) != nil || answer.PID == "" {
		t.Fatalf("CONNECT answered %q (%v), want a sid and a pid", p, err)
	}

	// The same client, back on a new connection, resumes the old pid.
	c := startRecoveryClient(t, "client", tb.URL, nil)
	c.connected()
	c.send("drop")
	c.next("disconnect")
	publishAll(t, nc, "direct."+answer.SID, `"gap"`)
	waitDelivered(t, tb, 1)
	c.send("resume " + answer.PID)
	if r, _ := c.connected(); !r {
		t.Fatal("not recovered")
	}
	publishAll(t, nc, "direct."+answer.SID, `"live"`)
	publishAll(t, nc, "news.a", `"marker"`)
	checkEvents(t, "the resumed client", c.events(3), `direct:"gap"`, `direct:"live"`, `news:"marker"`)
	c.send("quit")
}

// TestRecoveryNodesStartingTogether: two nodes that start at the same
// moment on a JetStream without the stream or the key race to make them;
// both start, on one stream and one key: a client of one resumes on the
// other.
func TestRecoveryNodesStartingTogether(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	nc := connect(t, js.ClientURL())
	nodes := make([]*testBridge, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i] = startBridgeUnready(t, recoveryConfig(js.ClientURL()))
		}()
	}
	wg.Wait()
	for i, n := range nodes {
		if n == nil {
			t.Fatalf("node %d did not start", i)
		}
		waitReadyz(t, n.URL, http.StatusOK)
	}
	c := startRecoveryClient(t, "client", nodes[0].URL, nil)
	c.connected()
	publishAll(t, nc, "news.a", `"on A"`)
	checkEvents(t, "on A", c.events(1), `news:"on A"`)
	c.send("drop")
	c.next("disconnect")
	publishAll(t, nc, "news.a", `"missed"`)
	waitDelivered(t, nodes[1], 2)
	c.send("move " + nodes[1].URL)
	c.send("reconnect")
	if r, _ := c.connected(); !r {
		t.Fatal("not recovered on the other node: the nodes sign with different keys, or read different streams")
	}
	checkEvents(t, "the replay on B", c.events(1), `news:"missed"`)
	c.send("quit")
}
