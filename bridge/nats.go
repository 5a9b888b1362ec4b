package bridge

import (
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
// port 0 picks a free one) and returns it once it accepts clients.
func startEmbedded(listen string, logger *slog.Logger) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("bridge: --embedded-nats-listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("bridge: --embedded-nats-listen %q: bad port", listen)
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
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("bridge: embedded NATS did not start on %s (is the port in use?)", listen)
	}
	logger.Info("embedded NATS server started", "url", ns.ClientURL())
	return ns, nil
}

// reconnectDelay backs off from 100ms to 5s, with jitter, and never gives up.
func reconnectDelay(attempts int) time.Duration {
	d := 100 * time.Millisecond << min(attempts, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// natsOptions turns the config into nats.go options, with logging handlers.
func (c Config) natsOptions(logger *slog.Logger, stopping func() bool, onChange func(*nats.Conn)) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name("natsock"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.ReconnectBufSize(8 << 20),
		nats.ConnectHandler(func(nc *nats.Conn) {
			logger.Info("NATS connected", "url", nc.ConnectedUrlRedacted())
			onChange(nc)
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if !stopping() {
				logger.Warn("NATS disconnected; sockets stay connected, reconnecting", "err", err)
			}
			onChange(nc)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted(), "reconnects", nc.Stats().Reconnects)
			onChange(nc)
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			logger.Warn("NATS reconnect attempt failed", "err", err)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			logger.Info("NATS connection closed")
			onChange(nc)
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			logger.Error("NATS async error", "subject", subject, "err", err)
		}),
	}
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
