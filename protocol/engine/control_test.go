package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natsock/natsock/protocol/engine"
)

// v3Pings is an Engine.IO v3 polling payload of n pings, each carrying
// data that its pong echoes.
func v3Pings(n int) string {
	var b strings.Builder
	for i := range n {
		p := fmt.Sprintf("2ping %04d", i)
		fmt.Fprintf(&b, "%d:%s", len(p), p)
	}
	return b.String()
}

// The pongs a client asks for count against its queue bound like any
// message: a v3 client that pings on polling and never GETs meets the slow
// policy instead of growing its queue until the heartbeat ends it.
func TestPongsCountAgainstTheQueueBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		policy engine.SlowPolicy
	}{
		{"under the disconnect policy the session closes as slow", engine.SlowDisconnect},
		{"under the drop-oldest policy the pongs past the bound are dropped", engine.SlowDropOldest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const bound = 8
			srv, rec, url := startServer(t, engine.Config{AllowEIO3: true, MaxQueueMessages: bound, SlowPolicy: tc.policy})
			get(t, url+"?EIO=3&transport=polling")
			s := waitOpened(t, rec)
			resp, err := http.Post(url+"?EIO=3&transport=polling&sid="+s.ID(), "text/plain;charset=UTF-8",
				strings.NewReader(v3Pings(4*bound)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.policy == engine.SlowDisconnect {
				if why := waitClosed(t, rec); why != engine.ReasonSlow {
					t.Fatalf("closed for %q, want %q", why, engine.ReasonSlow)
				}
				if got := srv.Stats().SlowClosed; got != 1 {
					t.Fatalf("Stats().SlowClosed = %d, want 1", got)
				}
				return
			}
			if got := srv.Stats().Dropped; got != 3*bound {
				t.Fatalf("Stats().Dropped = %d, want %d", got, 3*bound)
			}
			body := get(t, url+"?EIO=3&transport=polling&sid="+s.ID())
			if n := strings.Count(body, ":3ping "); n != bound {
				t.Fatalf("GET collected %d pongs, want %d (the bound): %q", n, bound, body)
			}
		})
	}
}

// The same holds for websocket ping frames: a client that sends them and
// never reads the pongs is closed as slow once the kernel's buffers and
// then its queue are full.
func TestWebSocketPongFramesCountAgainstTheQueueBound(t *testing.T) {
	t.Parallel()
	const bound = 64 << 10
	_, rec, url := startServer(t, engine.Config{MaxQueueBytes: bound, WriteTimeout: time.Minute})
	conn, _, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitOpened(t, rec)
	ping := make([]byte, 125)
	closed := false
	// Bounded: 64 MiB of pongs is far more than loopback buffers hold.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < 512<<10 && !closed && time.Now().Before(deadline); i++ {
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := writeMaskedFrame(conn, true, ws.OpPing, int64(len(ping)), ping); err != nil {
			break // the server closed the connection
		}
		if i%1024 == 1023 {
			select {
			case why := <-rec.closed:
				if why != engine.ReasonSlow {
					t.Fatalf("closed for %q, want %q", why, engine.ReasonSlow)
				}
				closed = true
			default:
			}
		}
	}
	if !closed {
		if why := waitClosed(t, rec); why != engine.ReasonSlow {
			t.Fatalf("closed for %q, want %q", why, engine.ReasonSlow)
		}
	}
}
