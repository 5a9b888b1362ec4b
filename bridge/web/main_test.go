package web_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's run if a test leaves a goroutine behind:
// its HTTP servers' and clients'.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
