package bridge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// TestShutdownUnderLoad cancels Run's context while messages pour in:
// Run returns nil (so within ShutdownTimeout), every websocket client gets
// a close frame saying "server shutting down" after a gap-free prefix of
// the stream, every polling client's last GET ends with the close packet,
// and nothing panics.
func TestShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		wsClients      = 40
		pollingClients = 4
	)
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"load=load"}, ShutdownTimeout: 10 * time.Second})

	var receivers []*receiver
	for range wsClients {
		receivers = append(receivers, receive(t, b.URL))
	}
	var polls []*pollingClient
	for range pollingClients {
		polls = append(polls, startPolling(t, b.URL))
	}

	// The publisher runs until the bridge is gone.
	stopPub := make(chan struct{})
	pubDone := make(chan int)
	go func() {
		n := 0
		defer func() { pubDone <- n }()
		for ; n < 1_000_000; n++ {
			select {
			case <-stopPub:
				return
			default:
			}
			if nc.Publish("load", strconv.AppendInt(nil, int64(n), 10)) != nil {
				return
			}
			if n%64 == 63 {
				_ = nc.Flush()
			}
		}
	}()

	// Stop once every client has seen the stream flow.
	counts := make([]int, len(receivers))
	for i, r := range receivers {
		for counts[i] < 20 {
			ev := r.nextEvent(t, startBound)
			if string(ev.arg) != strconv.Itoa(counts[i]) {
				t.Fatalf("client %d: got %s, want %d", i, ev.arg, counts[i])
			}
			counts[i]++
		}
	}
	bridgetest.Eventually(t, startBound, "the polling clients receiving", func() bool {
		for _, p := range polls {
			if p.events.Load() < 5 {
				return false
			}
		}
		return true
	})
	if err := b.stop(t); err != nil {
		t.Fatalf("Run under load returned %v, want nil", err)
	}
	close(stopPub)
	published := <-pubDone

	for i, r := range receivers {
		// The rest of the stream, then the close frame.
		handle := func(p string) {
			if name, args, ok := bridgetest.ParseEvent(p); ok && name == "load" {
				if string(args[0]) != strconv.Itoa(counts[i]) {
					t.Fatalf("client %d: got %s after %d: a gap", i, args[0], counts[i])
				}
				counts[i]++
			}
		}
		for done := false; !done; {
			select {
			case p := <-r.packets:
				handle(p)
			case <-r.ended:
				for len(r.packets) > 0 {
					handle(<-r.packets)
				}
				done = true
			case <-time.After(startBound):
				t.Fatalf("client %d still connected after the shutdown", i)
			}
		}
		closed := r.waitClosed(t, startBound)
		if closed.Code != ws.StatusGoingAway || closed.Reason != "server shutting down" {
			t.Errorf("client %d: closed with %d %q, want 1001 \"server shutting down\"", i, closed.Code, closed.Reason)
		}
	}
	for i, p := range polls {
		select {
		case <-p.done:
		case <-time.After(startBound):
			t.Fatalf("polling client %d still polling after the shutdown", i)
		}
		if p.err != nil {
			t.Errorf("polling client %d: %v", i, p.err)
		}
	}
	if logs := b.logs.String(); strings.Contains(logs, "panic") {
		t.Errorf("the bridge logged a panic:\n%s", logs)
	}
	minSeen := counts[0]
	for _, c := range counts {
		minSeen = min(minSeen, c)
	}
	t.Logf("%d published; every websocket client got a gap-free prefix of at least %d, then close 1001 \"server shutting down\"", published, minSeen)
}

// pollingClient joins "/" over polling and polls until its session ends;
// it must end with the close packet.
type pollingClient struct {
	events atomic.Int64
	done   chan struct{}
	err    error
}

func startPolling(t *testing.T, base string) *pollingClient {
	t.Helper()
	p := &pollingClient{done: make(chan struct{})}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	url := base + "/socket.io/?EIO=4&transport=polling"
	do := func(method, url, body string) (int, string, error) {
		req, _ := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	code, open, err := do(http.MethodGet, url, "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("polling handshake: %d %q %v", code, open, err)
	}
	sid := strings.Split(strings.SplitN(open, `"sid":"`, 2)[1], `"`)[0]
	url += "&sid=" + sid
	if code, body, err := do(http.MethodPost, url, "40"); err != nil || code != http.StatusOK {
		t.Fatalf("polling CONNECT: %d %q %v", code, body, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(p.done)
		next := 0
		for range 100000 {
			code, body, err := do(http.MethodGet, url, "")
			if err != nil || code != http.StatusOK {
				p.err = fmt.Errorf("GET: %d %q %v: the session ended without the close packet", code, body, err)
				return
			}
			for _, rec := range strings.Split(body, "\x1e") {
				switch {
				case rec == "1":
					return // the close packet: a clean end
				case rec == "2":
					_, _, _ = do(http.MethodPost, url, "3")
				case strings.HasPrefix(rec, `42["load",`):
					if want := fmt.Sprintf(`42["load",%d]`, next); rec != want && next > 0 {
						p.err = fmt.Errorf("got %s, want %s: a gap", rec, want)
						return
					}
					if next == 0 {
						fmt.Sscanf(strings.TrimPrefix(rec, `42["load",`), "%d", &next)
					}
					next++
					p.events.Add(1)
				}
			}
		}
		p.err = fmt.Errorf("no close packet after 100000 polls")
	})
	t.Cleanup(func() {
		wg.Wait()
		client.CloseIdleConnections()
	})
	return p
}
