package engine_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natsock/natsock/protocol/engine"
)

// orderChecker is a Handler that records, per session, the order of the
// calls it gets, and every breach of the engine's promise: OnOpen first,
// OnClose last, each exactly once.
type orderChecker struct {
	mu       sync.Mutex
	opened   map[*engine.Session]bool
	closed   map[*engine.Session]bool
	breaches []string
}

func newOrderChecker() *orderChecker {
	return &orderChecker{opened: map[*engine.Session]bool{}, closed: map[*engine.Session]bool{}}
}

func (c *orderChecker) breach(format string, args ...any) {
	c.breaches = append(c.breaches, fmt.Sprintf(format, args...))
}

func (c *orderChecker) OnOpen(s *engine.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed[s]:
		c.breach("session %s: OnOpen after OnClose", s.ID())
	case c.opened[s]:
		c.breach("session %s: OnOpen twice", s.ID())
	}
	c.opened[s] = true
	// What a handler does in OnOpen must be safe whatever the session's
	// state: a closed session refuses the message.
	_ = s.Send(engine.NewTextMessage([]byte("hello")))
}

func (c *orderChecker) OnMessage(s *engine.Session, _ []byte, _ bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.opened[s] || c.closed[s] {
		c.breach("session %s: OnMessage outside OnOpen..OnClose", s.ID())
	}
}

func (c *orderChecker) OnClose(s *engine.Session, _ engine.Reason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.opened[s]:
		c.breach("session %s: OnClose before OnOpen", s.ID())
	case c.closed[s]:
		c.breach("session %s: OnClose twice", s.ID())
	}
	c.closed[s] = true
}

// The engine calls OnOpen before OnClose for every session, even when the
// session closes while its handshake is being written: here a server is
// closed while handshakes on both transports race with it, and the
// heartbeat (1 ms) closes sessions before their handshake is out.
func TestOnOpenComesBeforeOnCloseWhileTheServerCloses(t *testing.T) {
	t.Parallel()
	const (
		rounds     = 30
		handshakes = 12
	)
	deadline := time.Now().Add(60 * time.Second)
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		checker := newOrderChecker()
		srv, err := engine.NewServer(engine.Config{PingInterval: time.Millisecond, PingTimeout: time.Millisecond}, checker)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		url := hs.URL + "/engine.io/?EIO=4&transport="
		client := &http.Client{Timeout: 5 * time.Second}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range handshakes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if i%2 == 0 {
					resp, err := client.Get(url + "polling")
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				conn, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"websocket")
				if err == nil {
					conn.Close()
				}
			}()
		}
		close(start)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// Close races with the handshakes: some are refused, some close
		// while being written, some after.
		for range round % 4 * 64 {
			runtime.Gosched()
		}
		if err := srv.Close(ctx); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		cancel()
		wg.Wait()
		hs.Close()
		client.CloseIdleConnections()
		checker.mu.Lock()
		for s := range checker.opened {
			if !checker.closed[s] {
				checker.breach("session %s: OnOpen without OnClose after Server.Close", s.ID())
			}
		}
		breaches := checker.breaches
		checker.mu.Unlock()
		if len(breaches) > 0 {
			t.Fatalf("round %d: %d breaches of the call order:\n%s", round, len(breaches), strings.Join(breaches, "\n"))
		}
	}
}
