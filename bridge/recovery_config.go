package bridge

import (
	"errors"
	"fmt"
)

// validateRecovery checks the recovery settings: a window of at least
// MinRecoveryWindow, a stream name JetStream and a KV bucket accept, a
// replica count a cluster can hold. They are checked with Recovery off
// too (a value given is a value meant), though only Recovery uses them.
func (c Config) validateRecovery() []error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	switch {
	case c.RecoveryWindow < 0:
		bad("RecoveryWindow", "must not be negative")
	case c.RecoveryWindow > 0 && c.RecoveryWindow < MinRecoveryWindow:
		bad("RecoveryWindow", "%v is shorter than %v: no reconnect would fit in it", c.RecoveryWindow, MinRecoveryWindow)
	}
	if c.RecoveryStream != "" {
		if err := checkStreamName(c.RecoveryStream); err != nil {
			bad("RecoveryStream", "%w", err)
		}
	}
	switch {
	case c.RecoveryReplicas < 0 || c.RecoveryReplicas > 5:
		bad("RecoveryReplicas", "want 1 to 5 (a JetStream stream's replicas)")
	case c.RecoveryReplicas > 1 && c.NATSURL == "":
		bad("RecoveryReplicas", "the embedded NATS server is one server: it holds 1 replica, not %d", c.RecoveryReplicas)
	}
	return errs
}

// maxStreamName bounds RecoveryStream so that the names derived from it
// (the pid key bucket, "KV_" + name + "_pid") stay within what every
// JetStream store accepts on disk.
const maxStreamName = 64

// checkStreamName accepts a JetStream stream name that is also usable in a
// KV bucket name: letters, digits, '-' and '_'.
func checkStreamName(name string) error {
	if len(name) > maxStreamName {
		return fmt.Errorf("%d bytes, over %d", len(name), maxStreamName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%q: want letters, digits, '-' and '_' only (a JetStream stream name), not %q", name, string(rune(c)))
		}
	}
	if name == "" {
		return errors.New("empty")
	}
	return nil
}
