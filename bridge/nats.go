package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startEmbedded starts an in-process NATS server on listen ("host:port";
// port 0 picks a free one) and returns it once it accepts clients. With a
// storeDir it runs JetStream too, keeping its store there (recovery needs
// it); without one it is core NATS only.
func startEmbedded(listen, storeDir string, logger *slog.Logger) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("bridge: embedded NATS listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("bridge: embedded NATS listen address %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "natsock-embedded",
		Host:       host,
		Port:       port,
		NoSigs:     true,
		NoLog:      true,
		JetStream:  storeDir != "",
		StoreDir:   storeDir,
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("bridge: embedded NATS did not start on %s (is the port in use?)", listen)
	}
	if storeDir != "" && !ns.JetStreamEnabled() {
		ns.Shutdown()
		return nil, fmt.Errorf("bridge: embedded NATS: JetStream did not start with store directory %s (is it writable, and not another server's?)", storeDir)
	}
	logger.Info("embedded NATS server started", "url", ns.ClientURL(), "jetstream", storeDir != "", "store_dir", storeDir)
	return ns, nil
}

// reconnectDelay backs off from 100ms to 5s, with jitter, and never gives up.
func reconnectDelay(attempts int) time.Duration {
	d := 100 * time.Millisecond << min(attempts, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// natsOptions turns the config into nats.go options: reconnect forever
// with backoff, hold inbound emits up to NATSReconnectBuffer while NATS is
// away, and log each step of an outage.
func (b *Bridge) natsOptions() ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name("natsock"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(func(attempts int) time.Duration { return b.reconnectDelay(attempts) }),
		nats.ReconnectBufSize(b.cfg.NATSReconnectBuffer),
		nats.ConnectHandler(func(nc *nats.Conn) {
			b.log.Info("NATS connected", "url", nc.ConnectedUrlRedacted())
			b.natsChanged(nc)
		}),
		nats.DisconnectErrHandler(b.natsDisconnected),
		nats.ReconnectHandler(b.natsReconnected),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			b.log.Warn("NATS reconnect attempt failed", "err", err)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			b.log.Info("NATS connection closed")
			b.natsChanged(nc)
			b.closeNATSClosed()
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			b.log.Error("NATS async error", "subject", subject, "err", err)
		}),
	}
	auth, err := b.cfg.natsAuthOptions()
	if err != nil {
		return nil, err
	}
	return append(opts, auth...), nil
}

// natsDisconnected starts an outage: the sockets stay, /readyz goes
// unready, and inbound emits go to the reconnect buffer.
func (b *Bridge) natsDisconnected(nc *nats.Conn, err error) {
	if !b.stopped.Load() {
		b.outageStart.CompareAndSwap(0, time.Now().UnixNano())
		b.log.Warn("NATS disconnected; sockets stay connected, inbound emits are held in the reconnect buffer, reconnecting",
			"err", err, "reconnect_buffer_bytes", b.cfg.NATSReconnectBuffer)
	}
	b.natsChanged(nc)
}

// natsReconnected ends an outage. nats.go has already registered the
// subscriptions again and sent what the reconnect buffer held.
func (b *Bridge) natsReconnected(nc *nats.Conn) {
	var outage time.Duration
	if start := b.outageStart.Swap(0); start != 0 {
		outage = time.Since(time.Unix(0, start)).Round(time.Millisecond)
	}
	dropped := b.outageDropped.Swap(0)
	b.outageLogged.Store(false)
	// Core NATS keeps nothing for a subscriber that is away, and tells it
	// nothing of what it missed: the count cannot be known. With recovery
	// the stream kept it, and its ordered consumer resumes after the last
	// sequence delivered.
	missed := "unknown (core NATS does not keep or count messages published while natsock was away)"
	if b.cfg.Recovery {
		missed = "none (the recovery stream's consumer resumes after the last sequence it delivered)"
	}
	b.log.Info("NATS reconnected; subscriptions resumed",
		"url", nc.ConnectedUrlRedacted(), "reconnects", nc.Stats().Reconnects, "outage", outage.String(),
		"subscriptions", len(b.mapping.Rules()),
		"missed_messages", missed,
		"inbound_emits_dropped", dropped)
	b.natsChanged(nc)
}

// publishFailed counts and logs an inbound emit NATS did not take.
func (b *Bridge) publishFailed(subject, event string, err error) {
	b.stats.BadInbound.Add(1)
	if errors.Is(err, nats.ErrReconnectBufExceeded) {
		b.stats.BufferFull.Add(1)
		b.outageDropped.Add(1)
		if b.outageLogged.CompareAndSwap(false, true) {
			b.log.Warn("NATS is away and its reconnect buffer is full: inbound emits are dropped and counted until it reconnects (logged once an outage); raise --nats-reconnect-buffer to hold more",
				"subject", subject, "event", event, "reconnect_buffer_bytes", b.cfg.NATSReconnectBuffer, "err", err)
		}
		return
	}
	b.log.Warn("publish failed", "subject", subject, "event", event, "err", err)
}

// natsAuthOptions are the credential and TLS options.
func (c Config) natsAuthOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if c.NATSCreds != "" {
		opts = append(opts, nats.UserCredentials(c.NATSCreds))
	}
	if c.NATSNKey != "" {
		o, err := nats.NkeyOptionFromSeed(c.NATSNKey)
		if err != nil {
			return nil, fmt.Errorf("bridge: --nats-nkey %q: %w", c.NATSNKey, err)
		}
		opts = append(opts, o)
	}
	if c.NATSUser != "" {
		opts = append(opts, nats.UserInfo(c.NATSUser, c.NATSPassword))
	}
	if c.NATSToken != "" {
		opts = append(opts, nats.Token(c.NATSToken))
	}
	if c.NATSTLSCA != "" {
		opts = append(opts, nats.RootCAs(c.NATSTLSCA))
	}
	if c.NATSTLSCert != "" {
		opts = append(opts, nats.ClientCert(c.NATSTLSCert, c.NATSTLSKey))
	}
	return opts, nil
}
