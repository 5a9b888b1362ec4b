package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bridge"
)

// healthBodyLimit bounds what health reads of an answer to quote it.
const healthBodyLimit = 512

func healthCommand() *cli.Command {
	return &cli.Command{
		Name:  "health",
		Usage: "probe a running natsock's /readyz (or --url) and exit 0 if it answers 2xx, 1 if not",
		Description: `Sends one GET to --url and exits 0 when the answer is 2xx, or prints why not and
exits 1: the status and the first line of the body ("not ready: NATS not
connected ..."), or the connection error. It is the container's health check
(images built FROM scratch or distroless have no curl or wget): Docker's
HEALTHCHECK runs it inside the container, where NATSOCK_LISTEN is the one serve
reads, so without --url it probes /readyz on that address (127.0.0.1 when the
host is empty or unspecified, default ` + bridge.DefaultListen + `). No proxy is used.

Examples:
  natsock health
  natsock health --url http://127.0.0.1:3000/healthz
  NATSOCK_LISTEN=:8080 natsock health --timeout 2s`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", EnvVars: env("HEALTH_URL"),
				Usage:       "URL to probe",
				DefaultText: "http://HOST:PORT/readyz from NATSOCK_LISTEN, else " + healthURL(bridge.DefaultListen)},
			&cli.DurationFlag{Name: "timeout", Value: 3 * time.Second, EnvVars: env("HEALTH_TIMEOUT"),
				Usage: "bound on connecting and answering"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("natsock health: takes no arguments; did you mean --url "+c.Args().First()+"?", 2)
			}
			target := c.String("url")
			if target == "" {
				listen := bridge.DefaultListen
				if v := os.Getenv("NATSOCK_LISTEN"); v != "" {
					listen = v
				}
				if _, _, err := net.SplitHostPort(listen); err != nil {
					return cli.Exit(fmt.Sprintf("natsock health: NATSOCK_LISTEN=%q: %v; give --url", listen, err), 2)
				}
				target = healthURL(listen)
			}
			if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return cli.Exit(fmt.Sprintf("natsock health: --url %q: want an http:// or https:// URL", target), 2)
			}
			if c.Duration("timeout") <= 0 {
				return cli.Exit("natsock health: --timeout must be positive", 2)
			}
			status, err := probe(c.Context, target, c.Duration("timeout"))
			if err != nil {
				return cli.Exit("natsock health: "+err.Error(), 1)
			}
			fmt.Fprintln(c.App.Writer, status)
			return nil
		},
	}
}

// healthURL is the /readyz URL of a server listening on listen
// ("host:port"), reached over loopback when the host is empty or
// unspecified (0.0.0.0, ::).
func healthURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen + "/readyz"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}

// probe GETs target within timeout, without a proxy, and returns the
// answer's status line if it is 2xx; otherwise an error naming the status
// and the body's first line, or why there was no answer.
func probe(ctx context.Context, target string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", target, err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: no answer: %w", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, healthBodyLimit))
	first, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	line := target + ": " + resp.Status
	if first != "" {
		line += ": " + first
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", errors.New(line)
	}
	return line, nil
}
