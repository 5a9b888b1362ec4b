package bench

import "testing"

func TestSeqTracker(t *testing.T) {
	tests := []struct {
		name                 string
		messages             int
		seqs                 []uint64
		distinct, dups, late uint64
	}{
		{"in order, every message is new", 5, []uint64{0, 1, 2, 3, 4}, 5, 0, 0},
		{"a repeated message is a duplicate", 5, []uint64{0, 1, 1, 2, 0}, 3, 2, 0},
		{"a gap is not a loss until the end, and a late fill is new", 5, []uint64{0, 3, 1, 2}, 4, 0, 0},
		{"out of order within the window is exact", 200, []uint64{150, 3, 150, 3, 199, 0}, 4, 2, 0},
		{"a message a window behind the highest is late", 1 << 20, []uint64{0, maxSeqWindow + 5, 0, 5, 6}, 3, 0, 2},
		{"sliding a whole window forgets it all", 1 << 20, []uint64{1, 3 * maxSeqWindow, 3*maxSeqWindow - 1, 3 * maxSeqWindow}, 3, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newSeqTracker(tc.messages)
			for _, s := range tc.seqs {
				tr.observe(s)
			}
			if tr.distinct != tc.distinct || tr.dups != tc.dups || tr.late != tc.late {
				t.Errorf("distinct %d dups %d late %d, want %d %d %d", tr.distinct, tr.dups, tr.late, tc.distinct, tc.dups, tc.late)
			}
		})
	}
}

func TestSeqTrackerMatchesASetForLongInOrderRuns(t *testing.T) {
	// A long run with gaps and immediate repeats, well past the window:
	// what the tracker counts is what a set of every number counts.
	const n = 5 * maxSeqWindow
	tr := newSeqTracker(n)
	seen := make(map[uint64]bool)
	var dups uint64
	for s := uint64(0); s < n; s++ {
		if s%7 == 3 {
			continue // lost
		}
		for range 1 + int(s%11/10) { // every 11th one twice
			if seen[s] {
				dups++
			}
			seen[s] = true
			tr.observe(s)
		}
	}
	if tr.distinct != uint64(len(seen)) || tr.dups != dups || tr.late != 0 {
		t.Errorf("distinct %d dups %d late %d, want %d %d 0", tr.distinct, tr.dups, tr.late, len(seen), dups)
	}
}

func TestSeqTrackerSizesItsWindowToTheRun(t *testing.T) {
	for _, tc := range []struct{ messages, words int }{{0, 1}, {64, 1}, {65, 2}, {200, 4}, {1 << 30, maxSeqWindow / 64}} {
		if got := len(newSeqTracker(tc.messages).bits); got != tc.words {
			t.Errorf("%d messages: %d words, want %d", tc.messages, got, tc.words)
		}
	}
}
