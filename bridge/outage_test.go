package bridge_test

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// TestNATSOutageKeepsSocketsAndResumes restarts the NATS server on the
// port it had. Through the outage the sockets stay connected (answering
// pings), /readyz is unready, inbound emits are held in the reconnect
// buffer up to its bound and refused past it (an acknowledged one with an
// error naming the cause). Once NATS is back, what was held is sent, the
// subscriptions resume, and the log says how long the outage lasted and
// that core NATS cannot count what was missed.
//
// The bridge's reconnect is held until the test has its subscriber on the
// new server, so that the held emits cannot arrive before anyone listens.
// Not parallel: it takes a fixed port.
func TestNATSOutageKeepsSocketsAndResumes(t *testing.T) {
	ns := startNATS(t)
	port := ns.Addr().(*net.TCPAddr).Port
	gate := make(chan struct{})
	var opened sync.Once
	openGate := func() { opened.Do(func() { close(gate) }) }

	const buffer = 4096
	cfg := guideConfig(ns.ClientURL())
	cfg.NATSReconnectBuffer = buffer
	cfg.RequestTimeout = 5 * time.Second
	cfg.SocketIO.Engine.PingInterval = 200 * time.Millisecond // the clients answer pings all through the outage
	cfg.SocketIO.Engine.PingTimeout = 2 * time.Second
	b := startBridge(t, cfg, func(b *bridge.Bridge) {
		bridge.SetReconnectDelay(b, func(int) time.Duration {
			select {
			case <-gate:
			case <-time.After(nodeBound):
			}
			return 10 * time.Millisecond
		})
	})
	t.Cleanup(openGate) // before the bridge stops: cleanups run last-in first-out

	nc := connect(t, ns.ClientURL())
	clients := []*receiver{receive(t, b.URL), receive(t, b.URL), receive(t, b.URL)}
	if err := nc.Publish("test.before", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if ev := c.nextEvent(t, startBound); ev.name != "before" {
			t.Fatalf("client %d got %+v before the outage, want the event before", i, ev)
		}
	}

	// The outage. The clients keep answering pings through it: their
	// sessions live through two heartbeats at least.
	ns.Shutdown()
	waitReadyz(t, b.URL, http.StatusServiceUnavailable)
	pings := make([]int64, len(clients))
	for i, c := range clients {
		pings[i] = c.Pings()
	}
	bridgetest.Eventually(t, startBound, "two heartbeats during the outage", func() bool {
		for i, c := range clients {
			if c.Pings() < pings[i]+2 {
				return false
			}
		}
		return true
	})

	// Emits while NATS is away: the first two fit in the buffer (nats.go
	// takes a publish while less than the bound is held), the third does
	// not, and neither does the acknowledged one after it.
	emitter, asker := clients[0], clients[1]
	for _, p := range []string{
		`42["taskAssigned",{"n":1}]`,
		`42["taskAssigned",{"n":2,"pad":"` + strings.Repeat("x", buffer) + `"}]`,
		`42["taskAssigned",{"n":3}]`,
	} {
		if err := emitter.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	bridgetest.Eventually(t, startBound, "the third emit refused", func() bool { return b.Stats().BufferFull.Load() == 1 })
	if err := asker.Send(`4217["ask",{"q":1}]`); err != nil {
		t.Fatal(err)
	}
	ack := nextPacket(t, asker, "4317[")
	var errAck []struct{ Error string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(ack, "4317")), &errAck); err != nil || len(errAck) != 1 {
		t.Fatalf("the ack during the outage is %q, want [{\"error\": ...}]", ack)
	}
	for _, want := range []string{"NATS is disconnected", "reconnect buffer (4096 bytes) is full", `"svc.echo"`} {
		if !strings.Contains(errAck[0].Error, want) {
			t.Errorf("the ack's error %q does not say %q", errAck[0].Error, want)
		}
	}
	if got := b.Stats().BufferFull.Load(); got != 2 {
		t.Errorf("Stats().BufferFull = %d, want 2 (one plain emit, one request)", got)
	}
	if n := strings.Count(b.logs.String(), "reconnect buffer is full"); n != 1 {
		t.Errorf("the full buffer was logged %d times, want once an outage:\n%s", n, b.logs)
	}
	for i, c := range clients {
		if !c.connected() {
			t.Fatalf("client %d lost its connection during the outage: %v", i, c.end)
		}
	}

	// NATS comes back on the same port; the test listens first, then lets
	// the bridge reconnect.
	ns2 := runNATS(t, port)
	nc2 := connect(t, ns2.ClientURL())
	tasks, err := nc2.SubscribeSync("tasks.assigned")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc2.Subscribe("svc.echo", func(m *nats.Msg) { _ = m.Respond([]byte(`{"echo":true}`)) }); err != nil {
		t.Fatal(err)
	}
	if err := nc2.Flush(); err != nil {
		t.Fatal(err)
	}
	openGate()
	waitReadyz(t, b.URL, http.StatusOK)

	// What the buffer held arrives, in order; the refused emit does not:
	// the next message is one emitted after the reconnect.
	if err := emitter.Send(`42["taskAssigned",{"n":4}]`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{1, 2, 4} {
		m, err := tasks.NextMsg(startBound)
		if err != nil {
			t.Fatalf("waiting for emit %d on tasks.assigned: %v", want, err)
		}
		var got struct{ N int }
		if err := json.Unmarshal(m.Data, &got); err != nil || got.N != want {
			t.Fatalf("tasks.assigned carried %.60s, want emit %d", m.Data, want)
		}
	}

	// Subscriptions resumed: a message published after the restart reaches
	// every client, still on its first connection; requests work again.
	if err := nc2.Publish("test.after", []byte(`2`)); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if ev := nextEventNamed(t, c, "after"); string(ev.arg) != "2" {
			t.Errorf("client %d got %+v after the restart", i, ev)
		}
	}
	if err := asker.Send(`4218["ask",{"q":2}]`); err != nil {
		t.Fatal(err)
	}
	if ack := nextPacket(t, asker, "4318["); ack != `4318[{"echo":true}]` {
		t.Errorf("the ack after the restart is %q, want the responder's reply", ack)
	}

	logs := b.logs.String()
	reconnected := regexp.MustCompile(`msg="NATS reconnected; subscriptions resumed".* outage=(\d[^ ]*) subscriptions=2 missed_messages="unknown \(core NATS does not keep or count messages published while natsock was away\)" inbound_emits_dropped=2`)
	m := reconnected.FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no reconnect line with the outage, the subscriptions, the missed messages and the dropped emits:\n%s", logs)
	}
	if d, err := time.ParseDuration(m[1]); err != nil || d <= 0 {
		t.Errorf("the outage is logged as %q, want a duration", m[1])
	}
	t.Logf("logged: %s", m[0])
}

// nextPacket skips to the packet that starts with prefix.
func nextPacket(t *testing.T, r *receiver, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(startBound)
	for {
		if p := r.next(t, time.Until(deadline)); strings.HasPrefix(p, prefix) {
			return p
		}
	}
}

// nextEventNamed skips to the event called name.
func nextEventNamed(t *testing.T, r *receiver, name string) event {
	t.Helper()
	deadline := time.Now().Add(startBound)
	for {
		if ev := r.nextEvent(t, time.Until(deadline)); ev.name == name {
			return ev
		}
	}
}
