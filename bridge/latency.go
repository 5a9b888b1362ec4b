package bridge

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// HeaderPublishedAt is the NATS header a publisher may set to the time it
// published a message, in Unix nanoseconds as a decimal integer
// (`natsock publish` sets it). The bridge then measures a message's
// latency from that time to its emit, across processes and hosts (whose
// clocks must agree); without the header, from the bridge's receipt of
// the message. See [Bridge.EmitLatency].
const HeaderPublishedAt = "Natsock-Published-At"

// LatencyBounds are the upper bounds of [Latency]'s buckets, from 50µs to
// 10s; a longer latency counts in the last, unbounded bucket.
var LatencyBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Latency is a histogram of durations in the fixed buckets of
// [LatencyBounds], counted with atomics: recording one costs a short scan
// and two atomic adds, with no lock, so the NATS callback can do it for
// every message. Its zero value is empty and ready.
type Latency struct {
	buckets [len(LatencyBounds) + 1]atomic.Uint64 // not cumulative; the last is +Inf
	sum     atomic.Int64                          // nanoseconds
}

// Observe records d; a negative d (a publisher's clock ahead of ours)
// counts as zero.
func (h *Latency) Observe(d time.Duration) {
	d = max(d, 0)
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot returns the histogram as Prometheus reads one: the cumulative
// count of each bucket of [LatencyBounds] (a duration counts in every
// bucket whose bound it does not pass), the total count, and the sum. The
// buckets are read one by one while others may record, so a snapshot may
// be a few observations behind the sum; it is never inconsistent in
// order (each cumulative count is at most the next).
func (h *Latency) Snapshot() (cumulative []uint64, count uint64, sum time.Duration) {
	cumulative = make([]uint64, len(LatencyBounds))
	for i := range LatencyBounds {
		count += h.buckets[i].Load()
		cumulative[i] = count
	}
	count += h.buckets[len(LatencyBounds)].Load()
	return cumulative, count, time.Duration(h.sum.Load())
}

// EmitLatency holds the bridge's two latency histograms: from a
// publisher's [HeaderPublishedAt] to the emit, and, for messages without
// it, from the bridge's receipt to the emit. An emit is the moment the
// event is queued to every socket it targets, not its write to the network.
type EmitLatency struct {
	FromPublish Latency
	FromReceipt Latency
	// BadHeader counts messages whose HeaderPublishedAt is not a decimal
	// integer; they are measured from receipt.
	BadHeader atomic.Uint64
}

// emitStart is where a message's latency is measured from: its
// publisher's valid HeaderPublishedAt (Unix nanoseconds), or natsock's
// receipt.
type emitStart struct {
	publishedAt int64
	stamped     bool
	received    time.Time // zero when stamped
}

// start reads where m's latency is measured from, as the NATS callback
// receives it. A message stamped with a valid HeaderPublishedAt is spared
// a clock read (tens of nanoseconds, more in a VM): record measures it
// from the stamp. It reads the header map directly, as nats.go has
// already parsed (and canonicalised) it. A bad stamp is counted.
func (l *EmitLatency) start(m *nats.Msg) emitStart {
	if v := m.Header[HeaderPublishedAt]; len(v) > 0 {
		if ns, err := strconv.ParseInt(v[0], 10, 64); err == nil {
			return emitStart{publishedAt: ns, stamped: true}
		}
		l.BadHeader.Add(1)
	}
	return emitStart{received: time.Now()}
}

// record measures one emitted message, once it is queued to its sockets,
// from where start said.
func (l *EmitLatency) record(st emitStart) {
	if st.stamped {
		l.FromPublish.Observe(time.Since(time.Unix(0, st.publishedAt)))
		return
	}
	l.FromReceipt.Observe(time.Since(st.received))
}
