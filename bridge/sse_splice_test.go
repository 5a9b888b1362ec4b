package bridge_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// TestSSEResumeUnderTrafficSendsEachIDOnce: event streams resume, one
// after another, while messages flow and each message's broadcast to
// hundreds of sockets takes a while. A replay reaches every message live
// delivery has taken in, the one being broadcast too; its copy on the
// event streams must then be dropped as held, not sent again once the
// replay is over: each stream's ids go up by one, with no repeat and no
// gap.
func TestSSEResumeUnderTrafficSendsEachIDOnce(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	tb := startBridge(t, bridge.Config{NATSURL: js.ClientURL(), Maps: []string{"news.*=news"}, Recovery: true})
	nc := connect(t, js.ClientURL())

	// Sockets that make each broadcast take a while.
	ctx, cancel := context.WithTimeout(context.Background(), recoveryBound)
	defer cancel()
	for range 300 {
		s, err := bridgetest.DialSocket(ctx, tb.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
	}

	// A publisher until the resumes are done, bounded in count (about
	// two minutes' worth, past the test's waits).
	const published = 1_000_000
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < published && !stop.Load(); i++ {
			if err := nc.Publish("news.a", []byte(strconv.Itoa(i))); err != nil {
				return
			}
			if i%100 == 99 {
				_ = nc.Flush()
			}
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()

	bridgetest.Eventually(t, recoveryBound, "the first message delivered", func() bool {
		return bridge.RecoveryDelivered(tb.Bridge) > 0
	})
	for resumes := 1; resumes <= 60; resumes++ {
		from := bridge.RecoveryDelivered(tb.Bridge)
		c := openSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {strconv.FormatUint(from, 10)}})
		want := from + 1
		for range 40 {
			ev := c.next(t)
			if ev.Event == bridge.SSEResetEvent {
				t.Fatalf("resume %d from %d: a reset: %s", resumes, from, ev.Data)
			}
			if ev.ID != strconv.FormatUint(want, 10) {
				t.Fatalf("resume %d from %d: got id %s, want %d (a repeat or a gap)", resumes, from, ev.ID, want)
			}
			want++
		}
		c.close()
	}
}
