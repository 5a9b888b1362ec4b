// Command natsock-conformance serves the reference handlers of the official
// Engine.IO and Socket.IO protocol test suites from natsock's engine, so
// that the suites (and natsock's own conformance tests) can check it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/natsock/natsock/protocol/conformance"
)

func main() {
	listen := flag.String("listen", "localhost:3000", "address to serve /engine.io/ and /socket.io/ on")
	verbose := flag.Bool("v", false, "log every protocol violation (debug level)")
	flag.Parse()
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(*listen, logger); err != nil {
		fmt.Fprintln(os.Stderr, "natsock-conformance:", err)
		os.Exit(1)
	}
}

func run(listen string, logger *slog.Logger) error {
	srv, err := conformance.New(logger)
	if err != nil {
		return err
	}
	hs := &http.Server{Addr: listen, Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	logger.Info("natsock-conformance listening", "addr", listen)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(hs.Shutdown(shutdown), srv.Close(shutdown))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
