package bench

// seqTracker tells one client's new messages from duplicates. It keeps a
// bitmap of the last `window` sequence numbers behind the highest one seen
// (a ring), so it costs window/8 bytes however many messages a run sends.
// Messages of one subject arrive in publish order through natsock and the
// Node peer; one that arrives more than a window behind the highest is
// counted late, and neither as new nor as a duplicate, since the bitmap no
// longer knows it.
type seqTracker struct {
	bits     []uint64
	mask     uint64 // window - 1
	base     uint64 // the lowest sequence number the bitmap covers
	distinct uint64 // new sequence numbers
	dups     uint64 // sequence numbers seen before
	late     uint64 // sequence numbers below the window
}

// maxSeqWindow bounds a tracker's bitmap to 8 KiB.
const maxSeqWindow = 1 << 16

// newSeqTracker covers sequence numbers 0 to messages-1 exactly when there
// are at most maxSeqWindow of them, else the last maxSeqWindow.
func newSeqTracker(messages int) seqTracker {
	w := uint64(64)
	for w < uint64(messages) && w < maxSeqWindow {
		w <<= 1
	}
	return seqTracker{bits: make([]uint64, w/64), mask: w - 1}
}

// observe records seq and reports whether it is new.
func (t *seqTracker) observe(seq uint64) bool {
	if seq < t.base {
		t.late++
		return false
	}
	if w := t.mask + 1; seq >= t.base+w {
		// Slide the window up to end at seq; the slots it leaves are
		// reused by the numbers it enters.
		newBase := seq - w + 1
		if newBase-t.base >= w {
			clear(t.bits)
		} else {
			for s := t.base; s < newBase; s++ {
				i := s & t.mask
				t.bits[i/64] &^= 1 << (i % 64)
			}
		}
		t.base = newBase
	}
	i := seq & t.mask
	word, bit := &t.bits[i/64], uint64(1)<<(i%64)
	if *word&bit != 0 {
		t.dups++
		return false
	}
	*word |= bit
	t.distinct++
	return true
}
