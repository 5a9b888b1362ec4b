package lifecycle_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsock/natsock/bridge/lifecycle"
)

// TestMain checks that a closed Publisher leaves no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const bound = 10 * time.Second // a bound on waits, not a timing assertion

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// natsConns starts an in-process NATS server and returns two clients: one
// for the publisher, one to watch the events.
func natsConns(t *testing.T) (pub, watch *nats.Conn) {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	s := natstest.RunServer(&opts)
	t.Cleanup(s.Shutdown)
	for _, c := range []**nats.Conn{&pub, &watch} {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		*c = nc
	}
	return pub, watch
}

func next(t *testing.T, sub *nats.Subscription) (string, map[string]any) {
	t.Helper()
	m, err := sub.NextMsg(bound)
	if err != nil {
		t.Fatalf("waiting for a lifecycle event: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		t.Fatalf("event %s is not JSON: %v", m.Data, err)
	}
	return m.Subject, ev
}

func TestPublisherSendsTheSchemaInOrder(t *testing.T) {
	pub, watch := natsConns(t)
	sub, err := watch.SubscribeSync("natsock.events.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}
	p := lifecycle.New("natsock.events", "node-a", 0, quiet)
	p.Start(pub)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p.Publish(&lifecycle.Event{Type: lifecycle.TypeConnect, SID: "s1", Namespace: "/", Rooms: []string{"user:42"},
		Sub: "42", Transport: "websocket", Remote: "127.0.0.1:5000", Time: at, Data: json.RawMessage(`{"plan":"pro"}`)})
	p.Publish(&lifecycle.Event{Type: lifecycle.TypeDisconnect, SID: "s1", Namespace: "/", Rooms: []string{"user:42"},
		Sub: "42", Transport: "websocket", Remote: "127.0.0.1:5000", Reason: "transport close", ConnectedAt: &at})
	p.Close()
	p.Close() // twice is harmless
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}

	want := []struct {
		subject string
		fields  map[string]any
	}{
		{"natsock.events.node.up", map[string]any{"v": 1.0, "type": "node_up", "node": "node-a", "sub": ""}},
		{"natsock.events.connect", map[string]any{"v": 1.0, "type": "connect", "node": "node-a", "sid": "s1", "namespace": "/",
			"sub": "42", "transport": "websocket", "remote": "127.0.0.1:5000", "time": "2026-12-01T00:00:00Z"}},
		{"natsock.events.disconnect", map[string]any{"v": 1.0, "type": "disconnect", "sid": "s1", "reason": "transport close",
			"connected_at": "2026-12-01T00:00:00Z"}},
		{"natsock.events.node.down", map[string]any{"v": 1.0, "type": "node_down", "node": "node-a"}},
	}
	for i, w := range want {
		subject, ev := next(t, sub)
		if subject != w.subject {
			t.Fatalf("event %d on %q, want %q: %v", i, subject, w.subject, ev)
		}
		for k, v := range w.fields {
			if ev[k] != v {
				t.Errorf("event %d (%s) %q = %v, want %v", i, subject, k, ev[k], v)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, ev["time"].(string)); err != nil {
			t.Errorf("event %d time %v: %v", i, ev["time"], err)
		}
		if i == 1 {
			if rooms, _ := ev["rooms"].([]any); len(rooms) != 1 || rooms[0] != "user:42" {
				t.Errorf("connect rooms = %v, want [user:42]", ev["rooms"])
			}
			if data, _ := ev["data"].(map[string]any); data["plan"] != "pro" {
				t.Errorf("connect data = %v, want the raw JSON kept", ev["data"])
			}
		}
	}
	if got := p.Stats().Published.Load(); got != 4 {
		t.Errorf("Published = %d, want 4", got)
	}
	if got := p.Stats().Dropped.Load(); got != 0 {
		t.Errorf("Dropped = %d, want 0", got)
	}
}

func TestPublisherDropsAndCountsRatherThanBlock(t *testing.T) {
	// Not started: nothing takes from the queue of 2, so the third event
	// finds it full. Publish must return, not wait.
	p := lifecycle.New("natsock.events", "node-a", 2, quiet)
	for i := 0; i < 3; i++ {
		p.Publish(&lifecycle.Event{Type: lifecycle.TypeConnect, SID: "s"})
	}
	if got := p.Stats().Dropped.Load(); got != 1 {
		t.Errorf("Dropped = %d after 3 events into a queue of 2, want 1", got)
	}
	p.Close() // never started: the 2 waiting are lost, and counted
	p.Publish(&lifecycle.Event{Type: lifecycle.TypeDisconnect, SID: "s"})
	if got := p.Stats().Dropped.Load(); got != 4 {
		t.Errorf("Dropped = %d after closing with 2 waiting and an event past Close, want 4", got)
	}
}

func TestPublisherCountsWhatNATSRefuses(t *testing.T) {
	pub, _ := natsConns(t)
	p := lifecycle.New("natsock.events", "node-a", 0, quiet)
	p.Start(pub)
	pub.Close() // every publish now fails with ErrConnectionClosed
	p.Publish(&lifecycle.Event{Type: lifecycle.TypeConnect, SID: "s"})
	p.Close()
	// node_up may have gone out before Close; the connect and node_down cannot.
	if got := p.Stats().Dropped.Load(); got < 2 {
		t.Errorf("Dropped = %d, want at least 2 (the connect and node_down events)", got)
	}
	if p.Stats().Published.Load()+p.Stats().Dropped.Load() != 3 {
		t.Errorf("Published %d + Dropped %d, want 3 events accounted for", p.Stats().Published.Load(), p.Stats().Dropped.Load())
	}
}

func TestSubjects(t *testing.T) {
	for typ, want := range map[string]string{
		lifecycle.TypeConnect:    "p.connect",
		lifecycle.TypeDisconnect: "p.disconnect",
		lifecycle.TypeNodeUp:     "p.node.up",
		lifecycle.TypeNodeDown:   "p.node.down",
	} {
		if got := lifecycle.Subject("p", typ); got != want {
			t.Errorf("Subject(p, %s) = %q, want %q", typ, got, want)
		}
	}
}
