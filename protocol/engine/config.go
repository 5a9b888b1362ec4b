package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
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

// String returns the policy's name: "disconnect" or "drop-oldest".
func (p SlowPolicy) String() string {
	if p == SlowDropOldest {
		return "drop-oldest"
	}
	return "disconnect"
}

// ParseSlowPolicy reads a policy's name, "disconnect" or "drop-oldest"
// ("" is the default, disconnect).
func ParseSlowPolicy(s string) (SlowPolicy, error) {
	switch s {
	case "disconnect", "":
		return SlowDisconnect, nil
	case "drop-oldest":
		return SlowDropOldest, nil
	}
	return 0, fmt.Errorf("engine: unknown slow-consumer policy %q (want disconnect or drop-oldest)", s)
}

// MarshalText returns the policy's name, so that a configuration file or
// flag can hold it as text.
func (p SlowPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a policy's name, as ParseSlowPolicy.
func (p *SlowPolicy) UnmarshalText(b []byte) error {
	v, err := ParseSlowPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// The defaults of Config, applied to its zero fields (the Node.js
// engine.io defaults where there is one).
const (
	DefaultPingInterval     = 25 * time.Second
	DefaultPingTimeout      = 20 * time.Second
	DefaultMaxPayload       = 1_000_000 // bytes
	DefaultUpgradeTimeout   = 10 * time.Second
	DefaultMaxQueueBytes    = 4 << 20 // bytes
	DefaultMaxQueueMessages = 10000
	DefaultWriteTimeout     = 10 * time.Second
	// DefaultMaxConnections is nats-server's default max_connections.
	DefaultMaxConnections = 65536
)

// Config configures a Server. The zero value is usable: every zero field
// takes the default its comment names, from the Default* constants.
type Config struct {
	// PingInterval is how often the server pings a v4 client. Zero means
	// DefaultPingInterval (25s).
	PingInterval time.Duration
	// PingTimeout is how long a pong may take before the session is
	// closed. Zero means DefaultPingTimeout (20s).
	PingTimeout time.Duration
	// MaxPayload bounds one websocket message and one polling body, in
	// bytes; it is announced in the handshake. Zero means
	// DefaultMaxPayload (1000000).
	MaxPayload int
	// UpgradeTimeout bounds a polling session's upgrade to websocket.
	// Zero means DefaultUpgradeTimeout (10s).
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
	// session. Zero means DefaultMaxQueueBytes (4 MiB).
	MaxQueueBytes int
	// MaxQueueMessages bounds the messages waiting for one session. Zero
	// means DefaultMaxQueueMessages (10000).
	MaxQueueMessages int
	// SlowPolicy applies when a session's queue is full. The zero value is
	// SlowDisconnect.
	SlowPolicy SlowPolicy
	// WriteTimeout bounds one websocket write and the write of one polling
	// response; a client that does not take the bytes in time is closed
	// with ReasonTransportError. Zero means DefaultWriteTimeout (10s).
	WriteTimeout time.Duration

	// MaxConnections bounds the open sessions; a handshake past it gets
	// 503 with a JSON error. Upgrades of an open session are not new
	// connections. Zero means DefaultMaxConnections (65536); there is no
	// unbounded setting (each session holds a file descriptor and memory,
	// so a bound is always wanted): set a larger number to raise it.
	MaxConnections int
	// MaxConnectionsPerIP bounds the open sessions of one remote IP
	// address (the TCP peer's: behind a reverse proxy every client shares
	// the proxy's); a handshake past it gets 429 with a JSON error. Zero
	// means no bound per address (MaxConnections still applies).
	MaxConnectionsPerIP int

	// Logger receives the engine's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("engine: invalid config")

// FieldError is a problem with one field of a Config. Field is the field's
// name, with an index for an element of a list ("AllowOrigins[2]"), and
// Err says what is wrong as a predicate of it ("must not be negative"), so
// that a caller can name the field in its own terms (a flag, a file key)
// and keep the reason. It wraps ErrConfig and Err.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	return ErrConfig.Error() + ": " + e.Field + " " + e.Err.Error()
}

// Unwrap returns ErrConfig and the reason.
func (e *FieldError) Unwrap() []error { return []error{ErrConfig, e.Err} }

// ConfigField returns the field and the reason, for a layer above that
// names the field by its own path (bridge.Config puts this Config at
// "SocketIO.Engine").
func (e *FieldError) ConfigField() (field string, reason error) { return e.Field, e.Err }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.UpgradeTimeout == 0 {
		c.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if c.MaxQueueBytes == 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.MaxQueueMessages == 0 {
		c.MaxQueueMessages = DefaultMaxQueueMessages
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with c at once, each a *FieldError,
// joined with errors.Join.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"PingInterval", c.PingInterval < 0},
		{"PingTimeout", c.PingTimeout < 0},
		{"MaxPayload", c.MaxPayload < 0},
		{"UpgradeTimeout", c.UpgradeTimeout < 0},
		{"MaxQueueBytes", c.MaxQueueBytes < 0},
		{"MaxQueueMessages", c.MaxQueueMessages < 0},
		{"WriteTimeout", c.WriteTimeout < 0},
		{"MaxConnections", c.MaxConnections < 0},
		{"MaxConnectionsPerIP", c.MaxConnectionsPerIP < 0},
	} {
		if f.negative {
			bad(f.name, "must not be negative")
		}
	}
	if maxConns := c.WithDefaults().MaxConnections; c.MaxConnections >= 0 && c.MaxConnectionsPerIP > maxConns {
		bad("MaxConnectionsPerIP", "is above the bound on all connections (%d)", maxConns)
	}
	if c.DisablePolling && c.DisableWebSocket {
		bad("DisableWebSocket", "is set with DisablePolling: both transports are disabled")
	}
	if c.SlowPolicy != SlowDisconnect && c.SlowPolicy != SlowDropOldest {
		bad("SlowPolicy", "%d is not a known policy (want SlowDisconnect or SlowDropOldest)", c.SlowPolicy)
	}
	for i, o := range c.AllowOrigins {
		if strings.TrimSpace(o) == "" {
			bad(fmt.Sprintf("AllowOrigins[%d]", i), "is an empty origin (want scheme://host[:port], or * for any)")
		}
	}
	return errors.Join(errs...)
}
