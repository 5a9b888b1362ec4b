package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: a run's clients,
// progress bar and NATS connection, and the in-process servers of the
// integration tests, must all be gone once each test's cleanup has run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
