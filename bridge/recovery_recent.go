package bridge

import (
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// The bounds of a node's memory of recent messages (recentLog): besides
// the recovery window, at most this many messages and bytes of payload.
const (
	recentMaxMessages = 100_000
	recentMaxBytes    = 64 << 20
)

// recentLog is a node's memory of the messages its live delivery passed
// on last, in stream order and without a gap, for at most the recovery
// window (and recentMaxMessages, recentMaxBytes). A replay whose offset
// falls inside it is served from it, with no read of the stream: in a
// reconnect storm, thousands of clients resume at once on a node that
// delivered what they missed a moment ago, and reading the stream for
// each would flood the node's one NATS connection with replies.
type recentLog struct {
	window time.Duration

	mu    sync.RWMutex
	msgs  []recentMsg // msgs[head:] are held, oldest first
	head  int
	bytes int
}

type recentMsg struct {
	seq     uint64
	subject string
	hdr     nats.Header
	data    []byte
	at      time.Time // when the stream stored it: its MaxAge counts from there
}

// add remembers a delivered message. A sequence that does not follow the
// last one (the consumer skipped messages that expired while NATS was
// away) starts the memory afresh, so that it never holds a gap.
func (l *recentLog) add(m recentMsg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.msgs); n > l.head && l.msgs[n-1].seq+1 != m.seq {
		l.msgs, l.head, l.bytes = l.msgs[:0], 0, 0
	}
	l.msgs = append(l.msgs, m)
	l.bytes += len(m.data)
	old := m.at.Add(-l.window)
	for l.head < len(l.msgs) && (len(l.msgs)-l.head > recentMaxMessages || l.bytes > recentMaxBytes || l.msgs[l.head].at.Before(old)) {
		l.bytes -= len(l.msgs[l.head].data)
		l.msgs[l.head] = recentMsg{}
		l.head++
	}
	if l.head > len(l.msgs)/2 && l.head > 1024 {
		l.msgs = append(l.msgs[:0], l.msgs[l.head:]...)
		l.head = 0
	}
}

// since returns up to limit messages after sequence after, appended to
// dst[:0] (a replay reuses one chunk's array), when the
// memory holds all of them: after is its newest, or its oldest is at most
// after+1. ok false means the stream must be read. tooOld reports that
// the message after+1 is held but older than the window: the stream has
// dropped it, or is about to; the messages are returned all the same (a
// replay that is already under way goes on with them). A replay takes
// them a chunk at a time, so that each holds a bounded copy, not one of
// the whole memory (up to recentMaxMessages entries) per client. The
// messages are shared: their headers and data must not be changed.
func (l *recentLog) since(dst []recentMsg, after uint64, now time.Time, limit int) (msgs []recentMsg, ok, tooOld bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	i, ok, tooOld := l.findLocked(after, now)
	if !ok {
		return nil, false, false
	}
	held := l.msgs[l.head+i:]
	return append(dst[:0], held[:min(len(held), limit)]...), true, tooOld
}

// holds is since without the messages: whether a replay after sequence
// after can be served from memory, and whether it is too old.
func (l *recentLog) holds(after uint64, now time.Time) (ok, tooOld bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok, tooOld = l.findLocked(after, now)
	return ok, tooOld
}

// findLocked returns the index, among the held messages, of the first
// after sequence after.
func (l *recentLog) findLocked(after uint64, now time.Time) (i int, ok, tooOld bool) {
	held := l.msgs[l.head:]
	if len(held) == 0 || after+1 < held[0].seq || after > held[len(held)-1].seq {
		return 0, false, false
	}
	i = sort.Search(len(held), func(i int) bool { return held[i].seq > after })
	if i < len(held) && now.Sub(held[i].at) > l.window {
		return i, true, true
	}
	return i, true, false
}
