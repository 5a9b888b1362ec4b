package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bridge"
)

func env(name string) []string { return []string{"NATSOCK_" + name} }

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve socket.io clients the NATS subjects named by --map",
		Description: `Each --map SUBJECT=EVENT subscribes to SUBJECT (wildcards * and > allowed) and
emits every message to every connected socket as EVENT; {N} in EVENT is the
subject's N-th token. When several maps match a subject, the first one given
wins. Each --inbound EVENT=SUBJECT publishes a client's EVENT to SUBJECT (a NATS
request when the client asks for an acknowledgement). With no --nats-url, an
embedded NATS server starts on --embedded-nats-listen.
Repeatable flags also take comma-separated lists (so names may not contain commas).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: ":3000", EnvVars: env("LISTEN"), Usage: "HTTP address for socket.io, /healthz and /readyz"},
			&cli.StringFlag{Name: "path", Value: "/socket.io/", EnvVars: env("PATH"), Usage: "socket.io endpoint path"},
			&cli.StringFlag{Name: "nats-url", EnvVars: []string{"NATSOCK_NATS_URL", "NATS_URL"}, Usage: "NATS servers, comma-separated; empty starts an embedded NATS server"},
			&cli.StringFlag{Name: "embedded-nats-listen", Value: "127.0.0.1:4222", EnvVars: env("EMBEDDED_NATS_LISTEN"), Usage: "client address of the embedded NATS server (port 0: any free port)"},
			&cli.StringFlag{Name: "nats-creds", EnvVars: env("NATS_CREDS"), Usage: "NATS user credentials file"},
			&cli.StringFlag{Name: "nats-nkey", EnvVars: env("NATS_NKEY"), Usage: "NATS nkey seed file"},
			&cli.StringFlag{Name: "nats-user", EnvVars: env("NATS_USER"), Usage: "NATS user (with --nats-password)"},
			&cli.StringFlag{Name: "nats-password", EnvVars: env("NATS_PASSWORD"), Usage: "NATS password"},
			&cli.StringFlag{Name: "nats-token", EnvVars: env("NATS_TOKEN"), Usage: "NATS token"},
			&cli.StringFlag{Name: "nats-tls-ca", EnvVars: env("NATS_TLS_CA"), Usage: "CA file to verify the NATS server"},
			&cli.StringFlag{Name: "nats-tls-cert", EnvVars: env("NATS_TLS_CERT"), Usage: "client certificate file for NATS (with --nats-tls-key)"},
			&cli.StringFlag{Name: "nats-tls-key", EnvVars: env("NATS_TLS_KEY"), Usage: "client key file for NATS"},
			&cli.IntFlag{Name: "nats-reconnect-buffer", Value: bridge.DefaultNATSReconnectBuffer, EnvVars: env("NATS_RECONNECT_BUFFER"), Usage: "bytes of inbound emits held while NATS is away; past it an acknowledged emit gets an error (-1: hold nothing)"},
			&cli.StringSliceFlag{Name: "map", EnvVars: env("MAP"), Usage: "SUBJECT=EVENT: emit SUBJECT's messages as EVENT (repeatable)"},
			&cli.StringSliceFlag{Name: "inbound", EnvVars: env("INBOUND"), Usage: "EVENT=SUBJECT: publish a client's EVENT to SUBJECT (repeatable)"},
			&cli.DurationFlag{Name: "request-timeout", Value: 5 * time.Second, EnvVars: env("REQUEST_TIMEOUT"), Usage: "bound on the NATS request behind an acknowledged emit"},
			&cli.IntFlag{Name: "max-inflight-requests", Value: 1024, EnvVars: env("MAX_INFLIGHT_REQUESTS"), Usage: "concurrent acknowledged emits before new ones get an error"},
			&cli.StringSliceFlag{Name: "cors-origin", EnvVars: env("CORS_ORIGIN"), Usage: "browser origin allowed to connect, * for any (repeatable; default same-origin only)"},
			&cli.DurationFlag{Name: "ping-interval", Value: 25 * time.Second, EnvVars: env("PING_INTERVAL"), Usage: "Engine.IO heartbeat interval"},
			&cli.DurationFlag{Name: "ping-timeout", Value: 20 * time.Second, EnvVars: env("PING_TIMEOUT"), Usage: "Engine.IO heartbeat timeout"},
			&cli.IntFlag{Name: "max-payload", Value: 1_000_000, EnvVars: env("MAX_PAYLOAD"), Usage: "largest client message or polling body, in bytes"},
			&cli.IntFlag{Name: "max-queue-bytes", Value: 4 << 20, EnvVars: env("MAX_QUEUE_BYTES"), Usage: "bytes queued for one client before the slow-consumer policy applies"},
			&cli.IntFlag{Name: "max-queue-messages", Value: 10000, EnvVars: env("MAX_QUEUE_MESSAGES"), Usage: "messages queued for one client before the slow-consumer policy applies"},
			&cli.StringFlag{Name: "slow-policy", Value: "disconnect", EnvVars: env("SLOW_POLICY"), Usage: "at a full queue: disconnect (reason \"slow\") or drop-oldest"},
			&cli.DurationFlag{Name: "write-timeout", Value: 10 * time.Second, EnvVars: env("WRITE_TIMEOUT"), Usage: "bound on one websocket write or polling response to a client"},
			&cli.IntFlag{Name: "max-connections", Value: bridge.DefaultMaxConnections, EnvVars: env("MAX_CONNECTIONS"), Usage: "socket.io connections open at once; past it a handshake gets 503"},
			&cli.IntFlag{Name: "max-connections-per-ip", Value: 0, EnvVars: env("MAX_CONNECTIONS_PER_IP"), Usage: "connections from one IP address; past it a handshake gets 429 (0: no bound; behind a proxy all clients share its address)"},
			&cli.DurationFlag{Name: "handshake-timeout", Value: 10 * time.Second, EnvVars: env("HANDSHAKE_TIMEOUT"), Usage: "time a client has to send its HTTP request headers, and its socket.io CONNECT after the Engine.IO handshake"},
			&cli.BoolFlag{Name: "allow-eio3", EnvVars: env("ALLOW_EIO3"), Usage: "accept socket.io v2 clients (Engine.IO v3)"},
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 10 * time.Second, EnvVars: env("SHUTDOWN_TIMEOUT"), Usage: "bound on a graceful shutdown"},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: env("LOG_FORMAT"), Usage: "text or json"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("natsock serve: takes no arguments; did you mean --map "+c.Args().First()+"?", 2)
			}
			logger, err := newLogger(c.String("log-level"), c.String("log-format"))
			if err != nil {
				return cli.Exit("natsock: "+err.Error(), 2)
			}
			b, err := bridge.New(bridge.Config{
				Listen:              c.String("listen"),
				Path:                c.String("path"),
				NATSURL:             c.String("nats-url"),
				EmbeddedNATSListen:  c.String("embedded-nats-listen"),
				NATSCreds:           c.String("nats-creds"),
				NATSNKey:            c.String("nats-nkey"),
				NATSUser:            c.String("nats-user"),
				NATSPassword:        c.String("nats-password"),
				NATSToken:           c.String("nats-token"),
				NATSTLSCA:           c.String("nats-tls-ca"),
				NATSTLSCert:         c.String("nats-tls-cert"),
				NATSTLSKey:          c.String("nats-tls-key"),
				NATSReconnectBuffer: c.Int("nats-reconnect-buffer"),
				Maps:                c.StringSlice("map"),
				Inbound:             c.StringSlice("inbound"),
				RequestTimeout:      c.Duration("request-timeout"),
				MaxInflightRequests: c.Int("max-inflight-requests"),
				CORSOrigins:         c.StringSlice("cors-origin"),
				PingInterval:        c.Duration("ping-interval"),
				PingTimeout:         c.Duration("ping-timeout"),
				MaxPayload:          c.Int("max-payload"),
				MaxQueueBytes:       c.Int("max-queue-bytes"),
				MaxQueueMessages:    c.Int("max-queue-messages"),
				SlowPolicy:          c.String("slow-policy"),
				WriteTimeout:        c.Duration("write-timeout"),
				MaxConnections:      c.Int("max-connections"),
				MaxConnectionsPerIP: c.Int("max-connections-per-ip"),
				HandshakeTimeout:    c.Duration("handshake-timeout"),
				AllowEIO3:           c.Bool("allow-eio3"),
				ShutdownTimeout:     c.Duration("shutdown-timeout"),
				Logger:              logger,
			})
			if err != nil {
				return cli.Exit("natsock: "+err.Error(), 2)
			}
			ctx, stop := signalContext()
			defer stop()
			return b.Run(ctx)
		},
	}
}
