package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
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
	// NATSReconnectBuffer bounds the bytes of inbound emits held while NATS
	// is away (nats.go's ReconnectBufSize); they are sent on reconnect.
	// Past it, an acknowledged emit is answered {"error": ...} and a plain
	// one is dropped, counted and logged. Zero means 8 MiB; -1 holds
	// nothing, so every emit during an outage fails at once.
	NATSReconnectBuffer int

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
	WriteTimeout     time.Duration
	AllowEIO3        bool

	// MaxConnections bounds the socket.io connections (Engine.IO
	// sessions) open at once; a handshake past it gets 503. Zero means
	// 65536.
	MaxConnections int
	// MaxConnectionsPerIP bounds the connections of one remote IP address
	// (the TCP peer's: behind a reverse proxy, every client shares the
	// proxy's); a handshake past it gets 429. Zero means no bound.
	MaxConnectionsPerIP int
	// HandshakeTimeout bounds the HTTP request headers (the HTTP server's
	// ReadHeaderTimeout) and the time a client has, after the Engine.IO
	// handshake, to send its Socket.IO CONNECT. Zero means 10s.
	HandshakeTimeout time.Duration

	// ShutdownTimeout bounds a graceful shutdown. Zero means 10s.
	ShutdownTimeout time.Duration

	// Logger receives the bridge's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bridge: invalid config")

// Defaults of the limits whose zero value is not "no bound".
const (
	DefaultNATSReconnectBuffer = 8 << 20 // bytes
	DefaultMaxConnections      = 65536   // nats-server's default max_connections
)

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
	if c.NATSReconnectBuffer == 0 {
		c.NATSReconnectBuffer = DefaultNATSReconnectBuffer
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 10 * time.Second
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
	for _, f := range []struct {
		flag     string
		negative bool
	}{
		{"--request-timeout", c.RequestTimeout < 0},
		{"--max-inflight-requests", c.MaxInflightRequests < 0},
		{"--shutdown-timeout", c.ShutdownTimeout < 0},
		{"--handshake-timeout", c.HandshakeTimeout < 0},
		{"--write-timeout", c.WriteTimeout < 0},
		{"--max-connections", c.MaxConnections < 0},
		{"--ping-interval", c.PingInterval < 0},
		{"--ping-timeout", c.PingTimeout < 0},
		{"--max-payload", c.MaxPayload < 0},
		{"--max-queue-bytes", c.MaxQueueBytes < 0},
		{"--max-queue-messages", c.MaxQueueMessages < 0},
	} {
		if f.negative {
			bad("%s must not be negative", f.flag)
		}
	}
	if c.NATSReconnectBuffer < -1 {
		bad("--nats-reconnect-buffer %d: want a size in bytes, or -1 to hold nothing while NATS is away", c.NATSReconnectBuffer)
	}
	if c.MaxConnectionsPerIP < 0 {
		bad("--max-connections-per-ip must not be negative (0 means no bound)")
	}
	if c.MaxConnections > 0 && c.MaxConnectionsPerIP > c.MaxConnections {
		bad("--max-connections-per-ip %d is above --max-connections %d", c.MaxConnectionsPerIP, c.MaxConnections)
	}
	if _, err := engine.ParseSlowPolicy(c.SlowPolicy); err != nil {
		bad("--slow-policy: %v", err)
	}
	for _, o := range c.CORSOrigins {
		if strings.TrimSpace(o) == "" {
			bad("--cors-origin: an empty origin (want scheme://host[:port], or * for any)")
		}
	}
	// The engine checks what is left, in its own words; the checks above
	// name the flags, so it only speaks when they found nothing.
	if len(errs) == 0 {
		if err := c.socketioConfig().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// socketioConfig is the Socket.IO part of c.
func (c Config) socketioConfig() socketio.Config {
	return socketio.Config{Engine: c.engineConfig(), ConnectTimeout: c.HandshakeTimeout, Logger: c.Logger}
}

// engineConfig is the Engine.IO part of c.
func (c Config) engineConfig() engine.Config {
	policy, _ := engine.ParseSlowPolicy(c.SlowPolicy)
	return engine.Config{
		PingInterval:        c.PingInterval,
		PingTimeout:         c.PingTimeout,
		MaxPayload:          c.MaxPayload,
		MaxQueueBytes:       c.MaxQueueBytes,
		MaxQueueMessages:    c.MaxQueueMessages,
		SlowPolicy:          policy,
		WriteTimeout:        c.WriteTimeout,
		AllowEIO3:           c.AllowEIO3,
		MaxConnections:      c.MaxConnections,
		MaxConnectionsPerIP: c.MaxConnectionsPerIP,
		AllowOrigins:        c.CORSOrigins,
		Logger:              c.Logger,
	}
}
