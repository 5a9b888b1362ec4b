package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// SlowPolicy says what a session does when its outbound queue is full.
type SlowPolicy int

const (
	// SlowDisconnect closes the session with ReasonSlow. Nothing queued
	// is delivered out of order or with a gap: the client reconnects and
	// knows it missed messages. This is the default.
	SlowDisconnect SlowPolicy = iota
	// SlowDropOldest discards the oldest queued messages (never one that
	// is being written) until the new one fits, and keeps the session.
	SlowDropOldest
)

// String returns the policy's flag name: "disconnect" or "drop-oldest".
func (p SlowPolicy) String() string {
	if p == SlowDropOldest {
		return "drop-oldest"
	}
	return "disconnect"
}

// ParseSlowPolicy reads a policy's flag name.
func ParseSlowPolicy(s string) (SlowPolicy, error) {
	switch s {
	case "disconnect", "":
		return SlowDisconnect, nil
	case "drop-oldest":
		return SlowDropOldest, nil
	}
	return 0, fmt.Errorf("engine: unknown slow-consumer policy %q (want disconnect or drop-oldest)", s)
}

// Config configures a Server. The zero value is usable: every zero field
// takes the default its comment names (the Node.js engine.io defaults where
// there is one).
type Config struct {
	// PingInterval is how often the server pings a v4 client. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take before the session is
	// closed. Zero means 20s.
	PingTimeout time.Duration
	// MaxPayload bounds one websocket message and one polling body, in
	// bytes; it is announced in the handshake. Zero means 1000000.
	MaxPayload int
	// UpgradeTimeout bounds a polling session's upgrade to websocket.
	// Zero means 10s.
	UpgradeTimeout time.Duration
	// DisablePolling refuses the polling transport (so a client must
	// open with websocket).
	DisablePolling bool
	// DisableWebSocket refuses the websocket transport and upgrades.
	DisableWebSocket bool
	// AllowEIO3 accepts Engine.IO v3 clients (socket.io v2).
	AllowEIO3 bool

	// AllowOrigins lists the origins (scheme://host[:port]) a browser may
	// connect from; "*" allows any. Empty means same-origin only: a
	// request whose Origin names another host is refused. Requests
	// without an Origin header (non-browser clients) are always allowed.
	AllowOrigins []string
	// CheckRequest, if set, is called for every handshake and may refuse
	// it by returning an error; the client gets 403 and the error's text
	// is logged, not sent.
	CheckRequest func(r *http.Request) error
	// OnOriginRefused, if set, is called when a request is refused for
	// its Origin (for example to log it once per origin).
	OnOriginRefused func(origin string, r *http.Request)

	// MaxQueueBytes bounds the payload bytes waiting to be written to one
	// session. Zero means 4 MiB.
	MaxQueueBytes int
	// MaxQueueMessages bounds the messages waiting for one session. Zero
	// means 10000.
	MaxQueueMessages int
	// SlowPolicy applies when a session's queue is full. The zero value is
	// SlowDisconnect.
	SlowPolicy SlowPolicy
	// WriteTimeout bounds one websocket write and the write of one polling
	// response; a client that does not take the bytes in time is closed
	// with ReasonTransportError. Zero means 10s.
	WriteTimeout time.Duration

	// MaxConnections bounds the open sessions; a handshake past it gets
	// 503 with a JSON error. Upgrades of an open session are not new
	// connections. Zero means no bound.
	MaxConnections int
	// MaxConnectionsPerIP bounds the open sessions of one remote IP
	// address (the TCP peer's: behind a reverse proxy every client shares
	// the proxy's); a handshake past it gets 429 with a JSON error. Zero
	// means no bound.
	MaxConnectionsPerIP int

	// Logger receives the engine's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("engine: invalid config")

func (c *Config) setDefaults() {
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 1_000_000
	}
	if c.UpgradeTimeout == 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxQueueBytes == 0 {
		c.MaxQueueBytes = 4 << 20
	}
	if c.MaxQueueMessages == 0 {
		c.MaxQueueMessages = 10000
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	neg := func(name string, bad bool) {
		if bad {
			errs = append(errs, fmt.Errorf("%w: %s must not be negative", ErrConfig, name))
		}
	}
	neg("PingInterval", c.PingInterval < 0)
	neg("PingTimeout", c.PingTimeout < 0)
	neg("MaxPayload", c.MaxPayload < 0)
	neg("UpgradeTimeout", c.UpgradeTimeout < 0)
	neg("MaxQueueBytes", c.MaxQueueBytes < 0)
	neg("MaxQueueMessages", c.MaxQueueMessages < 0)
	neg("WriteTimeout", c.WriteTimeout < 0)
	neg("MaxConnections", c.MaxConnections < 0)
	neg("MaxConnectionsPerIP", c.MaxConnectionsPerIP < 0)
	if c.DisablePolling && c.DisableWebSocket {
		errs = append(errs, fmt.Errorf("%w: both transports are disabled", ErrConfig))
	}
	if c.SlowPolicy != SlowDisconnect && c.SlowPolicy != SlowDropOldest {
		errs = append(errs, fmt.Errorf("%w: unknown SlowPolicy %d", ErrConfig, c.SlowPolicy))
	}
	for _, o := range c.AllowOrigins {
		if o == "" {
			errs = append(errs, fmt.Errorf("%w: empty origin in AllowOrigins", ErrConfig))
		}
	}
	return errors.Join(errs...)
}
