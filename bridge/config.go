package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/natsock/natsock/protocol/engine"
)

// Config is everything `natsock serve` is told. Zero fields take the
// default their comment names; Validate reports every problem at once.
type Config struct {
	// Listen is the HTTP address for socket.io, /healthz and /readyz.
	// Zero means ":3000".
	Listen string
	// Path is where socket.io is served. Zero means "/socket.io/".
	Path string

	// NATSURL lists NATS servers, comma-separated. Empty means: start an
	// embedded NATS server on EmbeddedNATSListen.
	NATSURL string
	// EmbeddedNATSListen is the embedded server's client address ("host:port",
	// port 0 for a random one). Zero means "127.0.0.1:4222".
	EmbeddedNATSListen string
	// NATS credentials and TLS, all optional.
	NATSCreds, NATSNKey, NATSUser, NATSPassword, NATSToken string
	NATSTLSCA, NATSTLSCert, NATSTLSKey                     string

	// Maps are the --map SUBJECT=EVENT rules; Inbound the --inbound
	// EVENT=SUBJECT rules.
	Maps    []string
	Inbound []string
	// RequestTimeout bounds the NATS request behind an acknowledged
	// inbound emit. Zero means 5s.
	RequestTimeout time.Duration
	// MaxInflightRequests bounds concurrent inbound requests; past it an
	// ack gets an error at once. Zero means 1024.
	MaxInflightRequests int

	// CORSOrigins may connect from a browser page of another origin; "*"
	// allows any. Empty means same-origin only.
	CORSOrigins []string

	// Engine settings; see engine.Config for their defaults.
	PingInterval     time.Duration
	PingTimeout      time.Duration
	MaxPayload       int
	MaxQueueBytes    int
	MaxQueueMessages int
	SlowPolicy       string // "disconnect" (default) or "drop-oldest"
	AllowEIO3        bool

	// ShutdownTimeout bounds a graceful shutdown. Zero means 10s.
	ShutdownTimeout time.Duration

	// Logger receives the bridge's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bridge: invalid config")

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = ":3000"
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if c.EmbeddedNATSListen == "" {
		c.EmbeddedNATSListen = "127.0.0.1:4222"
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.MaxInflightRequests == 0 {
		c.MaxInflightRequests = 1024
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with c, the --map and --inbound rules
// included, joined into one error.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			bad("--listen %q: %v", c.Listen, err)
		}
	}
	if c.Path != "" && (!strings.HasPrefix(c.Path, "/") || !strings.HasSuffix(c.Path, "/")) {
		bad("--path %q must start and end with '/'", c.Path)
	}
	if c.NATSURL == "" && c.EmbeddedNATSListen != "" {
		if _, _, err := net.SplitHostPort(c.EmbeddedNATSListen); err != nil {
			bad("--embedded-nats-listen %q: %v", c.EmbeddedNATSListen, err)
		}
	}
	if (c.NATSUser == "") != (c.NATSPassword == "") {
		bad("--nats-user and --nats-password go together")
	}
	if (c.NATSTLSCert == "") != (c.NATSTLSKey == "") {
		bad("--nats-tls-cert and --nats-tls-key go together")
	}
	if len(c.Maps) == 0 {
		bad("no --map rule: natsock would forward nothing (e.g. --map 'tasks.assigned=newTaskAssigned')")
	}
	if _, err := NewMapping(c.Maps); err != nil {
		errs = append(errs, err)
	}
	if _, err := NewInbound(c.Inbound); err != nil {
		errs = append(errs, err)
	}
	if c.RequestTimeout < 0 {
		bad("--request-timeout must not be negative")
	}
	if c.MaxInflightRequests < 0 {
		bad("--max-inflight-requests must not be negative")
	}
	if c.ShutdownTimeout < 0 {
		bad("--shutdown-timeout must not be negative")
	}
	if _, err := engine.ParseSlowPolicy(c.SlowPolicy); err != nil {
		bad("--slow-policy: %v", err)
	}
	if err := c.engineConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// engineConfig is the Engine.IO part of c.
func (c Config) engineConfig() engine.Config {
	policy, _ := engine.ParseSlowPolicy(c.SlowPolicy)
	return engine.Config{
		PingInterval:     c.PingInterval,
		PingTimeout:      c.PingTimeout,
		MaxPayload:       c.MaxPayload,
		MaxQueueBytes:    c.MaxQueueBytes,
		MaxQueueMessages: c.MaxQueueMessages,
		SlowPolicy:       policy,
		AllowEIO3:        c.AllowEIO3,
		AllowOrigins:     c.CORSOrigins,
		Logger:           c.Logger,
	}
}
