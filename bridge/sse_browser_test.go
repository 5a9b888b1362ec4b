package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// runBridgeOn runs a bridge on cfg.Listen as given (startBridge picks a
// free port), until the test ends, and waits until it is ready.
func runBridgeOn(t *testing.T, cfg bridge.Config) *testBridge {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := bridge.New(cfg)
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb := &testBridge{Bridge: b, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { tb.done <- b.Run(ctx) }()
	t.Cleanup(func() {
		if err := tb.stop(t); err != nil {
			t.Errorf("bridge.Run: %v", err)
		}
		if t.Failed() {
			t.Logf("bridge logs:\n%s", logs)
		}
	})
	if b.Addr() == nil {
		t.Fatalf("bridge did not start: %v\n%s", tb.stop(t), logs)
	}
	tb.URL = "http://" + b.Addr().String()
	waitReadyz(t, tb.URL, http.StatusOK)
	return tb
}

// TestSSEInABrowserAcrossARestart is a rolling deploy seen by a browser's
// own EventSource, on a page of another origin, authenticated by a token
// in its URL: natsock stops, notifications are published while it is
// away, and natsock starts again on the same address. EventSource
// reconnects by itself with the id of the last event it got, and the
// page gets every one of the user's notifications exactly once, in order,
// and none of another user's.
func TestSSEInABrowserAcrossARestart(t *testing.T) {
	if _, err := os.Stat(chromiumPath()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is missing at %s (%v); CI must have it: apt-get install chromium", chromiumPath(), err)
		}
		t.Skipf("Chromium is missing at %s (%v): install Debian's chromium (or set CHROMIUM)", chromiumPath(), err)
	}
	bridgetest.RequireNode(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>notifications</title>`))
	}))
	t.Cleanup(page.Close)

	js := runJetStream(t, -1, t.TempDir())
	nc := connect(t, js.ClientURL())
	cfg := userTokenConfig(js.ClientURL())
	cfg.Recovery = true
	cfg.Auth.Required = true
	cfg.Auth.Sources.Query = "access_token" // EventSource cannot set a header
	cfg.SocketIO.Engine.AllowOrigins = []string{page.URL}
	cfg.SSE.Retry = 200 * time.Millisecond
	first := startBridge(t, cfg)
	cfg.Listen = strings.TrimPrefix(first.URL, "http://")

	token := signHS(t, authSecret, jwt.MapClaims{"sub": "alice"})
	browser := bridgetest.Start(t, "sse-browser.js", "--page", page.URL+"/",
		"--url", first.URL+"/events?events=notification&access_token="+url.QueryEscape(token),
		"--event", "notification", "--event", bridge.SSEResetEvent, "--last", `"last"`, "--timeout", "40000")
	browser.WaitReady(45 * time.Second)

	var want []string
	send := func(from, to int) {
		for i := from; i < to; i++ {
			publishString(t, nc, "notify.user.alice", fmt.Sprint("n", i))
			publishString(t, nc, "notify.user.bob", fmt.Sprint("not for alice ", i))
			want = append(want, fmt.Sprintf(`"n%d"`, i))
		}
	}
	send(0, 5)
	waitDelivered(t, first, 10)
	if err := first.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	send(5, 10) // while no natsock runs: only the stream keeps them
	second := runBridgeOn(t, cfg)
	bridgetest.Eventually(t, recoveryBound, "the browser back, resumed", func() bool { return second.SSEStats().Resumed.Load() == 1 })
	send(10, 12)
	publishString(t, nc, "notify.user.alice", "last")
	want = append(want, `"last"`)

	var r struct {
		Events []struct{ Event, Data, ID string }
		Opens  int
	}
	if err := json.Unmarshal([]byte(browser.MustOK(45*time.Second).Raw), &r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range r.Events {
		got = append(got, ev.Data)
		if ev.Event != "notification" || ev.ID == "" {
			t.Errorf("event %+v: want a notification with its id", ev)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the page got %q, want %q", got, want)
	}
	if r.Opens < 2 {
		t.Errorf("the stream was opened %d times, want at least 2", r.Opens)
	}
	// The five published while no natsock ran came from the stream (and
	// those published during the replay may have too).
	if st := second.SSEStats(); st.Reset.Load() != 0 || st.Replayed.Load() < 5 {
		t.Errorf("after the restart: %d resets, %d replayed; want 0 and at least 5", st.Reset.Load(), st.Replayed.Load())
	}
}
