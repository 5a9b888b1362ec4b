package timers_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/natsock/natsock/protocol/internal/timers"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor polls cond every millisecond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recorder collects the names of fired timers in firing order.
type recorder struct {
	mu    sync.Mutex
	fired []string
}

func (r *recorder) fn(name string) func() {
	return func() {
		r.mu.Lock()
		r.fired = append(r.fired, name)
		r.mu.Unlock()
	}
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.fired)
}

// step is one action on a wheel: schedule timer name at base+at, or stop
// it. Steps run within microseconds of each other; deadlines that a later
// step changes are 100ms or more away so that a loaded machine cannot fire
// them first.
type step struct {
	name     string
	at       time.Duration // offset from the test's base time
	stop     bool
	wantStop bool // what Stop should report
}

func TestWheel(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name      string
		steps     []step
		wantFired []string
	}{
		{
			name:      "timers fire in deadline order, not scheduling order",
			steps:     []step{{name: "c", at: 30 * ms}, {name: "a", at: 10 * ms}, {name: "b", at: 20 * ms}},
			wantFired: []string{"a", "b", "c"},
		},
		{
			name:      "a deadline in the past fires at once",
			steps:     []step{{name: "late", at: -time.Second}},
			wantFired: []string{"late"},
		},
		{
			name:      "a stopped timer never fires",
			steps:     []step{{name: "a", at: 100 * ms}, {name: "b", at: 20 * ms}, {name: "a", stop: true, wantStop: true}},
			wantFired: []string{"b"},
		},
		{
			name:      "stopping a timer that is not scheduled reports false",
			steps:     []step{{name: "a", stop: true, wantStop: false}, {name: "b", at: 5 * ms}},
			wantFired: []string{"b"},
		},
		{
			name:      "stopping twice reports true then false",
			steps:     []step{{name: "a", at: 100 * ms}, {name: "a", stop: true, wantStop: true}, {name: "a", stop: true, wantStop: false}, {name: "b", at: 20 * ms}},
			wantFired: []string{"b"},
		},
		{
			name:      "re-scheduling moves a timer later",
			steps:     []step{{name: "a", at: 100 * ms}, {name: "b", at: 150 * ms}, {name: "a", at: 200 * ms}},
			wantFired: []string{"b", "a"},
		},
		{
			name:      "re-scheduling moves a timer earlier",
			steps:     []step{{name: "a", at: 200 * ms}, {name: "b", at: 40 * ms}, {name: "a", at: 5 * ms}},
			wantFired: []string{"a", "b"},
		},
		{
			name:      "re-scheduling fires a timer once",
			steps:     []step{{name: "a", at: 100 * ms}, {name: "a", at: 110 * ms}, {name: "a", at: 120 * ms}},
			wantFired: []string{"a"},
		},
		{
			name:      "a stopped timer may be scheduled again",
			steps:     []step{{name: "a", at: 100 * ms}, {name: "a", stop: true, wantStop: true}, {name: "a", at: 20 * ms}},
			wantFired: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := timers.New()
			defer w.Close()
			var rec recorder
			tm := map[string]*timers.Timer{}
			base := time.Now()
			for _, s := range tt.steps {
				timer := tm[s.name]
				if timer == nil {
					timer = new(timers.Timer)
					timer.Init(rec.fn(s.name))
					tm[s.name] = timer
				}
				if s.stop {
					if got := w.Stop(timer); got != s.wantStop {
						t.Fatalf("Stop(%s) = %v, want %v", s.name, got, s.wantStop)
					}
					continue
				}
				if !w.Schedule(timer, base.Add(s.at)) {
					t.Fatalf("Schedule(%s) refused on an open wheel", s.name)
				}
			}
			waitFor(t, 2*time.Second, "the timers to fire", func() bool { return w.Len() == 0 && len(rec.get()) >= len(tt.wantFired) })
			if got := rec.get(); !slices.Equal(got, tt.wantFired) {
				t.Errorf("fired %v, want %v", got, tt.wantFired)
			}
		})
	}
}

func TestWheelLen(t *testing.T) {
	w := timers.New()
	defer w.Close()
	var a, b timers.Timer
	a.Init(func() {})
	b.Init(func() {})
	far := time.Now().Add(time.Hour)
	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"a new wheel has no timers", func() {}, 0},
		{"scheduling adds a timer", func() { w.Schedule(&a, far) }, 1},
		{"re-scheduling does not add one", func() { w.Schedule(&a, far.Add(time.Minute)) }, 1},
		{"a second timer counts", func() { w.After(&b, time.Hour) }, 2},
		{"stopping removes one", func() { w.Stop(&a) }, 1},
		{"stopping the last empties the wheel", func() { w.Stop(&b) }, 0},
	}
	for _, s := range steps {
		s.do()
		if got := w.Len(); got != s.want {
			t.Errorf("%s: Len() = %d, want %d", s.name, got, s.want)
		}
	}
}

func TestWheelClose(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, w *timers.Wheel)
	}{
		{
			name: "pending timers never fire after Close",
			run: func(t *testing.T, w *timers.Wheel) {
				var rec recorder
				var tm timers.Timer
				tm.Init(rec.fn("a"))
				w.After(&tm, 20*time.Millisecond)
				w.Close()
				time.Sleep(50 * time.Millisecond) // give a wrongly live timer the chance to fire
				if got := rec.get(); len(got) != 0 {
					t.Errorf("fired %v after Close", got)
				}
			},
		},
		{
			name: "Schedule reports false after Close",
			run: func(t *testing.T, w *timers.Wheel) {
				w.Close()
				var tm timers.Timer
				tm.Init(func() { t.Error("a timer fired on a closed wheel") })
				if w.Schedule(&tm, time.Now()) {
					t.Errorf("Schedule on a closed wheel = true")
				}
				if w.After(&tm, 0) {
					t.Errorf("After on a closed wheel = true")
				}
			},
		},
		{
			name: "Close may be called twice",
			run: func(t *testing.T, w *timers.Wheel) {
				w.Close()
				w.Close()
			},
		},
		{
			name: "Close waits for a running callback",
			run: func(t *testing.T, w *timers.Wheel) {
				started, release := make(chan struct{}), make(chan struct{})
				var done sync.WaitGroup
				done.Add(1)
				var tm timers.Timer
				tm.Init(func() {
					close(started)
					<-release
					done.Done()
				})
				w.After(&tm, 0)
				<-started
				closed := make(chan struct{})
				go func() { w.Close(); close(closed) }()
				select {
				case <-closed:
					t.Fatal("Close returned while a callback was running")
				case <-time.After(20 * time.Millisecond):
				}
				close(release)
				<-closed
				done.Wait()
			},
		},
		{
			name: "a callback may schedule timers on its own wheel",
			run: func(t *testing.T, w *timers.Wheel) {
				var rec recorder
				var a, b timers.Timer
				b.Init(rec.fn("b"))
				a.Init(func() {
					rec.fn("a")()
					w.After(&b, time.Millisecond)
				})
				w.After(&a, time.Millisecond)
				waitFor(t, 2*time.Second, "both timers", func() bool { return len(rec.get()) == 2 })
				if got := rec.get(); !slices.Equal(got, []string{"a", "b"}) {
					t.Errorf("fired %v, want [a b]", got)
				}
				w.Close()
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := timers.New()
			defer w.Close()
			tt.run(t, w)
		})
	}
}

func TestWheelManyTimers(t *testing.T) {
	w := timers.New()
	defer w.Close()
	const n = 1000
	var mu sync.Mutex
	var order []int
	ts := make([]timers.Timer, n)
	base := time.Now().Add(10 * time.Millisecond)
	// Schedule in a scrambled order; deadlines are i microseconds apart.
	for k := range n {
		i := (k * 7919) % n
		ts[i].Init(func() {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		})
		w.Schedule(&ts[i], base.Add(time.Duration(i)*time.Microsecond))
	}
	// Stop every tenth timer.
	for i := 0; i < n; i += 10 {
		if !w.Stop(&ts[i]) {
			t.Fatalf("Stop(%d) = false for a pending timer", i)
		}
	}
	waitFor(t, 5*time.Second, "the timers to fire", func() bool { return w.Len() == 0 })
	waitFor(t, time.Second, "the last callbacks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(order) == n-n/10
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.IsSorted(order) {
		t.Errorf("timers fired out of deadline order")
	}
	for _, i := range order {
		if i%10 == 0 {
			t.Errorf("stopped timer %d fired", i)
		}
	}
}
