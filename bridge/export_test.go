package bridge

import (
	"strings"
	"time"
)

// SetReconnectDelay replaces the delay nats.go waits between passes over
// the server list, so that a test can hold a reconnect until it is ready
// for it. Call it before Run.
func SetReconnectDelay(b *Bridge, delay func(attempts int) time.Duration) { b.reconnectDelay = delay }

// Matches reports whether subject matches the rule's pattern: the tests'
// view of a rule alone (the bridge matches a subject against all its rules
// at once).
func (r *Rule) Matches(subject string) bool { return r.matches(strings.Split(subject, ".")) }
