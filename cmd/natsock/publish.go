package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bridge"
)

func publishCommand() *cli.Command {
	return &cli.Command{
		Name:      "publish",
		Usage:     "publish DATA (or standard input) to SUBJECT",
		ArgsUsage: "SUBJECT [DATA]",
		Description: `Publishes one message to SUBJECT on --nats-url: DATA if given, else all of
standard input. Each --header K:V adds a NATS header; Natsock-Published-At, the
publish time in Unix nanoseconds, is set unless given, so that natsock serve's
natsock_emit_latency_seconds measures from it. It waits until the server
has the message (a flush), and exits 1 if it cannot connect or the server does
not confirm within --timeout. natsock serve emits the message to the sockets
its --map rules send SUBJECT to; JSON data arrives as a JSON value, anything
else as a string.

Examples:
  natsock publish tasks.assigned '{"taskId":"42","assignee":"ana"}'
  echo '{"text":"build done"}' | natsock publish notify.user.ana
  natsock publish --header Nats-Msg-Id:7f3a --nats-url nats://10.0.0.5:4222 --timeout 2s tasks.assigned '{}'`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "nats-url", Value: "nats://127.0.0.1:4222", EnvVars: []string{"NATSOCK_NATS_URL", "NATS_URL"}, Usage: "NATS server to publish to"},
			&cli.StringSliceFlag{Name: "header", EnvVars: env("HEADER"), Usage: "K:V message header (repeatable)"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, EnvVars: env("PUBLISH_TIMEOUT"), Usage: "bound on connecting and publishing"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return cli.Exit("natsock publish: want SUBJECT [DATA]", 2)
			}
			subject := c.Args().Get(0)
			if subject == "" || strings.ContainsAny(subject, " \t\r\n*>") {
				return cli.Exit(fmt.Sprintf("natsock publish: %q is not a subject to publish to (no spaces or wildcards)", subject), 2)
			}
			var data []byte
			if c.NArg() == 2 {
				data = []byte(c.Args().Get(1))
			} else {
				var err error
				if data, err = io.ReadAll(os.Stdin); err != nil {
					return cli.Exit("natsock publish: reading standard input: "+err.Error(), 1)
				}
			}
			msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
			for _, h := range c.StringSlice("header") {
				k, v, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return cli.Exit(fmt.Sprintf("natsock publish: --header %q: want K:V", h), 2)
				}
				msg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			url := c.String("nats-url")
			timeout := c.Duration("timeout")
			nc, err := nats.Connect(url, nats.Name("natsock-publish"), nats.Timeout(timeout), nats.MaxReconnects(0))
			if err != nil {
				return cli.Exit(fmt.Sprintf("natsock publish: cannot connect to NATS at %s: %v", url, err), 1)
			}
			defer nc.Close()
			if msg.Header.Get(bridge.HeaderPublishedAt) == "" {
				msg.Header.Set(bridge.HeaderPublishedAt, strconv.FormatInt(time.Now().UnixNano(), 10))
			}
			if err := nc.PublishMsg(msg); err != nil {
				return cli.Exit(fmt.Sprintf("natsock publish: %s: %v", subject, err), 1)
			}
			if err := nc.FlushTimeout(timeout); err != nil {
				return cli.Exit(fmt.Sprintf("natsock publish: %s: not confirmed by the server: %v", subject, err), 1)
			}
			return nil
		},
	}
}
