package engine_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/engine"
)

// Polling bodies are encoded into buffers that GETs reuse: sessions polled
// at once, round after round, with bodies small and large (past what is
// kept for reuse), each get exactly their own messages, in order.
func TestPollingBodiesAreEachSessionsOwn(t *testing.T) {
	t.Parallel()
	const sessions, rounds = 6, 12
	// No ping during the test: every body is the messages alone.
	_, rec, url := startServer(t, engine.Config{PingInterval: time.Hour})
	var open []*engine.Session
	for range sessions {
		get(t, url+"?EIO=4&transport=polling")
		open = append(open, waitOpened(t, rec))
	}
	for round := range rounds {
		want := make([]string, sessions)
		for i, s := range open {
			// Every third round queues more than 64 KiB for each session.
			n, pad := 1+round%5, strings.Repeat(string(rune('a'+i)), 10+round*7)
			if round%3 == 2 {
				n, pad = 40, strings.Repeat(string(rune('a'+i)), 2000)
			}
			var recs []string
			for j := range n {
				m := fmt.Sprintf("session %d round %d message %d %s", i, round, j, pad)
				if err := s.Send(msg(m)); err != nil {
					t.Fatalf("Send: %v", err)
				}
				recs = append(recs, "4"+m)
			}
			want[i] = strings.Join(recs, "\x1e")
		}
		got := make([]string, sessions)
		errs := make([]error, sessions)
		var wg sync.WaitGroup
		for i, s := range open {
			wg.Go(func() {
				resp, err := http.Get(url + "?EIO=4&transport=polling&sid=" + s.ID())
				if err != nil {
					errs[i] = err
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d: %q", resp.StatusCode, b)
				}
				got[i], errs[i] = string(b), err
			})
		}
		wg.Wait()
		for i := range open {
			if errs[i] != nil {
				t.Fatalf("round %d, session %d: %v", round, i, errs[i])
			}
			if got[i] != want[i] {
				t.Fatalf("round %d, session %d: a body of %d bytes, want %d:\n%.200q\nwant\n%.200q",
					round, i, len(got[i]), len(want[i]), got[i], want[i])
			}
		}
	}
}
