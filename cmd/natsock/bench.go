package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bench"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure a socket.io server: connect clients, publish through NATS, report what they received",
		Description: `Opens --clients socket.io clients against --url (natsock or any socket.io v4
server), publishes --messages timestamped messages of --size bytes to --subject
through NATS, at --rate messages/s or, with --rate 0, as fast as the slowest
client keeps up within --window, and reports connect time, delivered frames/s,
lost and duplicated messages, latency from publish to receive, and the bench's
own CPU. With --pid it also reports the server's memory per connection and
its CPU per frame. --messages 0 only connects the clients and holds them for
--hold: the idle-connection measure. The server must map --subject to --event.

--scenario targeted measures delivery to one user at a time: client i is user
i+1 and presents an HS256 JWT signed with --jwt-secret whose "sub" is its user
id, in its CONNECT auth {"token": ...}; each message goes to one user chosen at
random, on --subject.<user> (notify.user.<user> by default), and carries its
user and a per-user sequence number, so every client checks that what it got
was its own. It reports deliveries/s, lost messages (published to a user, never
received by its client), misdelivered ones (received by another user's client),
duplicates, latency, and with --pid the server's CPU per targeted message. The
server must send --subject.<user> as --event to that user's client alone.

--scenario inbound measures the other direction: every client emits --event
(default taskAssigned) as fast as --window events in flight each allows (default
16), and the bench counts what reaches --subject (default tasks.inbound) on NATS:
events/s, lost, duplicated, emit-to-NATS latency, and with --pid the server's CPU
per event. --scenario ack emits with acknowledgements, --window outstanding per
client (default 4), while the bench answers every NATS request on --subject with
its own body: round trips/s, ack errors, latency, and the server's CPU per ack.
The server must map --event to --subject (natsock: --inbound taskAssigned=tasks.inbound).

--scenario storm measures a reconnect storm between two natsock nodes with
connection state recovery (serve --recovery, one stream, one NATS): every client
connects to node A (--url, whose process id is --pid) and keeps the pid of its
CONNECT answer and the offset of every event; messages flow at --rate; after
--kill-after the bench SIGKILLs node A, and each client, after socket.io-client's
--reconnect-delay (randomized, doubling up to 5s), resumes on node B
(--failover-url) with auth {pid, offset}. It reports how many clients node B
recovered (same pid) and how long after the kill (p50, p99, all), when each held
every message published before it resumed, what was published during the
outage, and the messages each client lost or got twice.

natsock bench chart draws bench/compare.sh's results as SVG charts (see its --help).

Examples:
  natsock bench --clients 1000 --messages 100000 --size 256
  natsock bench --transport polling --clients 200 --rate 500 --duration 30s
  natsock bench --messages 0 --clients 10000 --source-ips 4 --hold 10s --pid "$(pidof natsock)"
  natsock bench --scenario targeted --jwt-secret "$SECRET" --clients 500 --messages 20000 --json
  natsock bench --scenario ack --event taskAssigned --subject tasks.inbound --clients 100 --window 4
  natsock bench --scenario storm --url http://127.0.0.1:3001 --pid "$PID_A" --failover-url http://127.0.0.1:3002 --clients 10000 --rate 20 --messages 200`,
		Subcommands: []*cli.Command{benchChartCommand()},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Value: "http://127.0.0.1:3000", EnvVars: env("BENCH_URL"), Usage: "socket.io server to measure"},
			&cli.StringFlag{Name: "path", Value: "/socket.io/", EnvVars: env("BENCH_PATH"), Usage: "the server's socket.io path"},
			&cli.StringFlag{Name: "transport", Value: bench.TransportWebSocket, EnvVars: env("BENCH_TRANSPORT"), Usage: "websocket or polling (HTTP long-polling)"},
			&cli.IntFlag{Name: "clients", Aliases: []string{"c"}, Value: 100, EnvVars: env("BENCH_CLIENTS"), Usage: "socket.io clients to open"},
			&cli.StringFlag{Name: "source-ips", EnvVars: env("BENCH_SOURCE_IPS"), Usage: "local addresses to dial from, comma-separated, or a count N for 127.0.0.1-127.0.0.N (one address reaches about 28,000 connections to a server)"},
			&cli.IntFlag{Name: "connect-concurrency", Value: 100, EnvVars: env("BENCH_CONNECT_CONCURRENCY"), Usage: "handshakes in flight while connecting"},
			&cli.IntFlag{Name: "read-buffer", Value: 32 << 10, EnvVars: env("BENCH_READ_BUFFER"), Usage: "each client's read buffer, in bytes"},
			&cli.DurationFlag{Name: "read-interval", Value: 200 * time.Microsecond, EnvVars: env("BENCH_READ_INTERVAL"), Usage: "websocket clients' reader sleeps this long between rounds of reads, so one read takes many frames (latency comes from kernel receive timestamps); negative: no sleep"},
			&cli.StringFlag{Name: "scenario", Value: bench.ScenarioBroadcast, EnvVars: env("BENCH_SCENARIO"), Usage: "broadcast (every message to every client), targeted (each message to one client's user; needs --jwt-secret), inbound (every client emits --event; counts what reaches --subject on NATS), ack (every client emits with acks; the bench answers each NATS request) or storm (node A, --pid, is SIGKILLed and the clients resume on --failover-url)"},
			&cli.StringFlag{Name: "jwt-secret", EnvVars: env("BENCH_JWT_SECRET"), Usage: "HS256 secret: each client presents a JWT whose sub is its user id (client i is user i+1) in its CONNECT auth {token}"},
			&cli.IntFlag{Name: "messages", Aliases: []string{"m"}, Value: 10000, EnvVars: env("BENCH_MESSAGES"), Usage: "messages to publish; 0 only connects and holds the clients"},
			&cli.IntFlag{Name: "size", Value: 128, EnvVars: env("BENCH_SIZE"), Usage: "message size in bytes, padding included"},
			&cli.Float64Flag{Name: "rate", Value: 0, EnvVars: env("BENCH_RATE"), Usage: "messages per second; 0: as fast as the slowest client keeps up within --window"},
			&cli.IntFlag{Name: "window", Value: 0, EnvVars: env("BENCH_WINDOW"), Usage: "with --rate 0, messages published ahead of the slowest client; targeted: not yet received, all clients together (0: 1000, or fewer to stay within 1 MiB)"},
			&cli.DurationFlag{Name: "duration", EnvVars: env("BENCH_DURATION"), Usage: "stop publishing after this long even if fewer than --messages went out (0: no bound)"},
			&cli.DurationFlag{Name: "drain", Value: 5 * time.Second, EnvVars: env("BENCH_DRAIN"), Usage: "after publishing, how long to wait for the clients without any progress"},
			&cli.StringFlag{Name: "nats-url", Value: "nats://127.0.0.1:4222", EnvVars: []string{"NATSOCK_BENCH_NATS_URL", "NATS_URL"}, Usage: "NATS server to publish through"},
			&cli.StringFlag{Name: "subject", EnvVars: env("BENCH_SUBJECT"), Usage: "subject to publish to; targeted: the prefix of --subject.<user> (default: tasks.assigned; targeted: notify.user)"},
			&cli.StringFlag{Name: "event", EnvVars: env("BENCH_EVENT"), Usage: "event the server emits for --subject (default: newTaskAssigned; targeted: notification)"},
			&cli.DurationFlag{Name: "hold", Value: 5 * time.Second, EnvVars: env("BENCH_HOLD"), Usage: "with --messages 0, how long to hold the clients before measuring"},
			&cli.IntFlag{Name: "pid", EnvVars: env("BENCH_PID"), Usage: "the server's process id: report its memory per connection and CPU per frame; storm: node A, which the bench SIGKILLs"},
			&cli.StringFlag{Name: "failover-url", EnvVars: env("BENCH_FAILOVER_URL"), Usage: "storm: node B, where the clients resume once node A is killed"},
			&cli.DurationFlag{Name: "kill-after", Value: 2 * time.Second, EnvVars: env("BENCH_KILL_AFTER"), Usage: "storm: how long to publish before killing node A"},
			&cli.DurationFlag{Name: "reconnect-delay", Value: time.Second, EnvVars: env("BENCH_RECONNECT_DELAY"), Usage: "storm: socket.io-client's reconnectionDelay: each client waits this long, randomized by half either way, before resuming on node B"},
			&cli.DurationFlag{Name: "timeout", Value: 2 * time.Minute, EnvVars: env("BENCH_TIMEOUT"), Usage: "bound on the whole run"},
			&cli.BoolFlag{Name: "json", EnvVars: env("BENCH_JSON"), Usage: "print the result as one JSON object"},
			&cli.BoolFlag{Name: "no-progress", EnvVars: env("BENCH_NO_PROGRESS"), Usage: "no progress bar, even on a terminal"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("natsock bench: takes no arguments", 2)
			}
			ips, err := bench.ParseSourceIPs(c.String("source-ips"))
			if err != nil {
				return cli.Exit("natsock "+err.Error(), 2)
			}
			cfg := bench.Config{
				URL:                c.String("url"),
				Path:               c.String("path"),
				Transport:          c.String("transport"),
				Clients:            c.Int("clients"),
				SourceIPs:          ips,
				ConnectConcurrency: c.Int("connect-concurrency"),
				ReadBuffer:         c.Int("read-buffer"),
				ReadInterval:       c.Duration("read-interval"),
				Scenario:           c.String("scenario"),
				JWTSecret:          c.String("jwt-secret"),
				Messages:           c.Int("messages"),
				Size:               c.Int("size"),
				Rate:               c.Float64("rate"),
				Window:             c.Int("window"),
				Duration:           c.Duration("duration"),
				Drain:              c.Duration("drain"),
				NATSURL:            c.String("nats-url"),
				Subject:            c.String("subject"),
				Event:              c.String("event"),
				Hold:               c.Duration("hold"),
				PID:                c.Int("pid"),
				FailoverURL:        c.String("failover-url"),
				KillAfter:          c.Duration("kill-after"),
				ReconnectDelay:     c.Duration("reconnect-delay"),
				Timeout:            c.Duration("timeout"),
			}
			if err := cfg.Validate(); err != nil {
				return cli.Exit("natsock "+err.Error(), 2)
			}
			if !c.Bool("no-progress") && isTerminal(os.Stderr) {
				cfg.Progress = os.Stderr
			}
			ctx, stop := signalContext()
			defer stop()
			res, runErr := bench.Run(ctx, cfg)
			if res != nil {
				if c.Bool("json") {
					enc := json.NewEncoder(os.Stdout)
					if err := enc.Encode(res); err != nil {
						return err
					}
				} else if err := res.WriteText(os.Stdout); err != nil {
					return err
				}
			}
			if runErr != nil {
				if errors.Is(runErr, bench.ErrTimeout) && res != nil {
					return cli.Exit(fmt.Sprintf("natsock bench: %v; the figures above are partial", runErr), 1)
				}
				return cli.Exit(fmt.Sprintf("natsock bench: %v", runErr), 1)
			}
			return nil
		},
	}
}

// isTerminal reports whether f is a character device, such as a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
