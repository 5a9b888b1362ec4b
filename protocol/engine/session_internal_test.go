package engine

import (
	"net"
	"testing"
)

func TestAtFrameBoundary(t *testing.T) {
	t.Parallel()
	bufs := net.Buffers{make([]byte, 3), make([]byte, 5), make([]byte, 2)}
	for _, tc := range []struct {
		n    int64
		want bool
	}{
		{0, true}, {1, false}, {3, true}, {4, false}, {8, true}, {9, false}, {10, true},
	} {
		if got := atFrameBoundary(bufs, tc.n); got != tc.want {
			t.Errorf("atFrameBoundary(3+5+2 bytes, %d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}
