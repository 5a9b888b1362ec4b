package bridge

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
