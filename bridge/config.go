package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/protocol/admin"
	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// The defaults of Config, applied to its zero fields. The socket.io and
// Engine.IO settings in Config.SocketIO keep their own packages' defaults
// (engine.DefaultMaxConnections, ...).
const (
	DefaultListen              = ":3000"
	DefaultPath                = "/socket.io/"
	DefaultEmbeddedNATSListen  = "127.0.0.1:4222"
	DefaultNATSReconnectBuffer = 8 << 20 // bytes
	DefaultRequestTimeout      = 5 * time.Second
	DefaultMaxInflightRequests = 8192 // see DefaultMaxInflightRequestsPerSocket
	DefaultHandshakeTimeout    = 10 * time.Second
	DefaultShutdownTimeout     = 10 * time.Second
	DefaultInboundBurst        = 10 // events; see Config.InboundBurst

	// DefaultRecoveryWindow is how long a disconnected client's missed
	// events are kept for it (see Config.RecoveryWindow): socket.io's
	// maxDisconnectionDuration.
	DefaultRecoveryWindow = 2 * time.Minute
	// DefaultRecoveryStream names the JetStream stream recovery keeps the
	// mapped subjects' messages in.
	DefaultRecoveryStream = "NATSOCK"
	// DefaultRecoveryReplicas is the stream's replica count.
	DefaultRecoveryReplicas = 1
	// MinRecoveryWindow is the shortest RecoveryWindow: JetStream expires
	// messages on a timer, and a window shorter than a reconnect recovers
	// nothing.
	MinRecoveryWindow = time.Second
)

// DefaultEmbeddedNATSStoreDir is where the embedded NATS server keeps its
// JetStream store when Config.EmbeddedNATSStoreDir is empty: a directory
// under the system's temporary directory, which exists on a fresh machine.
// The recovery window bounds what it holds (minutes), so it need not
// survive a reboot.
func DefaultEmbeddedNATSStoreDir() string { return filepath.Join(os.TempDir(), "natsock-jetstream") }

// Bounds on the NATS requests behind acknowledged emits that wait for
// their replies (see requests.go). DefaultMaxInflightRequests, all
// sockets together, is room for 1000 clients with 4 acknowledged emits
// outstanding each, twice over; a waiting request costs a pending entry
// and a timer, a few hundred bytes, not a goroutine.
// DefaultMaxInflightRequestsPerSocket is four times the 4 a client
// typically keeps outstanding, and small enough that one socket, or a few
// hundred, cannot take the whole server's bound.
const DefaultMaxInflightRequestsPerSocket = 16

// Config is everything a Bridge is told: its own settings (HTTP, NATS, the
// rules, requests, shutdown) and, in SocketIO, the socket.io server's, whose
// Engine field holds the Engine.IO settings (heartbeats, payload and queue
// bounds, browser origins, connection limits). Zero fields take the default
// their comment names; Validate reports every problem at once. Config
// knows nothing of where its values came from (flags, a file): its errors
// name fields, as [FieldError]s.
type Config struct {
	// Listen is the HTTP address for socket.io, /healthz and /readyz.
	// Zero means DefaultListen (":3000").
	Listen string
	// Path is where socket.io is served; it starts and ends with "/".
	// Zero means DefaultPath ("/socket.io/").
	Path string

	// NATSURL lists NATS servers, comma-separated. Empty means: start an
	// embedded NATS server on EmbeddedNATSListen.
	NATSURL string
	// EmbeddedNATSListen is the embedded server's client address
	// ("host:port", port 0 for a free one). Zero means
	// DefaultEmbeddedNATSListen ("127.0.0.1:4222").
	EmbeddedNATSListen string
	// EmbeddedNATSStoreDir is the embedded server's JetStream store
	// directory. JetStream runs on the embedded server only with Recovery
	// on. Zero means DefaultEmbeddedNATSStoreDir() (a directory under
	// os.TempDir()); two embedded servers must not share one.
	EmbeddedNATSStoreDir string
	// NATSCreds and NATSNKey name a credentials file and an nkey seed
	// file; NATSUser with NATSPassword, or NATSToken, authenticate
	// otherwise. All optional.
	NATSCreds, NATSNKey, NATSUser, NATSPassword, NATSToken string
	// NATSTLSCA verifies the NATS server; NATSTLSCert with NATSTLSKey is
	// the client's certificate. All optional.
	NATSTLSCA, NATSTLSCert, NATSTLSKey string
	// NATSReconnectBuffer bounds the bytes of inbound emits held while NATS
	// is away (nats.go's ReconnectBufSize); they are sent on reconnect.
	// Past it, an acknowledged emit is answered {"error": ...} and a plain
	// one is dropped, counted and logged. Zero means
	// DefaultNATSReconnectBuffer (8 MiB); -1 holds nothing, so every emit
	// during an outage fails at once.
	NATSReconnectBuffer int

	// Maps are the outbound rules, SUBJECT=EVENT (see ParseRule), in
	// order: the first rule matching a subject wins. At least one.
	Maps []string
	// Inbound are the rules EVENT=SUBJECT (see ParseInboundRule) that
	// publish a client's event to NATS.
	Inbound []string
	// RequestTimeout bounds the NATS request behind an acknowledged
	// inbound emit. Zero means DefaultRequestTimeout (5s).
	RequestTimeout time.Duration
	// MaxInflightRequests bounds the NATS requests behind acknowledged
	// emits that wait for their replies, all sockets together; past it an
	// ack gets {"error": "too many requests in flight on this server
	// (N); ..."} at once and nothing is sent. Zero means
	// DefaultMaxInflightRequests (8192).
	MaxInflightRequests int
	// MaxInflightRequestsPerSocket bounds one socket's requests waiting
	// for replies; past it that socket's ack gets {"error": "too many
	// requests in flight from this socket (N): ..."} at once and nothing
	// is sent. Zero means DefaultMaxInflightRequestsPerSocket (16).
	MaxInflightRequestsPerSocket int

	// HandshakeTimeout bounds the HTTP request headers (the HTTP server's
	// ReadHeaderTimeout) and, unless SocketIO.ConnectTimeout is set, the
	// time a client has after the Engine.IO handshake to send its
	// Socket.IO CONNECT. Zero means DefaultHandshakeTimeout (10s).
	HandshakeTimeout time.Duration
	// ShutdownTimeout bounds a graceful shutdown. Zero means
	// DefaultShutdownTimeout (10s).
	ShutdownTimeout time.Duration

	// InboundRate is each socket's inbound rate limit, in events a second
	// (a token bucket refilled at this rate); an event over it is dropped
	// and counted, and InboundRatePolicy says what the socket is told.
	// Zero means no limit.
	InboundRate float64
	// InboundBurst is how many events a socket may emit at once before
	// InboundRate applies. Zero means DefaultInboundBurst, or InboundRate
	// rounded up when that is more.
	InboundBurst int
	// InboundRatePolicy is RatePolicyError (the default: an ack error, or
	// the event RateLimitedEvent) or RatePolicyDisconnect.
	InboundRatePolicy string

	// LifecycleSubject, when set, is the subject prefix of the lifecycle
	// events (PREFIX.connect, PREFIX.disconnect, PREFIX.node.up,
	// PREFIX.node.down; see package lifecycle). Empty means none are
	// published.
	LifecycleSubject string
	// NodeName names this natsock node in lifecycle events. Zero means the
	// host name (os.Hostname), or "natsock" when it has none.
	NodeName string

	// Recovery turns on socket.io's connection-state recovery, backed by
	// JetStream: every mapped message is kept in the stream RecoveryStream
	// for RecoveryWindow, outbound delivery reads that stream (an ordered
	// consumer per node) so that each event carries its stream sequence as
	// its socket.io offset, and a client that reconnects within the window,
	// to any node, gets the events it missed and socket.recovered === true.
	// Off by default: the core NATS path is faster and keeps nothing. See
	// recovery.go.
	Recovery bool
	// RecoveryWindow is how long a message is kept for clients that missed
	// it: the stream's MaxAge. A client whose first missed message is older
	// than this gets a normal connect (recovered false) and must refetch.
	// At least MinRecoveryWindow (1s); zero means DefaultRecoveryWindow
	// (2m).
	RecoveryWindow time.Duration
	// RecoveryStream names the JetStream stream over the Maps subjects.
	// natsock creates it (and updates one it created when the rules
	// change); a stream of that name made by someone else is used if it
	// fits, and refused with an error saying why if not. Letters, digits,
	// '-' and '_'. Zero means DefaultRecoveryStream ("NATSOCK").
	RecoveryStream string
	// RecoveryReplicas is the stream's replica count in a JetStream
	// cluster (1 to 5); the embedded server allows only 1. Zero means
	// DefaultRecoveryReplicas (1).
	RecoveryReplicas int

	// Auth authenticates handshakes and makes rooms from claims (see
	// package auth); its zero value turns authentication off, every socket
	// anonymous. Each field's doc names its default. When
	// SocketIO.Engine.AllowEIO3 is on and Auth.Sources.Query is empty, the
	// query parameter "token" is read too: socket.io v2 clients send no
	// auth payload.
	Auth auth.Config

	// SSE configures server-sent events at SSEPath ("/events"); see
	// SSEConfig. Its zero value serves them with the defaults.
	SSE SSEConfig

	// AdminUI serves the socket.io Admin UI's server side (see package
	// admin) in the namespace Admin.Namespace ("/admin"), behind the login
	// Admin.Username and Admin.PasswordHash (a bcrypt hash, required). Off
	// by default. The UI sends the password itself: serve it over TLS.
	AdminUI bool
	// Admin configures the Admin UI; it must be left zero with AdminUI
	// off. Its zero fields take package admin's defaults, but ServerID
	// is NodeName.
	Admin admin.Config
	// AdminUIOrigins are the browser origins the Admin UI's page comes
	// from (https://admin.socket.io, or wherever its ui/dist is hosted),
	// allowed, with credentials, ahead of SocketIO.Engine.AllowOrigins.
	AdminUIOrigins []string

	// SocketIO configures the socket.io server, and in SocketIO.Engine the
	// Engine.IO server underneath; their zero fields take those packages'
	// defaults. The bridge fills what it owns: the loggers (from Logger)
	// and Engine.OnOriginRefused (to log a refused origin once).
	SocketIO socketio.Config

	// Logger receives the bridge's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bridge: invalid config")

// FieldError is a problem with one field of a Config. Field is the field's
// path from Config, with an index for an element of a list: "Listen",
// "Maps[1]", "SocketIO.Engine.MaxPayload". Err says what is wrong without
// naming the field, so that a caller can put it in its own terms (the
// flag, environment variable or file line the value came from). It wraps
// ErrConfig and Err.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	return ErrConfig.Error() + ": " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns ErrConfig and the reason.
func (e *FieldError) Unwrap() []error { return []error{ErrConfig, e.Err} }

// DefaultConfig returns a Config with every default filled in, the
// SocketIO and Engine ones included: what a zero Config means.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.EmbeddedNATSListen == "" {
		c.EmbeddedNATSListen = DefaultEmbeddedNATSListen
	}
	if c.NATSReconnectBuffer == 0 {
		c.NATSReconnectBuffer = DefaultNATSReconnectBuffer
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxInflightRequests == 0 {
		c.MaxInflightRequests = DefaultMaxInflightRequests
	}
	if c.MaxInflightRequestsPerSocket == 0 {
		c.MaxInflightRequestsPerSocket = DefaultMaxInflightRequestsPerSocket
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.InboundRate > 0 && c.InboundBurst == 0 {
		c.InboundBurst = max(DefaultInboundBurst, int(math.Ceil(c.InboundRate)))
	}
	if c.InboundRatePolicy == "" {
		c.InboundRatePolicy = RatePolicyError
	}
	if c.NodeName == "" {
		c.NodeName = defaultNodeName()
	}
	if c.RecoveryWindow == 0 {
		c.RecoveryWindow = DefaultRecoveryWindow
	}
	if c.RecoveryStream == "" {
		c.RecoveryStream = DefaultRecoveryStream
	}
	if c.RecoveryReplicas == 0 {
		c.RecoveryReplicas = DefaultRecoveryReplicas
	}
	if c.EmbeddedNATSStoreDir == "" && c.NATSURL == "" {
		c.EmbeddedNATSStoreDir = DefaultEmbeddedNATSStoreDir()
	}
	c.SocketIO = c.socketio()
	c.SocketIO.Engine = c.SocketIO.Engine.WithDefaults()
	c.Auth = c.Auth.WithDefaults()
	c.SSE = c.SSE.withDefaults()
}

// socketio is the socket.io server's configuration: c.SocketIO with what
// the bridge derives filled in.
func (c Config) socketio() socketio.Config {
	s := c.SocketIO
	if s.ConnectTimeout == 0 {
		s.ConnectTimeout = c.HandshakeTimeout
		if s.ConnectTimeout == 0 {
			s.ConnectTimeout = DefaultHandshakeTimeout
		}
	}
	if s.Logger == nil {
		s.Logger = c.Logger
	}
	if s.Engine.Logger == nil {
		s.Engine.Logger = s.Logger
	}
	return s
}

// rules are the parsed Maps and Inbound of a valid Config.
type rules struct {
	mapping *Mapping
	inbound *Inbound
}

// Validate reports every problem with c, the rules and the SocketIO part
// included, joined into one error whose parts are each a *FieldError.
func (c Config) Validate() error {
	_, err := c.validate()
	return err
}

// validate is Validate, and returns the parsed rules when c is valid, so
// that New parses them once.
func (c Config) validate() (rules, error) {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if c.Listen != "" {
		if err := checkHostPort(c.Listen); err != nil {
			bad("Listen", "%w", err)
		}
	}
	if c.Path != "" && (!strings.HasPrefix(c.Path, "/") || !strings.HasSuffix(c.Path, "/")) {
		bad("Path", "must start and end with '/'")
	}
	if c.NATSURL != "" {
		if err := checkNATSURLs(c.NATSURL); err != nil {
			bad("NATSURL", "%w", err)
		}
	}
	if c.NATSURL == "" && c.EmbeddedNATSListen != "" {
		if err := checkHostPort(c.EmbeddedNATSListen); err != nil {
			bad("EmbeddedNATSListen", "%w", err)
		}
	}
	if c.NATSUser != "" && c.NATSPassword == "" {
		bad("NATSUser", "a NATS user needs a password too")
	}
	if c.NATSPassword != "" && c.NATSUser == "" {
		bad("NATSPassword", "a NATS password needs a user too")
	}
	if c.NATSTLSCert != "" && c.NATSTLSKey == "" {
		bad("NATSTLSCert", "a client certificate needs its key too")
	}
	if c.NATSTLSKey != "" && c.NATSTLSCert == "" {
		bad("NATSTLSKey", "a client key needs its certificate too")
	}
	if c.NATSReconnectBuffer < -1 {
		bad("NATSReconnectBuffer", "want a size in bytes, or -1 to hold nothing while NATS is away")
	}
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"RequestTimeout", c.RequestTimeout < 0},
		{"MaxInflightRequests", c.MaxInflightRequests < 0},
		{"MaxInflightRequestsPerSocket", c.MaxInflightRequestsPerSocket < 0},
		{"HandshakeTimeout", c.HandshakeTimeout < 0},
		{"ShutdownTimeout", c.ShutdownTimeout < 0},
	} {
		if f.negative {
			bad(f.name, "must not be negative")
		}
	}

	switch {
	case math.IsNaN(c.InboundRate) || math.IsInf(c.InboundRate, 0) || c.InboundRate < 0:
		bad("InboundRate", "want events a second, 0 for no limit")
	case c.InboundBurst < 0:
		bad("InboundBurst", "must not be negative")
	case c.InboundBurst > 0 && c.InboundRate == 0:
		bad("InboundBurst", "is set without an InboundRate: a burst bounds nothing on its own")
	}
	switch c.InboundRatePolicy {
	case "", RatePolicyError, RatePolicyDisconnect:
	default:
		bad("InboundRatePolicy", "want %q or %q", RatePolicyError, RatePolicyDisconnect)
	}
	if c.LifecycleSubject != "" {
		if _, err := splitPattern(c.LifecycleSubject, false); err != nil {
			bad("LifecycleSubject", "%w", err)
		}
	}

	errs = append(errs, c.validateRecovery()...)

	var r rules
	if len(c.Maps) == 0 {
		bad("Maps", "no rule: natsock would forward nothing (e.g. tasks.assigned=newTaskAssigned)")
	} else if m, err := NewMapping(c.Maps); err == nil {
		r.mapping = m
	} else {
		// Name the rule of each error (the rules are parsed again only on
		// this path, to tell which is which).
		for i, v := range c.Maps {
			if _, err := ParseRule(v); err != nil {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("Maps[%d]", i), Err: err})
			}
		}
	}
	if in, err := NewInbound(c.Inbound); err == nil {
		r.inbound = in
	} else {
		seen := make(map[string]string) // event -> subject
		for i, v := range c.Inbound {
			ir, err := ParseInboundRule(v)
			if err == nil {
				if prev, dup := seen[ir.Event]; dup {
					err = fmt.Errorf("%w: event %q is already mapped to %q", ErrBadRule, ir.Event, prev)
				} else {
					seen[ir.Event] = ir.Subject
				}
			}
			if err != nil {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("Inbound[%d]", i), Err: err})
			}
		}
	}

	// The lower layers check their own fields, in their own words; their
	// field names are given the path from Config.
	s := c.SocketIO
	s.Engine = engine.Config{}
	errs = append(errs, nest("SocketIO", s.Validate())...)
	errs = append(errs, nest("SocketIO.Engine", c.SocketIO.Engine.Validate())...)
	errs = append(errs, nest("Auth", c.Auth.Validate())...)
	errs = append(errs, c.validateAdminUI(r)...)
	errs = append(errs, c.SSE.validate()...)
	if err := errors.Join(errs...); err != nil {
		return rules{}, err
	}
	return r, nil
}

// fieldReporter is a lower layer's error about one field of its config
// (engine.FieldError is one): the field's name within that config, and
// what is wrong with it.
type fieldReporter interface {
	error
	ConfigField() (field string, reason error)
}

// nest turns the errors joined in err, a lower layer's Validate's, into
// FieldErrors at path: a fieldReporter's field is put under path
// ("SocketIO.Engine" + "." + "MaxPayload"), any other error is about path
// as a whole.
func nest(path string, err error) []error {
	if err == nil {
		return nil
	}
	if fr, ok := err.(fieldReporter); ok {
		field, reason := fr.ConfigField()
		return []error{&FieldError{Field: path + "." + field, Err: reason}}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, nest(path, e)...)
		}
		return out
	}
	return []error{&FieldError{Field: path, Err: err}}
}

// checkNATSURLs checks a comma-separated list of NATS servers as nats.go
// reads it: "host:port" or a nats://, tls://, ws:// or wss:// URL, not
// websocket and plain schemes mixed.
func checkNATSURLs(list string) error {
	var errs []error
	n, ws := 0, 0
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n++
		raw := part
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw
		}
		u, err := url.Parse(raw)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("server %q: %w", part, err))
		case u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss":
			errs = append(errs, fmt.Errorf("server %q: scheme %q is not nats, tls, ws or wss", part, u.Scheme))
		case u.Hostname() == "":
			errs = append(errs, fmt.Errorf("server %q: no host", part))
		case u.Scheme == "ws" || u.Scheme == "wss":
			ws++
		}
	}
	if n == 0 {
		return errors.New("lists no server (want nats://host:port, comma-separated)")
	}
	if ws > 0 && ws < n {
		errs = append(errs, errors.New("mixes websocket (ws://, wss://) and plain servers, which NATS clients refuse"))
	}
	return errors.Join(errs...)
}

// checkHostPort checks a "host:port" listen address, port 0 to 65535 (or
// a service name). Its error does not repeat the address.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if ae, ok := err.(*net.AddrError); ok {
		return fmt.Errorf("%s (want host:port)", ae.Err)
	} else if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
		return fmt.Errorf("port %d is out of range (0 to 65535)", n)
	} else if err != nil {
		if _, err := net.LookupPort("tcp", port); err != nil {
			return fmt.Errorf("port %q is neither a number nor a known service", port)
		}
	}
	return nil
}
