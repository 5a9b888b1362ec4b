package bridge

import (
	"sync"
	"sync/atomic"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/protocol/engine"
)

// This file is the bridge's read-only view for monitoring (package
// bridge/metrics turns it into Prometheus metrics; the demo page shows
// it): counters the hot paths already keep, read when someone asks.

// MapStats count one --map rule's traffic.
type MapStats struct {
	Received atomic.Uint64 // NATS messages the rule emitted as an event
	Emitted  atomic.Uint64 // socket deliveries queued for them
}

// InboundStats count one --inbound rule's traffic.
type InboundStats struct {
	Published atomic.Uint64 // client events published to NATS
	Requests  atomic.Uint64 // client events sent as NATS requests (the client asked for an ack)
}

// MapRule is one --map rule with its counters.
type MapRule struct {
	Rule  *Rule
	Stats *MapStats
	// Dropped is the messages NATS dropped before the bridge saw them:
	// the rule's subscription fell behind its pending limits (a slow
	// consumer, in nats.go's terms).
	Dropped uint64
}

// InboundRuleStats is one --inbound rule with its counters.
type InboundRuleStats struct {
	Rule  *InboundRule
	Stats *InboundStats
}

// MapRules returns the --map rules, in order, with their counters.
func (b *Bridge) MapRules() []MapRule {
	rules := b.mapping.Rules()
	out := make([]MapRule, len(rules))
	// subs is complete once subscribed is set (subscribe writes it
	// before), and never written after.
	var subs []int
	if b.subscribed.Load() {
		subs = make([]int, len(b.subs))
		for i, s := range b.subs {
			if n, err := s.Dropped(); err == nil {
				subs[i] = n
			}
		}
	}
	for i, r := range rules {
		out[i] = MapRule{Rule: r, Stats: &b.mapStats[i]}
		if i < len(subs) {
			out[i].Dropped = uint64(subs[i])
		}
	}
	return out
}

// InboundRules returns the --inbound rules, in order, with their
// counters.
func (b *Bridge) InboundRules() []InboundRuleStats {
	rules := b.inbound.Rules()
	out := make([]InboundRuleStats, len(rules))
	for i, r := range rules {
		out[i] = InboundRuleStats{Rule: r, Stats: b.inboundStats[r.Event]}
	}
	return out
}

// SocketCount is how many sockets of one namespace are connected over one
// transport.
type SocketCount struct {
	Namespace string
	Transport string // "websocket" or "polling"
	Sockets   int
}

// SocketCounts counts the connected sockets by namespace and transport,
// for every namespace the --map rules declare and both transports (zero
// counts included). It looks at each socket, so it costs in proportion to
// the sockets; it is meant for a scrape, not a hot path.
func (b *Bridge) SocketCounts() []SocketCount {
	var out []SocketCount
	for _, name := range b.mapping.Namespaces() {
		ws, polling := 0, 0
		for _, s := range b.namespaces[name].Sockets() {
			if s.Transport() == "websocket" {
				ws++
			} else {
				polling++
			}
		}
		out = append(out,
			SocketCount{Namespace: name, Transport: "websocket", Sockets: ws},
			SocketCount{Namespace: name, Transport: "polling", Sockets: polling})
	}
	return out
}

// EngineStats returns the Engine.IO server's counters: connections,
// slow-consumer disconnects and drops, refused handshakes, writes.
func (b *Bridge) EngineStats() engine.Stats { return b.sio.Engine().Stats() }

// EmitLatency returns the publish-to-emit latency histograms.
func (b *Bridge) EmitLatency() *EmitLatency { return &b.latency }

// NATSState is the NATS connection as monitoring sees it.
type NATSState struct {
	Connected  bool   // connected now
	Reconnects uint64 // reconnections since Run connected
}

// NATSState returns the NATS connection's state; before Run connects,
// the zero NATSState.
func (b *Bridge) NATSState() NATSState {
	nc := b.conn.Load()
	if nc == nil {
		return NATSState{}
	}
	return NATSState{Connected: nc.IsConnected(), Reconnects: nc.Stats().Reconnects}
}

// refusalCounts counts authentication refusals by auth.Code. The codes
// are package auth's constants, a bounded set.
type refusalCounts struct{ m sync.Map } // auth.Code -> *atomic.Uint64

func (c *refusalCounts) add(code auth.Code) {
	v, ok := c.m.Load(code)
	if !ok {
		v, _ = c.m.LoadOrStore(code, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
}

// RefusedByCode returns the refused handshakes by the refusal's code
// (the connect_error's data.code); a code never given is absent.
func (s *AuthStats) RefusedByCode() map[auth.Code]uint64 {
	out := make(map[auth.Code]uint64)
	s.byCode.m.Range(func(k, v any) bool {
		out[k.(auth.Code)] = v.(*atomic.Uint64).Load()
		return true
	})
	return out
}
