package bridge

import "time"

// SetReconnectDelay replaces the delay nats.go waits between passes over
// the server list, so that a test can hold a reconnect until it is ready
// for it. Call it before Run.
func SetReconnectDelay(b *Bridge, delay func(attempts int) time.Duration) { b.reconnectDelay = delay }
