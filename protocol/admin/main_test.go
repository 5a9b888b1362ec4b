package admin_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's run if a test leaves a goroutine behind:
// the admin goroutine must be gone once Close returns, and the server's
// once it is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
