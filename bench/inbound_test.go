package bench

import (
	"testing"
)

// ackClient is client 7 of an ack run of run 99, ready for acks.
func ackClient() *client {
	c := &client{user: 7, em: &emitter{msgPx: []byte(`{"run":99,"seq":`)}, seq: newSeqTracker(64)}
	return c
}

func TestAnAckCountsAsARoundTripOnlyWhenItEchoesItsOwnEvent(t *testing.T) {
	tests := []struct {
		name            string
		packet          string
		ok, errs, other uint64
		firstErr        string
	}{
		{"the echo of the event with that id", `433[{"run":99,"seq":3,"ts":100,"to":7,"pad":"x"}]`, 1, 0, 0, ""},
		{"an error object", `435[{"error":"too many requests in flight"}]`, 0, 1, 0, `{"error":"too many requests in flight"}`},
		{"another event's echo", `434[{"run":99,"seq":3,"ts":100,"to":7,"pad":"x"}]`, 0, 1, 0, `{"run":99,"seq":3,"ts":100,"to":7,"pad":"x"}`},
		{"another client's event", `433[{"run":99,"seq":3,"ts":100,"to":8,"pad":"x"}]`, 0, 1, 0, `{"run":99,"seq":3,"ts":100,"to":8,"pad":"x"}`},
		{"another run's event", `433[{"run":98,"seq":3,"ts":100,"to":7}]`, 0, 1, 0, `{"run":98,"seq":3,"ts":100,"to":7}`},
		{"an ack without an id", `43[{"run":99}]`, 0, 0, 1, ""},
		{"an ack without arguments", `433`, 0, 0, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ackClient()
			if k := c.packet([]byte(tc.packet), 150, nil); k != packetAck {
				t.Fatalf("packet kind %v, want packetAck", k)
			}
			em := c.em
			if em.ackOK != tc.ok || em.ackErrs != tc.errs || c.foreign != tc.other || em.ackErr != tc.firstErr {
				t.Errorf("ok %d, errors %d (first %q), foreign %d; want %d, %d (%q), %d",
					em.ackOK, em.ackErrs, em.ackErr, c.foreign, tc.ok, tc.errs, tc.firstErr, tc.other)
			}
			if done := uint64(em.done.Load()); done != tc.ok+tc.errs {
				t.Errorf("%d answered, want %d: every ack with an id frees its place in the window", done, tc.ok+tc.errs)
			}
			if tc.ok == 1 && (c.hist.Count() != 1 || c.got.Load() != 1) {
				t.Errorf("latency samples %d, new %d; want 1 each", c.hist.Count(), c.got.Load())
			}
		})
	}
}

// FuzzAck: whatever follows "43", an ack is counted once, as a round
// trip, an error or a foreign packet, and never panics.
func FuzzAck(f *testing.F) {
	f.Add([]byte(`3[{"run":99,"seq":3,"ts":100,"to":7,"pad":"x"}]`))
	f.Add([]byte(`5[{"error":"x"}]`))
	f.Add([]byte(`18446744073709551615[`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, rest []byte) {
		c := ackClient()
		c.packet(append([]byte("43"), rest...), 150, nil)
		em := c.em
		if n := em.ackOK + em.ackErrs + c.foreign; n != 1 {
			t.Fatalf("%q counted %d times (ok %d, errors %d, foreign %d), want once", rest, n, em.ackOK, em.ackErrs, c.foreign)
		}
		if uint64(em.done.Load()) != em.ackOK+em.ackErrs {
			t.Fatalf("%q: %d answered, want %d", rest, em.done.Load(), em.ackOK+em.ackErrs)
		}
		if len(em.ackErr) > maxAckError {
			t.Fatalf("the kept error is %d bytes: trim it", len(em.ackErr))
		}
	})
}
