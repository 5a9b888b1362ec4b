package bridge_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/natsock/natsock/bridge"
)

func TestConfigRefusesBadRateLimitAndLifecycleSettings(t *testing.T) {
	base := bridge.Config{Maps: []string{"a=a"}}
	tests := []struct {
		name  string
		set   func(*bridge.Config)
		field string
		says  string
	}{
		{"a negative rate is refused", func(c *bridge.Config) { c.InboundRate = -1 }, "InboundRate", "want events a second"},
		{"a rate that is not a number is refused", func(c *bridge.Config) { c.InboundRate = math.NaN() }, "InboundRate", "want events a second"},
		{"an infinite rate is refused", func(c *bridge.Config) { c.InboundRate = math.Inf(1) }, "InboundRate", "want events a second"},
		{"a negative burst is refused", func(c *bridge.Config) { c.InboundRate, c.InboundBurst = 1, -1 }, "InboundBurst", "must not be negative"},
		{"a burst without a rate is refused", func(c *bridge.Config) { c.InboundBurst = 5 }, "InboundBurst", "without an InboundRate"},
		{"an unknown policy is refused", func(c *bridge.Config) { c.InboundRatePolicy = "kick" }, "InboundRatePolicy", `want "error" or "disconnect"`},
		{"a wildcard lifecycle subject is refused", func(c *bridge.Config) { c.LifecycleSubject = "natsock.*" }, "LifecycleSubject", "publish subject must be literal"},
		{"a lifecycle subject with an empty token is refused", func(c *bridge.Config) { c.LifecycleSubject = "natsock..events" }, "LifecycleSubject", "token 2 is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.set(&c)
			err := c.Validate()
			var fe *bridge.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Err.Error(), tc.says) {
				t.Fatalf("Validate() = %v; want a FieldError on %s saying %q", err, tc.field, tc.says)
			}
		})
	}
	t.Run("the defaults fill a burst and a policy only where they mean something", func(t *testing.T) {
		d := bridge.DefaultConfig()
		if d.InboundRate != 0 || d.InboundBurst != 0 || d.InboundRatePolicy != bridge.RatePolicyError || d.NodeName == "" || d.LifecycleSubject != "" {
			t.Errorf("DefaultConfig() rate %v burst %d policy %q node %q lifecycle %q", d.InboundRate, d.InboundBurst, d.InboundRatePolicy, d.NodeName, d.LifecycleSubject)
		}
		c := base
		c.InboundRate = 25.5
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}
