package bridge

import (
	"context"

	"github.com/nats-io/nats.go"
)

// RecoveryDelivered returns the stream sequence live delivery has passed
// on, 0 with recovery off.
func RecoveryDelivered(b *Bridge) uint64 {
	if b.rec == nil {
		return 0
	}
	return b.rec.delivered.Load()
}

// StreamSubjects is streamSubjects, for the tests of the stream's subjects.
var StreamSubjects = streamSubjects

// Covers is covers, for the tests of the stream's subjects.
var Covers = covers

// ReplayAfter is (*Bridge).replayAfter.
func ReplayAfter(b *Bridge, ctx context.Context, after uint64, fn func(seq uint64, subject string, hdr nats.Header, data []byte) error) (uint64, error) {
	return b.replayAfter(ctx, after, fn)
}
