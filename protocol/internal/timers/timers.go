// Package timers runs many one-shot deadlines from one goroutine and one
// runtime timer, so that a server's per-connection heartbeats and timeouts
// cost a heap entry each instead of a goroutine or a runtime timer each.
package timers

import (
	"container/heap"
	"sync"
	"time"
)

// Timer is one deadline. Its callback runs on the Wheel's goroutine and must
// not block. The zero value is an unscheduled timer; give it a callback
// with Init before scheduling it.
type Timer struct {
	at  time.Time
	pos int // position in the heap plus one; 0 when not scheduled
	fn  func()
}

// Init sets the callback that runs when t fires. Call it before the first
// Schedule, and not while t is scheduled.
func (t *Timer) Init(fn func()) { t.fn = fn }

// Wheel fires Timers at their deadlines.
type Wheel struct {
	mu     sync.Mutex
	h      timerHeap
	timer  *time.Timer
	next   time.Time // when timer is set to fire; zero when idle
	wake   chan struct{}
	done   chan struct{}
	closed bool
	wg     sync.WaitGroup
}

// New starts a Wheel. Stop it with Close.
func New() *Wheel {
	w := &Wheel{
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	w.wg.Go(w.run)
	return w
}

// Schedule (re)arms t to fire at at. It reports false if the Wheel is closed.
func (w *Wheel) Schedule(t *Timer, at time.Time) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	t.at = at
	if t.pos > 0 {
		heap.Fix(&w.h, t.pos-1)
	} else {
		heap.Push(&w.h, t)
	}
	earliest := w.h[0] == t && (w.next.IsZero() || at.Before(w.next))
	w.mu.Unlock()
	if earliest {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// After is Schedule(t, time.Now().Add(d)).
func (w *Wheel) After(t *Timer, d time.Duration) bool {
	return w.Schedule(t, time.Now().Add(d))
}

// Stop unschedules t; it reports whether t was pending. A callback already
// running is not interrupted.
func (w *Wheel) Stop(t *Timer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.pos == 0 {
		return false
	}
	heap.Remove(&w.h, t.pos-1)
	return true
}

// Len is the number of pending timers.
func (w *Wheel) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.h)
}

// Close stops the Wheel's goroutine; pending timers never fire.
func (w *Wheel) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.done)
	w.wg.Wait()
}

func (w *Wheel) run() {
	defer w.timer.Stop()
	var due []*Timer
	for {
		now := time.Now()
		w.mu.Lock()
		due = due[:0]
		for len(w.h) > 0 && !w.h[0].at.After(now) {
			due = append(due, heap.Pop(&w.h).(*Timer))
		}
		w.next = time.Time{}
		if len(w.h) > 0 {
			w.next = w.h[0].at
			w.timer.Reset(w.next.Sub(now))
		}
		w.mu.Unlock()
		for i, t := range due {
			t.fn()
			due[i] = nil
		}
		if len(due) > 0 {
			continue // callbacks took time; look again before sleeping
		}
		select {
		case <-w.done:
			return
		case <-w.wake:
		case <-w.timer.C:
		}
	}
}

type timerHeap []*Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos = i + 1
	h[j].pos = j + 1
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.pos = len(*h) + 1
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.pos = 0
	*h = old[:n-1]
	return t
}
