package bridge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// waitPacket waits for a packet other than an event with prefix, and
// returns it.
func (c *roomClient) waitPacket(t *testing.T, prefix string) string {
	t.Helper()
	var found string
	bridgetest.Eventually(t, startBound, "a packet starting "+prefix, func() bool {
		_, _, other := c.snapshot()
		for _, p := range other {
			if strings.HasPrefix(p, prefix) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

// ackError reads the {"error": ...} of acknowledgement id.
func (c *roomClient) ackError(t *testing.T, id string) string {
	t.Helper()
	p := c.waitPacket(t, "43"+id+"[")
	var args []struct{ Error string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(p, "43"+id)), &args); err != nil || len(args) != 1 || args[0].Error == "" {
		t.Fatalf("ack %s is %q, want [{\"error\": ...}]", id, p)
	}
	return args[0].Error
}

func subscribeSync(t *testing.T, nc *nats.Conn, subject string) *nats.Subscription {
	t.Helper()
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// drainTo returns the messages of sub until it has seen every one of
// fences (bodies), fences left out. A socket's emits are published in
// order, so a fence sent by each socket after its other emits follows
// them all.
func drainTo(t *testing.T, sub *nats.Subscription, fences ...string) []*nats.Msg {
	t.Helper()
	var out []*nats.Msg
	left := map[string]bool{}
	for _, f := range fences {
		left[f] = true
	}
	for len(left) > 0 {
		m, err := sub.NextMsg(startBound)
		if err != nil {
			t.Fatalf("waiting on %s for %v (after %d messages): %v", sub.Subject, left, len(out), err)
		}
		if left[string(m.Data)] {
			delete(left, string(m.Data))
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestInboundPermissions: sockets with different claims emit the same
// events; only those the rules allow reach NATS, each to the subject its
// own claims make, and every refusal answers the ack with its reason.
func TestInboundPermissions(t *testing.T) {
	t.Parallel()
	nc := connect(t, startNATS(t).ClientURL())
	tb := startBridge(t, bridge.Config{NATSURL: nc.ConnectedUrl(), Maps: []string{"unused=unused"}, Inbound: []string{
		"taskAssigned=tasks.assigned?role=manager",
		"say=chat.{sub}.out",
		"open=open.events",
	}}, authFromPayload)
	tasks := subscribeSync(t, nc, "tasks.assigned")
	chat := subscribeSync(t, nc, "chat.>")

	manager := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "m1", Claims: map[string]any{"role": "manager"}})
	member := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "u2", Claims: map[string]any{"role": []string{"member", "viewer"}}})
	evil := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "u3.out.x", Claims: map[string]any{"role": "member"}})
	anon := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Anon: true})
	narrow := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "n4", Claims: map[string]any{"role": "manager"}, Emit: []string{"say"}})

	refusals := []struct {
		who  *roomClient
		emit string
		why  string
	}{
		{member, `421["taskAssigned",{"task":17}]`, `event "taskAssigned" needs claim role=manager`},
		{evil, `422["say","hi"]`, `event "say": claim "sub" cannot stand in subject "chat.{sub}.out": it contains '.', '*' or '>'`},
		{anon, `423["taskAssigned",{"task":17}]`, `event "taskAssigned" needs an authenticated socket`},
		{anon, `424["say","hi"]`, `event "say" needs an authenticated socket`},
		{narrow, `425["taskAssigned",{"task":17}]`, `event "taskAssigned" is not among the events this socket may emit`},
	}
	for _, r := range refusals {
		if err := r.who.Send(r.emit); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range refusals {
		id := r.emit[2:3]
		if got := r.who.ackError(t, id); got != r.why {
			t.Errorf("%s answered %q, want %q", r.emit, got, r.why)
		}
	}
	// Allowed: sent after every refusal was answered, so the subscriptions
	// would hold a refused emit before these if one had been published.
	for _, send := range []struct {
		who *roomClient
		p   string
	}{
		{manager, `42["taskAssigned",{"task":17}]`},
		{manager, `42["taskAssigned","fence"]`},
		{member, `42["say","from u2"]`},
		{member, `42["say","fence u2"]`},
		{narrow, `42["say","from n4"]`},
		{narrow, `42["say","fence n4"]`},
	} {
		if err := send.who.Send(send.p); err != nil {
			t.Fatal(err)
		}
	}
	got := drainTo(t, tasks, `"fence"`)
	if len(got) != 1 || string(got[0].Data) != `{"task":17}` || got[0].Header.Get(bridge.HeaderSocket) != manager.ID {
		t.Errorf("tasks.assigned got %d messages before the fence, want only the manager's: %v", len(got), got)
	}
	said := map[string]string{}
	for _, m := range drainTo(t, chat, `"fence u2"`, `"fence n4"`) {
		said[m.Subject] = string(m.Data)
	}
	want := map[string]string{"chat.u2.out": `"from u2"`, "chat.n4.out": `"from n4"`}
	if len(said) != len(want) || said["chat.u2.out"] != want["chat.u2.out"] || said["chat.n4.out"] != want["chat.n4.out"] {
		t.Errorf("chat got %v, want %v: each on its own user's subject, nothing from the refused", said, want)
	}
	if got := tb.Stats().Refused.Load(); got != uint64(len(refusals)) {
		t.Errorf("Stats.Refused = %d, want %d", got, len(refusals))
	}
}

// TestInboundRateLimitTellsTheSocket: under the "error" policy, events past
// a socket's burst are dropped and counted; the socket hears of each, by
// its ack or by the natsock:rate_limited event, and stays connected. Other
// sockets have their own budget.
func TestInboundRateLimitTellsTheSocket(t *testing.T) {
	t.Parallel()
	nc := connect(t, startNATS(t).ClientURL())
	// 0.001 events a second: no token comes back during the test.
	tb := startBridge(t, bridge.Config{NATSURL: nc.ConnectedUrl(), Maps: []string{"unused=unused"},
		Inbound: []string{"open=open.events"}, InboundRate: 0.001, InboundBurst: 2}, authFromPayload)
	events := subscribeSync(t, nc, "open.events")
	hasty := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "h"})
	calm := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "c"})

	for _, p := range []string{`42["open",1]`, `42["open",2]`, `42["open",3]`, `427["open",4]`} {
		if err := hasty.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	if got := hasty.ackError(t, "7"); !strings.Contains(got, "rate limit") || !strings.Contains(got, `"open" dropped`) {
		t.Errorf("the acknowledged emit over the limit answered %q", got)
	}
	bridgetest.Eventually(t, startBound, "the natsock:rate_limited event", func() bool {
		got, _, _ := hasty.snapshot()
		return len(got) == 1
	})
	if got, _, _ := hasty.snapshot(); got[0] != bridge.RateLimitedEvent+" 0" {
		t.Errorf("the socket got %q, want one %s event", got, bridge.RateLimitedEvent)
	}
	if err := calm.Send(`42["open","fence"]`); err != nil {
		t.Fatal(err)
	}
	got := drainTo(t, events, `"fence"`)
	if len(got) != 2 || string(got[0].Data) != "1" || string(got[1].Data) != "2" {
		t.Errorf("NATS got %d emits before the other socket's, want the burst of 2", len(got))
	}
	if n := tb.Stats().RateLimited.Load(); n != 2 {
		t.Errorf("Stats.RateLimited = %d, want 2", n)
	}
	if !bridge.InRooms(tb.Bridge, "/", hasty.ID, nil) {
		t.Error("the rate-limited socket was disconnected under the error policy")
	}
}

// disconnectedByServer waits for the server's DISCONNECT of the main
// namespace.
func (c *roomClient) disconnectedByServer(t *testing.T) {
	t.Helper()
	c.waitPacket(t, "41")
}

// TestInboundRateLimitDisconnects: under the "disconnect" policy the
// socket past its burst is disconnected from its namespace, and nothing
// past the burst is published.
func TestInboundRateLimitDisconnects(t *testing.T) {
	t.Parallel()
	nc := connect(t, startNATS(t).ClientURL())
	tb := startBridge(t, bridge.Config{NATSURL: nc.ConnectedUrl(), Maps: []string{"unused=unused"},
		Inbound: []string{"open=open.events"}, InboundRate: 0.001, InboundBurst: 1,
		InboundRatePolicy: bridge.RatePolicyDisconnect}, authFromPayload)
	events := subscribeSync(t, nc, "open.events")
	hasty := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "h"})
	calm := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "c"})
	// Two emits: the second is over the limit. (A third, sent after the
	// namespace is gone, would be a protocol violation of its own.)
	for _, p := range []string{`42["open",1]`, `42["open",2]`} {
		if err := hasty.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	hasty.disconnectedByServer(t)
	if err := calm.Send(`42["open","fence"]`); err != nil {
		t.Fatal(err)
	}
	if got := drainTo(t, events, `"fence"`); len(got) != 1 || string(got[0].Data) != "1" {
		t.Errorf("NATS got %d emits from the disconnected socket, want its burst of 1", len(got))
	}
	if n := tb.Stats().RateLimited.Load(); n != 1 {
		t.Errorf("Stats.RateLimited = %d, want 1", n)
	}
	bridgetest.Eventually(t, startBound, "the server to forget the socket", func() bool {
		return !bridge.InRooms(tb.Bridge, "/", hasty.ID, nil)
	})
}
