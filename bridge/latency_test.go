package bridge

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestLatencyBuckets: a duration counts in the first bucket whose bound
// it does not pass, and the snapshot is cumulative, as Prometheus reads
// a histogram.
func TestLatencyBuckets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		d     time.Duration
		first int // index of the first bucket that counts it; len(LatencyBounds): only +Inf
	}{
		{"a negative duration counts as zero, in the first bucket", -time.Second, 0},
		{"zero is in the first bucket", 0, 0},
		{"a duration equal to a bound is in that bound's bucket", time.Millisecond, 4},
		{"a duration just past a bound is in the next", time.Millisecond + 1, 5},
		{"a duration past the last bound is only in +Inf", time.Minute, len(LatencyBounds)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Latency
			h.Observe(tc.d)
			cumulative, count, sum := h.Snapshot()
			if count != 1 || sum != max(tc.d, 0) {
				t.Errorf("count %d, sum %v; want 1, %v", count, sum, max(tc.d, 0))
			}
			for i, c := range cumulative {
				want := uint64(0)
				if i >= tc.first {
					want = 1
				}
				if c != want {
					t.Errorf("bucket le=%v holds %d, want %d", LatencyBounds[i], c, want)
				}
			}
		})
	}
}

// FuzzPublishedAtHeader: whatever a publisher puts in
// Natsock-Published-At, a message is measured exactly once, from the
// header when it is a decimal integer and from receipt otherwise, and a
// bad header is counted.
func FuzzPublishedAtHeader(f *testing.F) {
	for _, seed := range []string{"", "0", "-1", "1764560000000000000", "9223372036854775807",
		"9223372036854775808", "2026-12-01T00:00:00Z", "1e18", " 42", "0x10", "+5"} {
		f.Add(seed, true)
	}
	f.Add("", false)
	f.Fuzz(func(t *testing.T, value string, present bool) {
		var l EmitLatency
		m := &nats.Msg{Subject: "s", Header: nats.Header{}}
		if present {
			m.Header[HeaderPublishedAt] = []string{value}
		}
		l.record(l.start(m))
		_, fromPublish, _ := l.FromPublish.Snapshot()
		_, fromReceipt, _ := l.FromReceipt.Snapshot()
		if fromPublish+fromReceipt != 1 {
			t.Fatalf("header %q (present %v): %d from publish + %d from receipt, want one observation", value, present, fromPublish, fromReceipt)
		}
		_, err := strconv.ParseInt(value, 10, 64)
		wantPublish := present && err == nil
		if (fromPublish == 1) != wantPublish {
			t.Errorf("header %q (present %v): measured from publish %v, want %v", value, present, fromPublish == 1, wantPublish)
		}
		if bad := l.BadHeader.Load(); bad != 0 != (present && err != nil) {
			t.Errorf("header %q (present %v): BadHeader %d", value, present, bad)
		}
	})
}

// BenchmarkEmitBookkeeping is what metrics added to each NATS message a
// --map rule emits: the latency record (two clock reads, a header
// lookup, a histogram bucket) and the rule's two counters. A fan-out to
// N sockets costs it once, not N times.
func BenchmarkEmitBookkeeping(b *testing.B) {
	stamped := &nats.Msg{Subject: "tasks.assigned", Header: nats.Header{}}
	stamped.Header.Set(HeaderPublishedAt, strconv.FormatInt(time.Now().UnixNano(), 10))
	for _, bc := range []struct {
		name string
		m    *nats.Msg
	}{
		{"from receipt", &nats.Msg{Subject: "tasks.assigned"}},
		{"from Natsock-Published-At", stamped},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var l EmitLatency
			var rs MapStats
			b.ReportAllocs()
			for b.Loop() {
				l.record(l.start(bc.m))
				rs.Received.Add(1)
				rs.Emitted.Add(1000)
			}
		})
	}
}
