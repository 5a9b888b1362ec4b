package bridge_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/lifecycle"
)

// lifecycleEvent reads the next lifecycle event of sub.
func lifecycleEvent(t *testing.T, sub *nats.Subscription) (string, lifecycle.Event) {
	t.Helper()
	m, err := sub.NextMsg(startBound)
	if err != nil {
		t.Fatalf("waiting for a lifecycle event: %v", err)
	}
	var ev lifecycle.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		t.Fatalf("lifecycle event %s: %v", m.Data, err)
	}
	return m.Subject, ev
}

// TestLifecycleEvents: with a lifecycle subject, the node announces itself,
// each socket's connect and disconnect are published with who it is and
// why it left, and the node's shutdown is announced.
func TestLifecycleEvents(t *testing.T) {
	t.Parallel()
	nc := connect(t, startNATS(t).ClientURL())
	sub := subscribeSync(t, nc, "natsock.events.>")
	tb := startBridge(t, bridge.Config{NATSURL: nc.ConnectedUrl(),
		Maps:    []string{"a=a", "ops.*=alert@/admin#ops:{2}"},
		Inbound: []string{"open=open.events"}, InboundRate: 0.001, InboundBurst: 1,
		InboundRatePolicy: bridge.RatePolicyDisconnect,
		LifecycleSubject:  "natsock.events", NodeName: "node-t"}, authFromPayload)

	subject, up := lifecycleEvent(t, sub)
	if subject != "natsock.events.node.up" || up.Type != lifecycle.TypeNodeUp || up.Node != "node-t" || up.V != lifecycle.Version {
		t.Fatalf("first event %s %+v, want node_up from node-t", subject, up)
	}

	user := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "42", Rooms: []string{"user:42", "team:red"}})
	subject, ev := lifecycleEvent(t, sub)
	if subject != "natsock.events.connect" || ev.Type != lifecycle.TypeConnect || ev.SID != user.ID || ev.Namespace != "/" ||
		ev.Sub != "42" || ev.Node != "node-t" || ev.Transport != "websocket" || !strings.HasPrefix(ev.Remote, "127.0.0.1:") ||
		ev.Reason != "" || ev.ConnectedAt != nil || ev.Time.IsZero() {
		t.Errorf("connect event %s %+v", subject, ev)
	}
	if slices.Sort(ev.Rooms); !slices.Equal(ev.Rooms, []string{"team:red", "user:42"}) {
		t.Errorf("connect rooms %q, want the socket's", ev.Rooms)
	}
	user.CloseGracefully()
	subject, ev = lifecycleEvent(t, sub)
	if subject != "natsock.events.disconnect" || ev.SID != user.ID || ev.Sub != "42" || ev.Reason != "transport close" ||
		ev.ConnectedAt == nil || ev.ConnectedAt.After(ev.Time) || len(ev.Rooms) != 2 {
		t.Errorf("disconnect event %s %+v", subject, ev)
	}

	admin := dialNamespace(t, tb.Bridge, tb.URL, "/admin", testIdentity{Sub: "root", Rooms: []string{"ops:db"}})
	anon := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Anon: true})
	seen := map[string]lifecycle.Event{}
	for range 2 {
		_, ev := lifecycleEvent(t, sub)
		seen[ev.SID] = ev
	}
	if ev := seen[admin.ID]; ev.Namespace != "/admin" || ev.Sub != "root" || !slices.Equal(ev.Rooms, []string{"ops:db"}) {
		t.Errorf("admin connect %+v", ev)
	}
	if ev, ok := seen[anon.ID]; !ok || ev.Sub != "" || len(ev.Rooms) != 0 {
		t.Errorf("anonymous connect %+v", ev)
	}
	// The rate limit disconnects the anonymous socket: the reason says so.
	for _, p := range []string{`42["open",1]`, `42["open",2]`} {
		if err := anon.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	subject, ev = lifecycleEvent(t, sub)
	if subject != "natsock.events.disconnect" || ev.SID != anon.ID || ev.Reason != string(bridge.ReasonRateLimit) {
		t.Errorf("rate-limit disconnect %s %+v", subject, ev)
	}

	if err := tb.stop(t); err != nil {
		t.Fatal(err)
	}
	// The admin socket closes with the node: node_down covers it.
	for {
		subject, ev = lifecycleEvent(t, sub)
		if ev.Type == lifecycle.TypeNodeDown {
			break
		}
		t.Errorf("event %s %+v before node_down", subject, ev)
	}
	if subject != "natsock.events.node.down" || ev.Node != "node-t" {
		t.Errorf("last event %s %+v, want node_down", subject, ev)
	}
	st := tb.LifecycleStats()
	if st.Published.Load() != 7 {
		t.Errorf("LifecycleStats().Published = %d, want 7 (node up, 3 connects, 2 disconnects, node down)", st.Published.Load())
	}
}
