package bridge_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestShutdownWhileNATSIsAwayWaitsForTheClosedCallback stops a bridge whose NATS server is gone.
// NATS refuses the drain (it is reconnecting), so the bridge closes the
// connection and goes on once nats.go's closed callback has run: well
// within a ShutdownTimeout longer than the test's bound on stop, so a
// shutdown that missed the callback and waited out the timeout fails here.
// Run returns nil, and the socket is told why it is closed.
func TestShutdownWhileNATSIsAwayWaitsForTheClosedCallback(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	cfg := guideConfig(ns.ClientURL())
	cfg.ShutdownTimeout = time.Minute // past stop's own bound
	b := startBridge(t, cfg)
	c := receive(t, b.URL)

	ns.Shutdown()
	waitReadyz(t, b.URL, http.StatusServiceUnavailable)
	if err := b.stop(t); err != nil {
		t.Fatalf("stopping with NATS away: %v", err)
	}
	if closed := c.waitClosed(t, startBound); closed.Code != ws.StatusGoingAway || closed.Reason != "server shutting down" {
		t.Errorf("the socket was closed with %d %q, want 1001 \"server shutting down\"", closed.Code, closed.Reason)
	}
	logs := b.logs.String()
	for _, want := range []string{"closing without draining", "NATS connection closed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q:\n%s", want, logs)
		}
	}
}
