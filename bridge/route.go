package bridge

import (
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/protocol/sio"
	"github.com/natsock/natsock/protocol/socketio"
)

// declareNamespaces creates the namespaces the --map rules name, "/"
// first, and sets the bridge's handlers on each. It runs once, in New: no
// namespace is ever created from a message's subject, so a client can
// join only these.
func (b *Bridge) declareNamespaces() {
	b.namespaces = make(map[string]*socketio.Namespace)
	for _, name := range b.mapping.Namespaces() {
		ns := b.sio.Of(name)
		b.useAuth(ns)
		ns.OnAny(b.onClientEvent)
		ns.OnConnect(b.socketConnected)
		ns.OnDisconnect(b.socketDisconnected)
		b.namespaces[name] = ns
	}
}

// deliver emits the messages of one rule's subscription to the sockets its
// route names: a room, or a whole declared namespace. It never blocks on a
// client: Emit only queues.
func (b *Bridge) deliver(r *Rule) nats.MsgHandler {
	d := b.deliverSeq(r)
	return func(m *nats.Msg) { d(m, 0) }
}

// deliverSeq is deliver's handler for messages that carry their recovery
// stream sequence: with Config.Recovery on, live delivery reads the stream
// (deliverStream) and seq, above 0, is each event's socket.io offset and
// SSE id; 0 is the core path, which sends none.
func (b *Bridge) deliverSeq(r *Rule) func(m *nats.Msg, seq uint64) {
	rs := &b.mapStats[r.index]
	return func(m *nats.Msg, seq uint64) {
		received := b.latency.start(m)
		route, ok, err := b.mapping.Route(r, m.Subject)
		if !ok {
			return // an earlier rule owns this subject
		}
		if err != nil {
			// A room the subject cannot name: dropped, never broadcast to
			// the namespace.
			b.stats.BadRoom.Add(1)
			if _, seen := b.badRoomLogged.LoadOrStore(r, struct{}{}); !seen {
				b.log.Warn("dropped a message whose room its map rule cannot build (logged once a rule)",
					"subject", m.Subject, "map", r.String(), "err", err)
			}
			return
		}
		if sio.IsReserved(route.Event) {
			// A placeholder made a name such as "connect": a client would
			// take the message for its own connection event.
			b.stats.Reserved.Add(1)
			if _, seen := b.reservedLogged.LoadOrStore(route.Event, struct{}{}); !seen {
				b.log.Warn("dropped a message whose event name socket.io reserves (logged once a name)",
					"subject", m.Subject, "event", route.Event, "map", r.String())
			}
			return
		}
		if max := b.sio.Engine().Config().MaxQueueBytes; len(m.Data) > max {
			// No client's queue could take it: sent, it would be refused by
			// every session (see engine.ErrMessageTooLarge).
			b.stats.TooLarge.Add(1)
			if _, seen := b.tooLargeLogged.LoadOrStore(r.Pattern, struct{}{}); !seen {
				b.log.Warn("dropped a NATS message larger than a client's whole outbound queue; raise --max-queue-bytes to pass it (logged once a --map rule)",
					"subject", m.Subject, "bytes", len(m.Data), "max_queue_bytes", max, "map", r.String())
			}
			return
		}
		data, _ := DecodePayload(m.Data)
		ns := b.namespaces[route.Namespace] // declared in New, from these rules
		target := ns.To()                   // every socket of the namespace
		if route.Room != "" {
			target = ns.To(route.Room)
		}
		var n int
		if seq == 0 {
			n = target.Emit(route.Event, data)
		} else {
			n = target.EmitOffset(route.Event, data, seq)
		}
		b.publishSSE(route, data, seq) // the event streams; seq is their id (0: none)
		b.latency.record(received)
		b.stats.Received.Add(1)
		b.stats.Emitted.Add(uint64(n))
		rs.Received.Add(1)
		rs.Emitted.Add(uint64(n))
	}
}
