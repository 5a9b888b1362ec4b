package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bridge"
)

func env(name string) []string { return []string{"NATSOCK_" + name} }

func serveCommand() *cli.Command {
	src := newSources()
	return &cli.Command{
		Name:  "serve",
		Usage: "serve socket.io clients the NATS subjects named by --map",
		Description: `Each --map SUBJECT=EVENT subscribes to SUBJECT (wildcards * and > allowed) and
emits every message to every connected socket as EVENT; {N} in EVENT is the
subject's N-th token. When several maps match a subject, the first one given
wins. Each --inbound EVENT=SUBJECT publishes a client's EVENT to SUBJECT (a NATS
request when the client asks for an acknowledgement). With no --nats-url, an
embedded NATS server starts on --embedded-nats-listen.
Repeatable flags also take comma-separated lists (so names may not contain commas).

Every setting can also come from its environment variable (shown below) or from
a YAML file named by --config (or NATSOCK_CONFIG), under its key: maps, inbound,
nats.url, max_payload, ... (see natsock check). A flag beats an environment
variable, which beats the file; what none of them gives keeps its default.

Examples:
  natsock serve --map tasks.assigned=newTaskAssigned --inbound taskAssigned=tasks.assigned --cors-origin '*'
  natsock serve --config natsock.yaml --log-level debug
  NATSOCK_MAP='notify.*={2}' NATSOCK_NATS_URL=nats://10.0.0.5:4222 natsock serve`,
		Flags: src.flags,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("natsock serve: takes no arguments; did you mean --map "+c.Args().First()+"?", 2)
			}
			cfg, err := src.load()
			if err != nil {
				return badConfig(lines(err))
			}
			if len(cfg.bad) > 0 {
				return badConfig(cfg.problems())
			}
			bc := cfg.opts.Bridge
			bc.Logger = newLogger(cfg.opts.LogLevel, cfg.opts.LogFormat)
			b, err := bridge.New(bc)
			if err != nil {
				return badConfig(cfg.explain(err))
			}
			ctx, stop := signalContext()
			defer stop()
			return serveHTTP(ctx, b, cfg, bc.Logger)
		},
	}
}

// badConfig is the exit (status 2) for a configuration with problems, one
// a line.
func badConfig(lines []string) error {
	return cli.Exit("natsock: "+strings.Join(lines, "\nnatsock: "), 2)
}
