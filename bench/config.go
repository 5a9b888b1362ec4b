package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Transports a client can use.
const (
	TransportWebSocket = "websocket"
	TransportPolling   = "polling"
)

// Scenarios: who each message is for.
const (
	// ScenarioBroadcast publishes every message to Config.Subject, for
	// every client.
	ScenarioBroadcast = "broadcast"
	// ScenarioTargeted gives every client a user of its own and publishes
	// each message to one user, chosen at random, on
	// Config.Subject.<user>, for that user's client alone.
	ScenarioTargeted = "targeted"
	// ScenarioInbound has every client emit Config.Event, as fast as its
	// window allows, and counts the events that reach Config.Subject on
	// NATS: the client-to-NATS direction.
	ScenarioInbound = "inbound"
	// ScenarioAck has every client emit Config.Event with an
	// acknowledgement, at most Config.Window outstanding, while the bench
	// answers each NATS request on Config.Subject with its own body: the
	// round trip client -> NATS request -> reply -> ack.
	ScenarioAck = "ack"
	// ScenarioStorm measures a reconnect storm: every client on node A
	// (Config.URL), with connection state recovery, while messages flow
	// at Config.Rate; after Config.KillAfter the bench SIGKILLs node A
	// (Config.PID) and every client resumes on node B
	// (Config.FailoverURL) with its pid and offset. It reports how long
	// the clients took to be recovered and what each lost or got twice.
	ScenarioStorm = "storm"
)

// Config is one bench run. Zero fields take the default their comment
// names; Run fills them, and Validate reports every problem at once.
type Config struct {
	// URL is the socket.io server, http://host:port. Zero means
	// "http://127.0.0.1:3000".
	URL string
	// Path is the server's socket.io path. Zero means "/socket.io/".
	Path string
	// Transport is "websocket" or "polling" (HTTP long-polling; no
	// upgrade). Zero means "websocket".
	Transport string
	// Clients is how many socket.io clients to open. Zero means 100.
	Clients int
	// SourceIPs are the local addresses the clients dial from, in turn.
	// Empty lets the kernel choose, which caps one server at about 28,000
	// clients; see ParseSourceIPs.
	SourceIPs []netip.Addr
	// ConnectConcurrency bounds the handshakes in flight. Zero means 100.
	ConnectConcurrency int
	// ReadBuffer is each client's read buffer, in bytes. Zero means 32768.
	ReadBuffer int
	// ReadInterval is how long the websocket clients' reader (on Linux,
	// one epoll loop for all of them) sleeps after a round of reads, so
	// that frames gather in the kernel and one read takes many. Latency
	// is measured from the kernel's receive timestamp, so it does not
	// grow with the interval. Zero means 200us; negative means no sleep.
	ReadInterval time.Duration

	// Scenario is who each message is for: ScenarioBroadcast, every
	// client, or ScenarioTargeted, one user's client; or, the other way,
	// ScenarioInbound and ScenarioAck, events from every client. Zero
	// means ScenarioBroadcast.
	Scenario string
	// JWTSecret, when set, makes every client present an HS256 JWT
	// signed with it, whose "sub" claim is the client's user id (client
	// i is user i+1), in its CONNECT auth payload {"token": ...}. A
	// targeted run needs it: the token is how the server learns whose
	// client it is.
	JWTSecret string

	// Messages is how many messages to publish; zero only connects the
	// clients and holds them (see Hold).
	Messages int
	// Size is each message's size in bytes, padding included; a message
	// never gets shorter than its fields. Zero means 128.
	Size int
	// Rate is the publish rate in messages per second; zero publishes as
	// fast as the slowest client keeps up within Window.
	Rate float64
	// Window bounds the messages published but not yet received by the
	// slowest client when Rate is zero (in a targeted run: published and
	// not yet received by their users' clients, all clients together).
	// Zero means 1000, or fewer so that the window holds at most 1 MiB,
	// under a server's per-client queue bound (natsock's default is
	// 4 MiB). In an inbound or ack run it is per client: the events a
	// client has emitted that have not yet reached NATS (inbound) or
	// been acknowledged (ack); zero means 16 (inbound) or 4 (ack).
	Window int
	// Duration, when not zero, stops publishing after this long even if
	// fewer than Messages went out.
	Duration time.Duration
	// Drain bounds the wait for the last messages after publishing ends,
	// counted from the last progress any client made. Zero means 5s.
	Drain time.Duration

	// NATSURL is where the messages are published. Zero means
	// "nats://127.0.0.1:4222".
	NATSURL string
	// Subject is what the messages are published to; in a targeted run,
	// the prefix the user id is appended to (Subject.<user>); in an
	// inbound or ack run, where the server publishes the clients' events.
	// Zero means "tasks.assigned", "notify.user" in a targeted run, or
	// "tasks.inbound" in an inbound or ack run.
	Subject string
	// Event is the event the server emits for Subject, or in an inbound
	// or ack run the event the clients emit. Zero means
	// "newTaskAssigned", "notification" in a targeted run, or
	// "taskAssigned" in an inbound or ack run.
	Event string

	// FailoverURL is node B of a storm run, where the clients resume once
	// node A is killed, http://host:port.
	FailoverURL string
	// KillAfter is how long a storm run publishes before it kills node
	// A. Zero means 2s.
	KillAfter time.Duration
	// ReconnectDelay is how long a storm run's client waits before it
	// connects to node B, randomized by half either way and doubled
	// after each failed attempt up to 5s: socket.io-client's
	// reconnectionDelay. Zero means 1s, socket.io-client's default.
	ReconnectDelay time.Duration

	// Hold is how long an idle run (no Messages) keeps its clients
	// connected before measuring the server's memory and closing them.
	// Zero means 5s.
	Hold time.Duration
	// PID is the server's process id; when set, its memory and CPU time
	// are read from /proc.
	PID int
	// Timeout bounds the whole run. Zero means 2m.
	Timeout time.Duration

	// Progress receives a progress bar, redrawn in place, when not nil
	// (give it a terminal).
	Progress io.Writer
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bench: invalid config")

const maxWindowBytes = 1 << 20

func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = "http://127.0.0.1:3000"
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if c.Transport == "" {
		c.Transport = TransportWebSocket
	}
	if c.Clients == 0 {
		c.Clients = 100
	}
	if c.ConnectConcurrency == 0 {
		c.ConnectConcurrency = 100
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = 32 << 10
	}
	if c.ReadInterval == 0 {
		c.ReadInterval = 200 * time.Microsecond
	}
	if c.Scenario == "" {
		c.Scenario = ScenarioBroadcast
	}
	if c.Size == 0 {
		c.Size = 128
	}
	switch {
	case c.Window != 0:
	case c.Scenario == ScenarioInbound:
		c.Window = 16
	case c.Scenario == ScenarioAck:
		c.Window = 4
	default:
		c.Window = max(1, min(1000, maxWindowBytes/c.Size))
	}
	if c.Drain == 0 {
		c.Drain = 5 * time.Second
	}
	if c.NATSURL == "" {
		c.NATSURL = "nats://127.0.0.1:4222"
	}
	targeted, inbound := c.Scenario == ScenarioTargeted, isInbound(c.Scenario)
	if c.Subject == "" {
		switch {
		case targeted:
			c.Subject = "notify.user"
		case inbound:
			c.Subject = "tasks.inbound"
		default:
			c.Subject = "tasks.assigned"
		}
	}
	if c.Event == "" {
		switch {
		case targeted:
			c.Event = "notification"
		case inbound:
			c.Event = "taskAssigned"
		default:
			c.Event = "newTaskAssigned"
		}
	}
	if c.Hold == 0 {
		c.Hold = 5 * time.Second
	}
	if c.KillAfter == 0 {
		c.KillAfter = 2 * time.Second
	}
	if c.ReconnectDelay == 0 {
		c.ReconnectDelay = time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
}

// Validate reports every problem with c, joined into one error. Zero
// fields are valid: they take their defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.URL != "" {
		if _, err := serverAddr(c.URL); err != nil {
			bad("--url %q: %v", c.URL, err)
		}
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		bad("--path %q must start with '/'", c.Path)
	}
	switch c.Transport {
	case "", TransportWebSocket, TransportPolling:
	default:
		bad("--transport %q: want websocket or polling", c.Transport)
	}
	switch c.Scenario {
	case "", ScenarioBroadcast:
	case ScenarioTargeted:
		if c.JWTSecret == "" {
			bad("--scenario targeted needs --jwt-secret: each client's token is how the server learns its user")
		}
	case ScenarioInbound, ScenarioAck:
		if c.Transport == TransportPolling {
			bad("--scenario %s runs on websocket clients, not --transport polling", c.Scenario)
		}
		if c.Rate != 0 {
			bad("--scenario %s emits as fast as each client's --window allows: --rate must be 0", c.Scenario)
		}
	case ScenarioStorm:
		c.validateStorm(bad)
	default:
		bad("--scenario %q: want broadcast, targeted, inbound, ack or storm", c.Scenario)
	}
	positive := []struct {
		flag string
		v    int
	}{
		{"--clients", c.Clients}, {"--connect-concurrency", c.ConnectConcurrency},
		{"--messages", c.Messages}, {"--size", c.Size}, {"--window", c.Window},
		{"--pid", c.PID},
	}
	for _, p := range positive {
		if p.v < 0 {
			bad("%s %d: must not be negative", p.flag, p.v)
		}
	}
	if c.ReadBuffer != 0 && c.ReadBuffer < minReadBuffer {
		bad("--read-buffer %d: want at least %d bytes", c.ReadBuffer, minReadBuffer)
	}
	if c.Rate < 0 {
		bad("--rate %v: must not be negative (0 means as fast as the slowest client keeps up)", c.Rate)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--duration", c.Duration}, {"--drain", c.Drain}, {"--hold", c.Hold}, {"--timeout", c.Timeout},
		{"--kill-after", c.KillAfter}, {"--reconnect-delay", c.ReconnectDelay}} {
		if d.v < 0 {
			bad("%s %v: must not be negative", d.flag, d.v)
		}
	}
	if c.Subject != "" && (strings.ContainsAny(c.Subject, " \t\r\n*>") || strings.HasPrefix(c.Subject, ".") || strings.HasSuffix(c.Subject, ".")) {
		bad("--subject %q: not a subject to publish to (no spaces or wildcards)", c.Subject)
	}
	for _, ip := range c.SourceIPs {
		if !ip.IsValid() {
			bad("--source-ips: an invalid address")
		}
	}
	return errors.Join(errs...)
}

// minReadBuffer holds any frame header and the prefix parseEvent reads.
const minReadBuffer = 1024

// serverAddr returns the host:port of an http:// socket.io URL.
func serverAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "ws" {
		return "", fmt.Errorf("scheme %q: want http:// (TLS is not supported)", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return host, nil
}

// ParseSourceIPs reads --source-ips: a comma-separated list of addresses
// ("127.0.0.1,127.0.0.2"), or a count N for the loopback addresses
// 127.0.0.1 to 127.0.0.N. Empty gives none.
func ParseSourceIPs(s string) ([]netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 254 {
			return nil, fmt.Errorf("%w: --source-ips %d: want a count from 1 to 254, or a list of addresses", ErrConfig, n)
		}
		ips := make([]netip.Addr, n)
		for i := range ips {
			ips[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
		}
		return ips, nil
	}
	var ips []netip.Addr
	var errs []error
	for part := range strings.SplitSeq(s, ",") {
		ip, err := netip.ParseAddr(strings.TrimSpace(part))
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: --source-ips %q: %q is not an address", ErrConfig, s, part))
			continue
		}
		ips = append(ips, ip)
	}
	return ips, errors.Join(errs...)
}
