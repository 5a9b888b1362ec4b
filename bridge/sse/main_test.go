package sse_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: a stream's
// writer or its keep-alive timer.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
