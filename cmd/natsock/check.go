package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func checkCommand() *cli.Command {
	src := newSources()
	return &cli.Command{
		Name:  "check",
		Usage: "check a configuration (flags, environment, --config file) without starting anything",
		Description: `Reads the configuration exactly as natsock serve does, from its flags, the
environment and the file named by --config (or NATSOCK_CONFIG), and checks all
of it: the rules, the limits, the addresses. It connects to nothing and listens
on nothing. It prints "ok" and exits 0, or prints every problem, each naming
the flag, environment variable or file line it came from, and exits 2.

Examples:
  natsock check --config natsock.yaml
  NATSOCK_CONFIG=natsock.yaml natsock check --max-connections 1000`,
		Flags: src.flags,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("natsock check: takes no arguments; did you mean --config "+c.Args().First()+"?", 2)
			}
			cfg, err := src.load()
			if err != nil {
				return badConfig(lines(err))
			}
			if problems := cfg.problems(); len(problems) > 0 {
				return badConfig(problems)
			}
			fmt.Fprintln(c.App.Writer, "ok")
			return nil
		},
	}
}
