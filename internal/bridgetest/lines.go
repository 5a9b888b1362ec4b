package bridgetest

import (
	"encoding/json"
	"time"
)

// WaitLine waits until the process has printed a JSON line for which match
// holds, and returns it. It fails the test, with what, after timeout or
// once the process has exited without printing one.
func (c *Client) WaitLine(timeout time.Duration, what string, match func(line map[string]json.RawMessage) bool) map[string]json.RawMessage {
	c.t.Helper()
	var found map[string]json.RawMessage
	seen := 0
	err := Poll(timeout, func() bool {
		c.mu.Lock()
		lines := c.stdout[seen:]
		seen = len(c.stdout)
		c.mu.Unlock()
		for _, l := range lines {
			var fields map[string]json.RawMessage
			if json.Unmarshal([]byte(l), &fields) == nil && match(fields) {
				found = fields
				return true
			}
		}
		if !c.Running() {
			// Read what the process printed last before giving up.
			<-c.read
			c.mu.Lock()
			done := seen == len(c.stdout)
			c.mu.Unlock()
			if done {
				c.t.Fatalf("%s: the process exited first: %s", what, c.Output())
			}
		}
		return false
	})
	if err != nil {
		c.t.Fatalf("%s: not printed within %v: %s", what, timeout, c.Output())
	}
	return found
}

// Int reads a whole-number field of a JSON line, or -1.
func Int(line map[string]json.RawMessage, field string) int64 {
	var n int64
	if raw, ok := line[field]; !ok || json.Unmarshal(raw, &n) != nil {
		return -1
	}
	return n
}
