package bridge

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/natsock/natsock/bridge/lifecycle"
	"github.com/natsock/natsock/protocol/socketio"
)

// socketState is what the bridge keeps for a connected socket beside its
// identity: its inbound rate limiter and what its lifecycle events need.
// It lives in Bridge.sockets from the socket's connect hook to its
// disconnect hook.
type socketState struct {
	limiter     *rate.Limiter // nil: no inbound limit
	connectedAt time.Time
	// inflight counts the socket's NATS requests waiting for replies,
	// bounded by Config.MaxInflightRequestsPerSocket (requests.go).
	inflight atomic.Int64
	// header is the NATS header of the socket's last inbound event.
	header atomic.Pointer[eventHeader]

	mu        sync.Mutex
	rooms     []string        // at connect, for the disconnect event
	announced bool            // the connect event is queued
	gone      bool            // the disconnect hook ran
	reason    socketio.Reason // set when the bridge itself disconnects the socket
}

func (st *socketState) setReason(r socketio.Reason) {
	st.mu.Lock()
	st.reason = r
	st.mu.Unlock()
}

// LifecycleStats returns the lifecycle events' counters (published, and
// dropped: queue full, NATS refused, or after shutdown began), or nil when
// Config.LifecycleSubject is empty.
func (b *Bridge) LifecycleStats() *lifecycle.Stats {
	if b.lifecycle == nil {
		return nil
	}
	return b.lifecycle.Stats()
}

// keepsSocketState reports whether anything needs a socketState: an
// inbound rate limit, --inbound rules (the per-socket bound on requests in
// flight) or lifecycle events.
func (b *Bridge) keepsSocketState() bool {
	return b.cfg.InboundRate > 0 || len(b.cfg.Inbound) > 0 || b.lifecycle != nil
}

// stateOf returns a socket's state, or nil before its connect hook or
// after its disconnect hook.
func (b *Bridge) stateOf(s *socketio.Socket) *socketState {
	v, ok := b.sockets.Load(s)
	if !ok {
		return nil
	}
	return v.(*socketState)
}

// socketConnected runs once a socket has joined a namespace, before any
// of its events is dispatched (the engine calls it on the socket's read
// goroutine): it sets up the rate limiter and publishes the lifecycle
// connect event.
func (b *Bridge) socketConnected(s *socketio.Socket) {
	if !b.keepsSocketState() {
		return
	}
	fresh := &socketState{limiter: newInboundLimiter(b.cfg.InboundRate, b.cfg.InboundBurst), connectedAt: time.Now().UTC()}
	v, _ := b.sockets.LoadOrStore(s, fresh)
	st := v.(*socketState)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone {
		// The socket left before this hook ran (its session closed on
		// another goroutine): no connect event without its disconnect.
		b.sockets.Delete(s)
		return
	}
	st.limiter, st.connectedAt = fresh.limiter, fresh.connectedAt
	st.rooms = s.Rooms()
	if b.lifecycle != nil {
		b.lifecycle.Publish(b.lifecycleEvent(lifecycle.TypeConnect, s, st, ""))
	}
	st.announced = true
}

// socketDisconnected runs once for each socket that leaves: it forgets
// the socket's state and publishes the lifecycle disconnect event.
func (b *Bridge) socketDisconnected(s *socketio.Socket, reason socketio.Reason) {
	if !b.keepsSocketState() {
		return
	}
	v, loaded := b.sockets.LoadOrStore(s, &socketState{gone: true})
	if !loaded {
		return // the connect hook has not run yet; it sees gone and stays quiet
	}
	st := v.(*socketState)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.gone = true
	b.sockets.Delete(s)
	if st.reason != "" {
		reason = st.reason
	}
	if b.lifecycle != nil && st.announced {
		b.lifecycle.Publish(b.lifecycleEvent(lifecycle.TypeDisconnect, s, st, string(reason)))
	}
}

// lifecycleEvent describes socket s for a lifecycle event.
func (b *Bridge) lifecycleEvent(typ string, s *socketio.Socket, st *socketState, reason string) *lifecycle.Event {
	ev := &lifecycle.Event{
		Type:      typ,
		SID:       s.ID(),
		Namespace: s.Namespace().Name(),
		Rooms:     st.rooms,
		Transport: s.Transport(),
		Remote:    s.Handshake().RemoteAddr,
		Reason:    reason,
	}
	if typ == lifecycle.TypeDisconnect {
		at := st.connectedAt
		ev.ConnectedAt = &at
	}
	if id := identityOf(s); id != nil {
		ev.Sub = id.Subject
		ev.Data = id.Data
	}
	return ev
}

// defaultNodeName is the host name, or "natsock" when it has none.
func defaultNodeName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "natsock"
}
