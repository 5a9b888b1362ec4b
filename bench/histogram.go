package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets: every power of two is
// split into 32 buckets, so a quantile is within about 3% of the true
// value (exact below 64ns), and Max is exact. Recording is a few
// instructions and never allocates. The zero value is empty and ready;
// it is not safe for concurrent use, so each client keeps its own and the
// run merges them.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    uint64
	max    uint64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits // buckets per power of two
	// histMaxExp is the largest power of two with its own buckets: 2^41 ns
	// is about 36 minutes; longer values go to the last bucket.
	histMaxExp  = 41
	histBuckets = (histMaxExp - histSubBits + 2) * histSub
)

// histIndex is v's bucket.
func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v is in [2^e, 2^(e+1))
	if e > histMaxExp {
		return histBuckets - 1
	}
	sub := int(v>>(e-histSubBits)) & (histSub - 1)
	return (e-histSubBits+1)*histSub + sub
}

// histBounds is the range [lo, hi] of values bucket i holds.
func histBounds(i int) (lo, hi uint64) {
	if i < 2*histSub {
		return uint64(i), uint64(i)
	}
	e := i/histSub + histSubBits - 1
	sub := uint64(i % histSub)
	lo = (histSub + sub) << (e - histSubBits)
	return lo, lo + 1<<(e-histSubBits) - 1
}

// Record counts one duration; negative ones count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)]++
	h.n++
	h.sum += v
	h.max = max(h.max, v)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the longest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the average duration recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the duration that a fraction q (0 to 1) of the
// recorded ones do not exceed: the middle of its bucket, never above Max.
// It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := histBounds(i)
			return time.Duration(min(lo+(hi-lo)/2, h.max))
		}
	}
	return time.Duration(h.max)
}
