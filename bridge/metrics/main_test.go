package metrics_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's run if a test leaves a goroutine behind:
// the bridge's, the metrics listener's, the HTTP clients'.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
