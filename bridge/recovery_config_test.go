package bridge_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// TestRecoveryConfigErrors: each bad recovery setting is one FieldError
// naming its field and saying why; good ones pass.
func TestRecoveryConfigErrors(t *testing.T) {
	t.Parallel()
	base := func() bridge.Config { return bridge.Config{Maps: []string{"a=b"}, Recovery: true} }
	for _, tc := range []struct {
		name   string
		change func(*bridge.Config)
		field  string // "" for a valid config
		reason string
	}{
		{"the defaults", func(*bridge.Config) {}, "", ""},
		{"a window of a minute on a cluster of three", func(c *bridge.Config) {
			c.RecoveryWindow, c.NATSURL, c.RecoveryReplicas, c.RecoveryStream = time.Minute, "nats://127.0.0.1:4222", 3, "my-app_1"
		}, "", ""},
		{"a negative window", func(c *bridge.Config) { c.RecoveryWindow = -time.Second }, "RecoveryWindow", "negative"},
		{"a window shorter than a second", func(c *bridge.Config) { c.RecoveryWindow = 500 * time.Millisecond }, "RecoveryWindow", "shorter than 1s"},
		{"a stream name with a dot", func(c *bridge.Config) { c.RecoveryStream = "my.stream" }, "RecoveryStream", `not "."`},
		{"a stream name with a space", func(c *bridge.Config) { c.RecoveryStream = "my stream" }, "RecoveryStream", "letters, digits"},
		{"a stream name too long", func(c *bridge.Config) { c.RecoveryStream = strings.Repeat("s", 65) }, "RecoveryStream", "over 64"},
		{"replicas past five", func(c *bridge.Config) { c.NATSURL, c.RecoveryReplicas = "nats://127.0.0.1:4222", 7 }, "RecoveryReplicas", "1 to 5"},
		{"three replicas on the embedded server", func(c *bridge.Config) { c.RecoveryReplicas = 3 }, "RecoveryReplicas", "embedded"},
	} {
		c := base()
		tc.change(&c)
		err := c.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var fe *bridge.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Err.Error(), tc.reason) {
			t.Errorf("%s: %v; want a FieldError on %s saying %q", tc.name, err, tc.field, tc.reason)
		}
		if !errors.Is(err, bridge.ErrConfig) {
			t.Errorf("%s: %v does not wrap ErrConfig", tc.name, err)
		}
	}
	if d := bridge.DefaultConfig(); d.RecoveryWindow != bridge.DefaultRecoveryWindow || d.RecoveryStream != bridge.DefaultRecoveryStream ||
		d.RecoveryReplicas != 1 || d.EmbeddedNATSStoreDir != bridge.DefaultEmbeddedNATSStoreDir() || d.Recovery {
		t.Errorf("DefaultConfig's recovery: %v %q %d %q %v", d.RecoveryWindow, d.RecoveryStream, d.RecoveryReplicas, d.EmbeddedNATSStoreDir, d.Recovery)
	}
}

// runUntilError runs a bridge that must fail to start, and returns Run's
// error.
func runUntilError(t *testing.T, cfg bridge.Config) error {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := bridge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), recoveryBound)
	defer cancel()
	return b.Run(ctx)
}

// TestRecoveryStreamThatIsNotOurs: a stream of the configured name made by
// someone else, without the mapped subjects, stops the start with an
// error that says what it lacks and what to do; one natsock made is
// updated to the new rules.
func TestRecoveryStreamThatIsNotOurs(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	nc := connect(t, js.ClientURL())
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := jsc.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	cfg := recoveryConfig(js.ClientURL())
	cfg.RecoveryStream = "ORDERS"
	err = runUntilError(t, cfg)
	if !errors.Is(err, bridge.ErrStreamConfig) || !strings.Contains(err.Error(), `does not hold subject "news.*"`) ||
		!strings.Contains(err.Error(), "--recovery-stream") {
		t.Errorf("binding someone else's stream: %v", err)
	}

	// The subjects of another stream: JetStream keeps a subject in one.
	cfg = bridge.Config{NATSURL: js.ClientURL(), Maps: []string{"orders.new=order"}, Recovery: true}
	err = runUntilError(t, cfg)
	if !errors.Is(err, bridge.ErrStreamConfig) || !strings.Contains(err.Error(), "overlap another stream") {
		t.Errorf("overlapping another stream: %v", err)
	}

	// natsock's own stream follows the rules.
	tb := startBridge(t, recoveryConfig(js.ClientURL()))
	if err := tb.stop(t); err != nil {
		t.Fatal(err)
	}
	cfg = recoveryConfig(js.ClientURL())
	cfg.Maps = append(cfg.Maps, "alerts.>=alert")
	startBridge(t, cfg)
	st, err := jsc.Stream(ctx, bridge.DefaultRecoveryStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.Subjects; strings.Join(got, " ") != "news.* notify.user.* alerts.>" {
		t.Errorf("natsock's stream after the rules changed holds %q", got)
	}
}

// TestReplayAfterBounds: replayAfter passes on the messages after an
// offset in order, says ErrReplayTooOld once the one right after it has
// expired and ErrReplayAhead for an offset the stream never reached.
func TestReplayAfterBounds(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	cfg := recoveryConfig(js.ClientURL())
	cfg.RecoveryWindow = bridge.MinRecoveryWindow
	tb := startBridge(t, cfg)
	nc := connect(t, js.ClientURL())
	publishAll(t, nc, "news.a", `"1"`, `"2"`)
	publishAll(t, nc, "unmapped.x", `"never"`) // not in the stream
	publishAll(t, nc, "notify.user.al", `"3"`)
	waitDelivered(t, tb, 3)

	ctx := context.Background()
	var got []string
	last, err := bridge.ReplayAfter(tb.Bridge, ctx, 1, func(seq uint64, subject string, _ nats.Header, data []byte) error {
		got = append(got, subject+"="+string(data))
		return nil
	})
	if err != nil || last != 3 || strings.Join(got, " ") != `news.a="2" notify.user.al="3"` {
		t.Errorf("after 1: %q, last %d, %v", got, last, err)
	}
	if last, err := bridge.ReplayAfter(tb.Bridge, ctx, 3, nil); err != nil || last != 3 {
		t.Errorf("after the last: last %d, %v; want 3 and nothing", last, err)
	}
	if _, err := bridge.ReplayAfter(tb.Bridge, ctx, 99, nil); !errors.Is(err, bridge.ErrReplayAhead) {
		t.Errorf("after 99: %v, want ErrReplayAhead", err)
	}
	bridgetest.Eventually(t, recoveryBound, "the first messages expired", func() bool {
		_, err := bridge.ReplayAfter(tb.Bridge, ctx, 0, func(uint64, string, nats.Header, []byte) error { return nil })
		return errors.Is(err, bridge.ErrReplayTooOld)
	})
	stop := errors.New("stop")
	publishAll(t, nc, "news.a", `"4"`)
	waitDelivered(t, tb, 4)
	if _, err := bridge.ReplayAfter(tb.Bridge, ctx, 3, func(uint64, string, nats.Header, []byte) error { return stop }); err != stop {
		t.Errorf("fn's error: %v, want it returned as is", err)
	}
}
