package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBucketsCoverEveryValueOnce(t *testing.T) {
	// Consecutive buckets tile the values with no gap and no overlap.
	var next uint64
	for i := range histBuckets - 1 {
		lo, hi := histBounds(i)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d is [%d, %d], want it to start at %d", i, lo, hi, next)
		}
		for _, v := range []uint64{lo, hi, lo + (hi-lo)/2} {
			if got := histIndex(v); got != i {
				t.Fatalf("value %d is in bucket %d, want %d", v, got, i)
			}
		}
		next = hi + 1
	}
	if got := histIndex(1 << 62); got != histBuckets-1 {
		t.Fatalf("a huge value is in bucket %d, want the last, %d", got, histBuckets-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"an empty histogram reports zero", nil, 0.99, 0},
		{"one value is every quantile", []time.Duration{5 * time.Millisecond}, 0.5, 5 * time.Millisecond},
		{"small values are exact", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9},
		{"the median of 1..100 us is 50 us", seq(100, time.Microsecond), 0.5, 50 * time.Microsecond},
		{"p99 of 1..1000 ms is 990 ms", seq(1000, time.Millisecond), 0.99, 990 * time.Millisecond},
		{"q=1 is the maximum, exactly", seq(1000, 1237*time.Nanosecond), 1, 1237 * 1000 * time.Nanosecond},
		{"negative durations count as zero", []time.Duration{-5, -1}, 0.5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tc.values {
				h.Record(v)
			}
			got := h.Quantile(tc.q)
			if !within(got, tc.want, 1.0/histSub) {
				t.Errorf("Quantile(%v) = %v, want %v within 3%%", tc.q, got, tc.want)
			}
		})
	}
}

// seq is n, 2n, ... n*unit: the values 1..n in unit.
func seq(n int, unit time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * unit
	}
	return out
}

func within(got, want time.Duration, rel float64) bool {
	d := float64(got - want)
	return d <= rel*float64(want) && -d <= rel*float64(want)
}

func TestHistogramQuantilesMatchSortedValuesWithin3Percent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]time.Duration, 100000)
	for i := range vals {
		// Log-uniform from 1 us to 10 s, like latencies.
		vals[i] = time.Duration(1e3 * math.Pow(10, r.Float64()*7))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		if got := h.Quantile(q); !within(got, want, 1.0/histSub) {
			t.Errorf("Quantile(%v) = %v, sorted values say %v", q, got, want)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Count() != uint64(len(vals)) {
		t.Errorf("Max %v Count %d, want %v and %d", h.Max(), h.Count(), vals[len(vals)-1], len(vals))
	}
}

func TestHistogramMergeAddsCounts(t *testing.T) {
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(&b)
	if a != all {
		t.Fatalf("merged: count %d max %v mean %v; recorded together: count %d max %v mean %v",
			a.Count(), a.Max(), a.Mean(), all.Count(), all.Max(), all.Mean())
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(1234567) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i) * 977)
	}
}
