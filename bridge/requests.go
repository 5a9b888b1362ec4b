package bridge

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/protocol/socketio"
)

// Refusals an acknowledged emit hears at once, as {"error": "..."}, when
// a bound on the NATS requests in flight is reached (see
// Config.MaxInflightRequestsPerSocket and Config.MaxInflightRequests).
// Nothing is sent to NATS for the refused emit; the socket stays
// connected, and its other requests, and every other socket's, go on.
var (
	// ErrSocketInflight: this socket has its per-socket bound of requests
	// waiting for replies.
	ErrSocketInflight = errors.New("bridge: too many requests in flight from this socket")
	// ErrTotalInflight: the whole bridge has its bound of requests
	// waiting for replies.
	ErrTotalInflight = errors.New("bridge: too many requests in flight on this server")
)

// requestMux sends the NATS requests behind acknowledged emits and routes
// their replies back to the acks, with one subscription for every reply
// (INBOX.*, one token per request) and no goroutine or timer per request:
// a reply is handled on the subscription's goroutine, and one timer, armed
// while requests wait, sweeps the ones past their deadline every eighth of
// Config.RequestTimeout (so a request times out between RequestTimeout
// and 9/8 of it). The sweep reads at most MaxInflightRequests entries.
// nats.go's Request shares one reply subscription too, but parks a
// goroutine per request on a channel and a context, with a timer each.
//
// The zero value is ready; the subscription is made on the first request.
// When the subscription ends (the connection drains or closes), every
// request still waiting is answered with nats.ErrConnectionClosed.
type requestMux struct {
	mu      sync.Mutex
	inbox   string // the subscription's prefix, INBOX.<id>.
	sub     *nats.Subscription
	closed  bool // the subscription ended: no more requests
	next    uint64
	pending map[uint64]*pendingRequest
	total   atomic.Int64 // len(pending), read without the lock
	sweep   *time.Timer  // armed while pending is not empty
	armed   bool
}

// pendingRequest is a request waiting for its reply.
type pendingRequest struct {
	ev      *socketio.Event
	subject string
	st      *socketState // nil when the socket left before the request
	expires int64        // Unix nanoseconds
}

// errRepliesClosed answers the requests still waiting when the reply
// subscription ended: the NATS connection drained or closed.
var errRepliesClosed = errors.New("bridge: the NATS connection closed before the reply")

// start makes the reply subscription, once; the caller holds m.mu.
func (m *requestMux) start(b *Bridge) error {
	if m.closed {
		return nats.ErrConnectionClosed
	}
	if m.sub != nil {
		return nil
	}
	m.inbox = b.nc.NewInbox() + "."
	sub, err := b.nc.Subscribe(m.inbox+"*", b.onReply)
	if err != nil {
		return err
	}
	// A reply is small and handled at once; the total bound caps how many
	// can be pending, so never drop one as a slow consumer.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		_ = sub.Unsubscribe()
		return err
	}
	sub.SetClosedHandler(func(string) { b.closeRequests() })
	m.sub = sub
	m.pending = make(map[uint64]*pendingRequest)
	return nil
}

// request sends msg as a request for ev's acknowledgement, within the
// bridge's bounds: it returns ErrSocketInflight or ErrTotalInflight, having
// sent nothing, when one is reached. Otherwise the ack gets the reply, or
// the error requestError names, exactly once.
func (b *Bridge) request(ev *socketio.Event, st *socketState, msg *nats.Msg) error {
	m := &b.requests
	if st != nil {
		if n := st.inflight.Add(1); n > int64(b.cfg.MaxInflightRequestsPerSocket) {
			st.inflight.Add(-1)
			return ErrSocketInflight
		}
	}
	p := &pendingRequest{ev: ev, subject: msg.Subject, st: st}
	m.mu.Lock()
	if int(m.total.Load()) >= b.cfg.MaxInflightRequests {
		m.mu.Unlock()
		p.release()
		return ErrTotalInflight
	}
	if err := m.start(b); err != nil {
		m.mu.Unlock()
		p.release()
		b.requestFailed(p, err)
		return nil
	}
	m.next++
	id := m.next
	m.pending[id] = p
	m.total.Add(1)
	msg.Reply = m.inbox + strconv.FormatUint(id, 36)
	p.expires = time.Now().Add(b.cfg.RequestTimeout).UnixNano()
	if !m.armed {
		b.armSweep()
	}
	m.mu.Unlock()
	if err := b.nc.PublishMsg(msg); err != nil {
		if p := m.take(id); p != nil {
			b.requestFailed(p, err)
		}
	}
	return nil
}

// take removes request id from the pending ones, and returns it, or nil
// when it was answered (or timed out) already.
func (m *requestMux) take(id uint64) *pendingRequest {
	m.mu.Lock()
	p := m.pending[id]
	if p != nil {
		delete(m.pending, id)
		m.total.Add(-1)
	}
	m.mu.Unlock()
	if p != nil {
		p.release()
	}
	return p
}

// release gives back the request's place in its socket's bound.
func (p *pendingRequest) release() {
	if p.st != nil {
		p.st.inflight.Add(-1)
	}
}

// onReply routes a reply to its request's ack. NATS answers a request
// nobody subscribes to with an empty message whose Status header is 503.
func (b *Bridge) onReply(msg *nats.Msg) {
	m := &b.requests
	token, ok := strings.CutPrefix(msg.Subject, m.inbox)
	if !ok {
		return
	}
	id, err := strconv.ParseUint(token, 36, 64)
	if err != nil {
		return // not one of ours
	}
	p := m.take(id)
	if p == nil {
		return // late: it timed out, and its ack has heard so
	}
	if len(msg.Data) == 0 && msg.Header.Get("Status") == "503" {
		b.requestFailed(p, nats.ErrNoResponders)
		return
	}
	data, _ := DecodePayload(msg.Data)
	_ = p.ev.Ack(data)
}

// armSweep arms the sweep timer; the caller holds the mux's lock.
func (b *Bridge) armSweep() {
	m := &b.requests
	every := max(b.cfg.RequestTimeout/8, time.Millisecond)
	if m.sweep == nil {
		m.sweep = time.AfterFunc(every, b.sweepRequests)
	} else {
		m.sweep.Reset(every)
	}
	m.armed = true
}

// sweepRequests answers the requests past their deadline with a timeout,
// and re-arms itself while any request waits.
func (b *Bridge) sweepRequests() {
	m := &b.requests
	now := time.Now().UnixNano()
	var expired []*pendingRequest
	m.mu.Lock()
	for id, p := range m.pending {
		if p.expires <= now {
			delete(m.pending, id)
			expired = append(expired, p)
		}
	}
	m.total.Add(-int64(len(expired)))
	m.armed = false
	if len(m.pending) > 0 && !m.closed {
		b.armSweep()
	}
	m.mu.Unlock()
	for _, p := range expired {
		p.release()
		b.requestFailed(p, nats.ErrTimeout)
	}
}

// requestFailed answers a request's ack with why it failed.
func (b *Bridge) requestFailed(p *pendingRequest, err error) {
	b.stats.RequestErrs.Add(1)
	if errors.Is(err, nats.ErrReconnectBufExceeded) {
		b.stats.BufferFull.Add(1)
		b.outageDropped.Add(1)
	}
	_ = p.ev.Ack(b.requestError(p.subject, err))
}

// closeRequests runs once the reply subscription has ended (the NATS
// connection drained or closed): no reply will come, so every request
// still waiting hears so, and no new one is sent.
func (b *Bridge) closeRequests() {
	m := &b.requests
	m.mu.Lock()
	m.closed = true
	pending := m.pending
	m.pending = nil
	m.total.Store(0)
	if m.sweep != nil {
		m.sweep.Stop()
	}
	m.armed = false
	m.mu.Unlock()
	for _, p := range pending {
		p.release()
		b.requestFailed(p, errRepliesClosed)
	}
}
