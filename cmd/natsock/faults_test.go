package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/internal/bridgetest"
)

// loadClient is a raw websocket client that counts the "load" events it
// reads, checks they come without a gap, and keeps how its connection
// ended.
type loadClient struct {
	s    *bridgetest.Socket
	got  atomic.Int64
	next int64
	done chan struct{}
	err  error // a gap, or what ended the connection
}

func (c *loadClient) read() {
	defer close(c.done)
	for {
		name, args, err := c.s.NextEvent(time.Minute)
		if err != nil {
			c.err = err
			return
		}
		if name != "load" || len(args) != 1 {
			continue
		}
		n, _ := strconv.ParseInt(string(args[0]), 10, 64)
		if c.got.Load() > 0 && n != c.next {
			c.err = fmt.Errorf("got %d after %d: a gap", n, c.next-1)
			return
		}
		c.next = n + 1
		c.got.Add(1)
	}
}

// testServeSIGTERMUnderLoad sends SIGTERM while a publisher pours
// messages through serve's embedded NATS to websocket clients: serve exits
// 0 within its --shutdown-timeout (plus a margin for the process to end),
// every client gets a close frame saying "server shutting down" after a
// gap-free stream, and nothing panics.
func testServeSIGTERMUnderLoad(t *testing.T, bin string) {
	const clients = 20
	serve := startServe(t, bin, "--map", "load=load")
	natsURL, url := serve.ready()

	var loads []*loadClient
	for range clients {
		ctx, cancel := context.WithTimeout(context.Background(), startBound)
		s, err := bridgetest.DialSocket(ctx, url)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		c := &loadClient{s: s, done: make(chan struct{})}
		go c.read()
		loads = append(loads, c)
	}

	nc, err := nats.Connect(natsURL, nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var published atomic.Int64
	wg.Go(func() {
		for n := 0; n < 1_000_000; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if nc.Publish("load", strconv.AppendInt(nil, int64(n), 10)) != nil {
				return // serve's NATS is gone
			}
			published.Add(1)
			if n%64 == 63 && nc.Flush() != nil {
				return
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()

	bridgetest.Eventually(t, startBound, "every client receiving the stream", func() bool {
		for _, c := range loads {
			if c.got.Load() < 10 {
				return false
			}
		}
		return true
	})
	if err := serve.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := serve.waitExit(shutdownLimit + 5*time.Second); code != 0 {
		t.Errorf("natsock serve exited %d after SIGTERM under load, want 0", code)
	}
	least := int64(-1)
	for i, c := range loads {
		select {
		case <-c.done:
		case <-time.After(startBound):
			t.Fatalf("client %d still connected after serve exited", i)
		}
		var closed *bridgetest.Closed
		if !errors.As(c.err, &closed) || closed.Code != ws.StatusGoingAway || closed.Reason != "server shutting down" {
			t.Errorf("client %d ended with %v, want close 1001 \"server shutting down\"", i, c.err)
		}
		if least < 0 || c.got.Load() < least {
			least = c.got.Load()
		}
	}
	if out := serve.output(); strings.Contains(out, "panic") || strings.Contains(out, "DATA RACE") {
		t.Errorf("natsock serve panicked or raced:\n%s", out)
	}
	t.Logf("%d published; each of %d clients got at least %d, gap-free, then close 1001", published.Load(), clients, least)
}

// testServeBadFlags: flag and environment values that cannot work stop
// serve before it serves, with a message naming the flag and why.
func testServeBadFlags(t *testing.T, bin string) {
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"a word for a number", nil, []string{"--max-connections", "abc"}, []string{`--max-connections "abc": not a whole number`}},
		{"a number past int64", nil, []string{"--max-queue-bytes", "99999999999999999999"}, []string{`--max-queue-bytes "99999999999999999999": out of range`}},
		{"a duration without a unit", nil, []string{"--handshake-timeout", "5"}, []string{`--handshake-timeout "5": not a duration`}},
		{"a negative write timeout", nil, []string{"--write-timeout", "-1s"}, []string{`--write-timeout "-1s": must not be negative`}},
		{"a negative connection limit", nil, []string{"--max-connections", "-1"}, []string{`--max-connections "-1": must not be negative`}},
		{"a per-address limit above the total", nil, []string{"--max-connections", "5", "--max-connections-per-ip", "10"}, []string{`--max-connections-per-ip "10": is above the bound on all connections (5)`}},
		{"a reconnect buffer of -5", nil, []string{"--nats-reconnect-buffer", "-5"}, []string{`--nats-reconnect-buffer "-5"`, "-1 to hold nothing"}},
		{"an unknown slow policy", nil, []string{"--slow-policy", "drop"}, []string{`--slow-policy "drop"`, "disconnect or drop-oldest"}},
		{"a misspelled flag", nil, []string{"--max-conections", "5"}, []string{"flag provided but not defined: -max-conections"}},
		{"a bad log level", nil, []string{"--log-level", "loud"}, []string{`--log-level "loud": want debug, info, warn or error`}},
		{"a bad log format", nil, []string{"--log-format", "xml"}, []string{`--log-format "xml": want text or json`}},
		{"a word in an environment variable", []string{"NATSOCK_MAX_CONNECTIONS=lots"}, nil, []string{`NATSOCK_MAX_CONNECTIONS="lots": not a whole number`}},
		{"a bad duration in an environment variable", []string{"NATSOCK_HANDSHAKE_TIMEOUT=soon"}, nil, []string{`NATSOCK_HANDSHAKE_TIMEOUT="soon": not a duration`}},
		{"a subject token with a wildcard inside", nil, []string{"--map", "tasks.as*=e"}, []string{`--map "tasks.as*=e"`, "mixes a wildcard"}},
		{"an inbound subject with a wildcard", nil, []string{"--inbound", "ev=tasks.>"}, []string{`--inbound "ev=tasks.>"`, "must be literal"}},
		{"a word for a number and a negative timeout at once", nil, []string{"--max-payload", "many", "--write-timeout", "-1s"},
			[]string{`--max-payload "many": not a whole number`, `--write-timeout "-1s": must not be negative`}},
		{"a missing config file", nil, []string{"--config", "no-such-natsock.yaml"}, []string{`--config "no-such-natsock.yaml": open no-such-natsock.yaml: no such file`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--embedded-nats-listen", "127.0.0.1:0",
				"--map", "tasks.assigned=newTaskAssigned"}, tc.args...)
			code, out := runEnv(t, bin, tc.env, "", args...)
			if code == 0 {
				t.Fatalf("natsock %s exited 0:\n%s", strings.Join(args, " "), out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("natsock said %q; want it to say %q", out, w)
				}
			}
			if strings.Contains(out, "natsock serving") || strings.Contains(out, "panic") {
				t.Errorf("natsock served or panicked with a bad value:\n%s", out)
			}
		})
	}
}

// testServeHelp: each limit's flag is in --help with its default and its
// environment variable.
func testServeHelp(t *testing.T, bin string) {
	code, out := run(t, bin, "", "serve", "--help")
	if code != 0 {
		t.Fatalf("natsock serve --help exited %d:\n%s", code, out)
	}
	for _, f := range []struct{ flag, def, env string }{
		{"--max-connections", "65536", "NATSOCK_MAX_CONNECTIONS"},
		{"--max-connections-per-ip", "0", "NATSOCK_MAX_CONNECTIONS_PER_IP"},
		{"--handshake-timeout", "10s", "NATSOCK_HANDSHAKE_TIMEOUT"},
		{"--write-timeout", "10s", "NATSOCK_WRITE_TIMEOUT"},
		{"--nats-reconnect-buffer", "8388608", "NATSOCK_NATS_RECONNECT_BUFFER"},
		{"--max-payload", "1000000", "NATSOCK_MAX_PAYLOAD"},
		{"--max-queue-bytes", "4194304", "NATSOCK_MAX_QUEUE_BYTES"},
		{"--max-queue-messages", "10000", "NATSOCK_MAX_QUEUE_MESSAGES"},
		{"--slow-policy", `"disconnect"`, "NATSOCK_SLOW_POLICY"},
	} {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), f.flag+" ") {
				line = l
			}
		}
		if !strings.Contains(line, "(default: "+f.def+")") || !strings.Contains(line, "[$"+f.env+"]") {
			t.Errorf("--help's line for %s is %q; want (default: %s) and [$%s]", f.flag, line, f.def, f.env)
		}
	}
}
