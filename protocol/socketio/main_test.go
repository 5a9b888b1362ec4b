package socketio_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's run if any test leaves a goroutine behind:
// the server's sessions, flush loops and timer wheel must all be gone once
// Server.Close returns, and so must the clients' connections.
//
// IgnoreCurrent spares only what runs before the first test: the Go
// client's engine package starts a process-wide network monitor
// (utils.SetInterval) from its init function, with no exported way to stop
// it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
