package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/natsock/natsock/protocol/engine"
)

// TestZeroConfigMeansTheDefaultConstants: each default lives in one
// Default* constant, and a zero field means it, MaxConnections included
// (zero is DefaultMaxConnections, not "no bound").
func TestZeroConfigMeansTheDefaultConstants(t *testing.T) {
	t.Parallel()
	srv, err := engine.NewServer(engine.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	got := srv.Config()
	if got.Logger == nil {
		t.Error("the server's config has no logger")
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"PingInterval", got.PingInterval, engine.DefaultPingInterval},
		{"PingTimeout", got.PingTimeout, engine.DefaultPingTimeout},
		{"MaxPayload", got.MaxPayload, engine.DefaultMaxPayload},
		{"UpgradeTimeout", got.UpgradeTimeout, engine.DefaultUpgradeTimeout},
		{"MaxQueueBytes", got.MaxQueueBytes, engine.DefaultMaxQueueBytes},
		{"MaxQueueMessages", got.MaxQueueMessages, engine.DefaultMaxQueueMessages},
		{"WriteTimeout", got.WriteTimeout, engine.DefaultWriteTimeout},
		{"MaxConnections", got.MaxConnections, engine.DefaultMaxConnections},
		{"MaxConnectionsPerIP", got.MaxConnectionsPerIP, 0},
		{"SlowPolicy", got.SlowPolicy, engine.SlowDisconnect},
	} {
		if tc.got != tc.want {
			t.Errorf("a zero Config's %s is %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestValidateNamesEachFieldApart: every problem is a *FieldError whose
// Field a caller can map to its own names, and whose reason does not
// repeat the field.
func TestValidateNamesEachFieldApart(t *testing.T) {
	t.Parallel()
	err := engine.Config{MaxPayload: -1, MaxConnections: 10, MaxConnectionsPerIP: 11, AllowOrigins: []string{"*", " "}}.Validate()
	want := map[string]string{
		"MaxPayload":          "must not be negative",
		"MaxConnectionsPerIP": "is above the bound on all connections (10)",
		"AllowOrigins[1]":     "is an empty origin (want scheme://host[:port], or * for any)",
	}
	var got []*engine.FieldError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *engine.FieldError
		if !errors.As(e, &fe) || !errors.Is(e, engine.ErrConfig) {
			t.Fatalf("%v is not a FieldError wrapping ErrConfig", e)
		}
		got = append(got, fe)
	}
	if len(got) != len(want) {
		t.Errorf("Validate found %d problems, want %d: %v", len(got), len(want), err)
	}
	for _, fe := range got {
		if field, reason := fe.ConfigField(); want[field] != reason.Error() {
			t.Errorf("%s: %q, want %q", field, reason, want[field])
		}
	}
	if err := (engine.Config{MaxConnectionsPerIP: engine.DefaultMaxConnections + 1}).Validate(); err == nil {
		t.Error("a per-address bound above the default total was accepted")
	}
}

func TestSlowPolicyReadsAndWritesItsName(t *testing.T) {
	t.Parallel()
	for _, p := range []engine.SlowPolicy{engine.SlowDisconnect, engine.SlowDropOldest} {
		text, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back engine.SlowPolicy
		if err := back.UnmarshalText(text); err != nil || back != p {
			t.Errorf("%v: %q read back as %v, %v", p, text, back, err)
		}
	}
	var p engine.SlowPolicy
	if err := p.UnmarshalText([]byte("drop")); err == nil {
		t.Error(`"drop" was read as a policy`)
	}
}
