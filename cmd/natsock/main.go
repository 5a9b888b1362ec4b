// Command natsock bridges NATS to socket.io: `natsock serve` re-emits NATS
// subjects as socket.io events to unchanged socket.io clients, and
// `natsock publish` publishes a message, for scripts and tests.
//
// # Configuration
//
// What serve is told comes from one table (settings.go): each row is a
// flag, its environment variable and its config-file key, filling one
// field of bridge.Config (or of the command's own options). The flags,
// the environment variables, the file's keys and --help are all made from
// it; a default is never written here but read from the layer that owns
// the field (bridge.DefaultConfig). A flag beats its environment variable,
// which beats the file named by --config (configfile.go); resolve.go
// applies that order and turns bridge.Config.Validate's field errors back
// into the flag, variable or file line the value came from. `natsock
// check` runs all of it without starting anything.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "natsock:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:     "natsock",
		Usage:    "bridge NATS subjects to socket.io clients",
		Version:  version(),
		Commands: []*cli.Command{serveCommand(), checkCommand(), publishCommand(), benchCommand(), versionCommand(), healthCommand(), completionCommand(), adminHashCommand()},
	}
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// newLogger logs to standard error at level (debug, info, warn or error)
// in format (text or json); the settings table has checked both.
func newLogger(level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
