package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/metrics"
	"github.com/natsock/natsock/bridge/web"
)

// serveHTTP adds what the command serves beside socket.io to the
// bridge's listener: /metrics (or, with --metrics-listen, a listener of
// its own serving only /metrics) and the page at / (the demo with
// --demo). Then it runs the bridge until ctx ends, and stops the metrics
// listener after it.
func serveHTTP(ctx context.Context, b *bridge.Bridge, cfg *config, log *slog.Logger) error {
	o := cfg.opts
	m := metrics.New(b, log)
	var ln net.Listener
	metricsAt := metrics.Path
	if o.MetricsListen == "" {
		b.Handle("GET "+metrics.Path, m.Handler())
	} else {
		var err error
		if ln, err = metrics.Listen(o.MetricsListen); err != nil {
			return cli.Exit("natsock: "+cfg.describe("metrics-listen")+": "+err.Error(), 1)
		}
		metricsAt = ln.Addr().String()
	}
	info := pageInfo(b, o, metricsAt)
	if o.Demo {
		for pattern, h := range web.Demo(info, m.TotalsHandler()) {
			b.Handle(pattern, h)
		}
		log.Info("serving the demo page at /; it shows the rules in use to anyone who loads it")
	} else {
		b.Handle("GET /{$}", web.Index(info))
	}
	if ln == nil {
		return b.Run(ctx)
	}
	mctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- m.Serve(mctx, ln) }()
	err := b.Run(ctx)
	stop()
	return errors.Join(err, <-served)
}

// pageInfo is what the page at / says about this node, whose metrics
// are at metricsAt: a path on the main listener, or the address of their own.
func pageInfo(b *bridge.Bridge, o options, metricsAt string) web.Info {
	info := web.Info{Version: version(), SocketIOPath: o.Bridge.Path, Metrics: metricsAt}
	if info.SocketIOPath == "" {
		info.SocketIOPath = bridge.DefaultPath
	}
	for _, m := range b.MapRules() {
		r := m.Rule
		info.Maps = append(info.Maps, web.Map{Rule: r.String(), Subject: r.Pattern, Event: r.Event,
			Namespace: r.Namespace, Room: r.Room})
	}
	for _, in := range b.InboundRules() {
		r := in.Rule
		info.Inbound = append(info.Inbound, web.Inbound{Rule: r.String(), Event: r.Event, Subject: r.Subject,
			Restricted: len(r.Require) > 0})
	}
	return info
}

// describe names where the setting whose flag is flag got its value:
// `--metrics-listen "..."`, the environment variable, or the file line.
func (cfg *config) describe(flag string) string {
	for _, s := range cfg.table {
		if s.flag != flag {
			continue
		}
		o := cfg.origins[s]
		if o == nil {
			o = &origin{s: s, from: fromDefault}
		}
		return o.describe(0)
	}
	return "--" + flag
}

// addrField is a string field holding "host:port" (port 0: any free
// port), or nothing.
func addrField(at func(*options) *string) field {
	return scalar[string]{at: at, quote: true,
		parse: func(s string) (string, error) {
			if s == "" {
				return s, nil
			}
			_, port, err := net.SplitHostPort(s)
			if err != nil {
				return "", fmt.Errorf("want host:port (\"127.0.0.1:9090\", \":9090\"): %v", err)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
			}
			return s, nil
		},
		format: func(s string) string { return s }}
}
