package bridge

import (
	"context"
	"runtime"
	"testing"
	"time"
	"unsafe"

	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
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
		msgs, ok, tooOld := l.since(nil, after, now, 100)
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
		{"the next message older than the window", 6, t0.Add(7*time.Second + time.Minute + time.Millisecond), []uint64{7, 8, 9}, true, true},
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

	// A replay copies a chunk at a time, not the whole memory.
	if msgs, ok, _ := l.since(nil, 4, now, 2); !ok || len(msgs) != 2 || msgs[0].seq != 5 || msgs[1].seq != 6 {
		t.Errorf("since(4) with a limit of 2: %v, %v; want 5 and 6", msgs, ok)
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

// TestReplayFromMemoryCopiesAChunk: a replay served from the node's
// memory copies a bounded chunk of it at a time, not all it holds: a
// client resuming from the oldest message held (an SSE Last-Event-ID may
// name any id) would otherwise cost a copy of up to recentMaxMessages
// entries, per client, for as long as its replay runs.
//
// Not parallel: it reads the process's allocation count.
func TestReplayFromMemoryCopiesAChunk(t *testing.T) {
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	ns := natstest.RunServer(&opts)
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	const n = recentMaxMessages
	rec := &recovery{recent: recentLog{window: time.Hour}, reads: make(chan struct{}, 1)}
	now := time.Now()
	for seq := uint64(1); seq <= n; seq++ {
		rec.recent.add(recentMsg{seq: seq, subject: "news.a", at: now})
	}
	rec.delivered.Store(n)
	rec.recorded.Store(n)
	b := &Bridge{rec: rec}
	b.conn.Store(nc)

	var count int
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	last, err := b.replayAfter(context.Background(), 0, func(uint64, string, nats.Header, []byte) error {
		count++
		return nil
	})
	runtime.ReadMemStats(&after)
	if err != nil || last != n || count != n {
		t.Fatalf("replayAfter(0) = %d, %v after %d messages; want %d, nil", last, err, count, n)
	}
	// The whole memory is n entries of unsafe.Sizeof(recentMsg{}) bytes.
	whole := n * uint64(unsafe.Sizeof(recentMsg{}))
	if got := after.TotalAlloc - before.TotalAlloc; got > whole/4 {
		t.Errorf("a replay of %d messages from memory allocated %d bytes; a copy of the whole memory is %d", n, got, whole)
	}
}
