package bridge

import (
	"fmt"

	"golang.org/x/time/rate"

	"github.com/natsock/natsock/protocol/socketio"
)

// What the bridge does with a client event over its socket's inbound rate
// limit (Config.InboundRatePolicy). Either way the event is dropped, never
// published, and counted in [Stats.RateLimited].
const (
	// RatePolicyError tells the client: an acknowledgement, when asked
	// for, gets {"error": "rate limit: ..."}; otherwise the socket gets
	// the event [RateLimitedEvent]. The socket stays connected.
	RatePolicyError = "error"
	// RatePolicyDisconnect disconnects the socket from its namespace
	// (the client sees "io server disconnect" and does not reconnect by
	// itself); its lifecycle disconnect event gives reason "rate limit".
	RatePolicyDisconnect = "disconnect"
)

// RateLimitedEvent is the event a socket gets, under [RatePolicyError],
// for each event of its own that was over the limit and asked for no
// acknowledgement. Its one argument is
//
//	{"event": "<the dropped event>", "rate": <events per second>, "burst": <events>}
const RateLimitedEvent = "natsock:rate_limited"

// ReasonRateLimit is the lifecycle disconnect reason of a socket the
// bridge disconnected under [RatePolicyDisconnect].
const ReasonRateLimit socketio.Reason = "rate limit"

// newInboundLimiter returns a socket's token bucket: perSecond tokens a
// second, up to burst at once; nil when perSecond is zero (no limit).
func newInboundLimiter(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}

// rateLimited reports whether ev is over its socket's inbound limit, and
// if so drops it and applies the policy.
func (b *Bridge) rateLimited(s *socketio.Socket, st *socketState, ev *socketio.Event) bool {
	if st == nil || st.limiter == nil || st.limiter.Allow() {
		return false
	}
	b.stats.RateLimited.Add(1)
	perSecond, burst := b.cfg.InboundRate, b.cfg.InboundBurst
	b.log.Debug("client event over the socket's inbound rate limit; dropped", "event", ev.Name, "sid", s.ID(),
		"rate", perSecond, "burst", burst, "policy", b.cfg.InboundRatePolicy)
	if b.cfg.InboundRatePolicy == RatePolicyDisconnect {
		st.setReason(ReasonRateLimit)
		s.Disconnect(false)
		return true
	}
	if ev.WantsAck() {
		_ = ev.Ack(errorData("rate limit: more than %g events a second (burst %d) from this socket; %q dropped", perSecond, burst, ev.Name))
		return true
	}
	d, err := socketio.Args(map[string]any{"event": ev.Name, "rate": perSecond, "burst": burst})
	if err != nil {
		panic(fmt.Sprintf("bridge: encoding %s: %v", RateLimitedEvent, err)) // a string and two numbers always encode
	}
	_ = s.Emit(RateLimitedEvent, d)
	return true
}
