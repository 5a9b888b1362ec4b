package bridge

import (
	"testing"
	"time"
)

// TestRecentLog: the memory of recent messages holds a gapless run, no
// older than the window and within its bounds, and serves a replay only
// when it holds all of it.
func TestRecentLog(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1700000000, 0)
	l := recentLog{window: time.Minute}
	for seq := uint64(5); seq <= 9; seq++ {
		l.add(recentMsg{seq: seq, data: []byte{byte(seq)}, at: t0.Add(time.Duration(seq) * time.Second)})
	}
	seqs := func(after uint64, now time.Time) (out []uint64, ok, tooOld bool) {
		msgs, ok, tooOld := l.since(after, now)
		for _, m := range msgs {
			out = append(out, m.seq)
		}
		return out, ok, tooOld
	}
	now := t0.Add(10 * time.Second)
	for _, tc := range []struct {
		name       string
		after      uint64
		now        time.Time
		want       []uint64
		ok, tooOld bool
	}{
		{"after the oldest but one", 4, now, []uint64{5, 6, 7, 8, 9}, true, false},
		{"in the middle", 7, now, []uint64{8, 9}, true, false},
		{"at the newest: nothing to send", 9, now, nil, true, false},
		{"before what it holds: read the stream", 3, now, nil, false, false},
		{"past what it holds: read the stream", 10, now, nil, false, false},
		{"the next message older than the window", 6, t0.Add(7*time.Second + time.Minute + time.Millisecond), nil, true, true},
	} {
		got, ok, tooOld := seqs(tc.after, tc.now)
		if ok != tc.ok || tooOld != tc.tooOld || len(got) != len(tc.want) {
			t.Errorf("%s: since(%d) = %v, %v, %v; want %v, %v, %v", tc.name, tc.after, got, ok, tooOld, tc.want, tc.ok, tc.tooOld)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: since(%d) = %v, want %v", tc.name, tc.after, got, tc.want)
			}
		}
		if hok, htoo := l.holds(tc.after, tc.now); hok != ok || htoo != tooOld {
			t.Errorf("%s: holds(%d) = %v, %v; since says %v, %v", tc.name, tc.after, hok, htoo, ok, tooOld)
		}
	}

	// A gap (messages the consumer never got) starts the memory afresh.
	l.add(recentMsg{seq: 12, at: t0.Add(12 * time.Second)})
	if got, ok, _ := seqs(9, now); ok {
		t.Errorf("after a gap, since(9) = %v from memory; want the stream read", got)
	}
	if got, ok, _ := seqs(11, now); !ok || len(got) != 1 || got[0] != 12 {
		t.Errorf("after a gap, since(11) = %v, %v; want [12]", got, ok)
	}

	// Messages older than the window, and past the count bound, go.
	l = recentLog{window: time.Second}
	for seq := uint64(1); seq <= recentMaxMessages+10; seq++ {
		l.add(recentMsg{seq: seq, at: t0.Add(time.Duration(seq) * time.Millisecond)})
	}
	held := l.msgs[l.head:]
	if len(held) > 1001 || held[len(held)-1].seq != recentMaxMessages+10 {
		t.Errorf("window 1s, a message a millisecond: %d held, newest %d", len(held), held[len(held)-1].seq)
	}
	l = recentLog{window: time.Hour}
	for seq := uint64(1); seq <= recentMaxMessages+10; seq++ {
		l.add(recentMsg{seq: seq, at: t0})
	}
	if n := len(l.msgs) - l.head; n != recentMaxMessages || l.msgs[l.head].seq != 11 {
		t.Errorf("past the count bound: %d held from %d; want %d from 11", n, l.msgs[l.head].seq, recentMaxMessages)
	}
	l = recentLog{window: time.Hour}
	big := make([]byte, 1<<20)
	for seq := uint64(1); seq <= 100; seq++ {
		l.add(recentMsg{seq: seq, data: big, at: t0})
	}
	if l.bytes > recentMaxBytes || l.msgs[len(l.msgs)-1].seq != 100 {
		t.Errorf("past the byte bound: %d bytes held", l.bytes)
	}
}
