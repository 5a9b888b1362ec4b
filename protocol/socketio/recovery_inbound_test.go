package socketio_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// TestRecoveryWaitingClientEventsAreBoundedInBytes: the client's events
// that wait for a resumed socket's OnConnect are bounded in bytes as well
// as in number: past the session's queue bound (MaxQueueBytes) the
// connection closes with ReasonReplayOverflow, as past RecoveryHold
// events. Counted alone, a client could park RecoveryHold events of
// MaxPayload bytes each (4 GB at the defaults) behind a replay it keeps
// going by reading slowly.
func TestRecoveryWaitingClientEventsAreBoundedInBytes(t *testing.T) {
	const maxQueueBytes = 64 << 10
	srv, rec, url := recoveryServer(t, socketio.Config{Engine: engine.Config{MaxQueueBytes: maxQueueBytes}})
	obs := &reasonObserver{reasons: make(chan socketio.Reason, 4)}
	srv.Observe(obs)

	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	rec.publish(t, "user:ann", "n", 1)
	c1.expectEvents(`42["n",1,"1"]`)
	_ = c1.conn.Close()
	recv(t, obs.reasons, "the first socket's disconnect")
	rec.publish(t, "user:ann", "n", 2)

	gate := make(chan struct{})
	defer close(gate)
	rec.mu.Lock()
	rec.gate = gate
	rec.mu.Unlock()
	c2 := dialRaw(t, url)
	c2.connectWith(resumeAuth("ann", *first.PID, 1))
	recv(t, rec.paused, "the replay to pause")
	// Far fewer events than RecoveryHold, twice the bytes of the bound.
	big := strings.Repeat("x", 8<<10)
	for i := range 2 * maxQueueBytes / len(big) {
		// Past the bound the server closes the connection, and a write
		// that follows may meet its reset: that ends the sending, as it
		// would a client's.
		if err := wsutil.WriteClientText(c2.conn, fmt.Appendf(nil, `42["e",%d,%q]`, i, big)); err != nil {
			t.Logf("write %d: %v (the server has closed the connection)", i, err)
			break
		}
	}
	if r := recv(t, obs.reasons, "the resumed socket's disconnect"); r != socketio.ReasonReplayOverflow {
		t.Errorf("resumed socket left for %q, want %q", r, socketio.ReasonReplayOverflow)
	}
}
