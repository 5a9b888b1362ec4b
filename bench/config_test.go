package bench

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	err := Config{
		URL:        "https://example.com",
		Path:       "socket.io/",
		Transport:  "webtransport",
		Clients:    -1,
		Rate:       -5,
		Hold:       -time.Second,
		Subject:    "tasks.*",
		ReadBuffer: 10,
	}.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate = %v, want ErrConfig", err)
	}
	for _, want := range []string{"--url", "TLS", "--path", "--transport", "--clients -1", "--rate", "--hold", "--subject", "--read-buffer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q:\n%v", want, err)
		}
	}
}

func TestTheZeroConfigIsValid(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	var c Config
	c.setDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults are not valid: %v", err)
	}
}

func TestTheDefaultWindowStaysWithinOneMiB(t *testing.T) {
	for _, tc := range []struct{ size, window int }{{128, 1000}, {1024, 1000}, {16 << 10, 64}, {4 << 20, 1}} {
		c := Config{Size: tc.size}
		c.setDefaults()
		if c.Window != tc.window {
			t.Errorf("size %d: window %d, want %d", tc.size, c.Window, tc.window)
		}
	}
}

func TestParseSourceIPs(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []string
		fails bool
	}{
		{"empty lets the kernel choose", "", nil, false},
		{"a count names loopback addresses from 127.0.0.1", "3", []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, false},
		{"a list is taken as it is", "127.0.0.1, 127.0.0.9", []string{"127.0.0.1", "127.0.0.9"}, false},
		{"a count of zero is refused", "0", nil, true},
		{"a count past 254 is refused", "255", nil, true},
		{"a bad address is refused", "127.0.0.1,localhost", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ips, err := ParseSourceIPs(tc.in)
			if tc.fails {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("ParseSourceIPs(%q) = %v, %v; want ErrConfig", tc.in, ips, err)
				}
				return
			}
			if err != nil || len(ips) != len(tc.want) {
				t.Fatalf("ParseSourceIPs(%q) = %v, %v; want %v", tc.in, ips, err, tc.want)
			}
			for i, ip := range ips {
				if ip != netip.MustParseAddr(tc.want[i]) {
					t.Errorf("address %d is %v, want %s", i, ip, tc.want[i])
				}
			}
		})
	}
}

func TestTheScenarioIsChecked(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // in the error; empty: valid
	}{
		{"a broadcast needs no secret", Config{Scenario: ScenarioBroadcast}, ""},
		{"a targeted run with a secret is valid", Config{Scenario: ScenarioTargeted, JWTSecret: "s"}, ""},
		{"a targeted run without a secret is refused", Config{Scenario: ScenarioTargeted}, "--jwt-secret"},
		{"an unknown scenario is refused", Config{Scenario: "multicast"}, `--scenario "multicast"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrConfig naming %s", err, tc.want)
			}
		})
	}
}

func TestATargetedRunDefaultsToTheNotificationSubjectAndEvent(t *testing.T) {
	c := Config{Scenario: ScenarioTargeted, JWTSecret: "s"}
	c.setDefaults()
	if c.Subject != "notify.user" || c.Event != "notification" {
		t.Errorf("subject %q, event %q; want notify.user, notification", c.Subject, c.Event)
	}
	var b Config
	b.setDefaults()
	if b.Scenario != ScenarioBroadcast || b.Subject != "tasks.assigned" || b.Event != "newTaskAssigned" {
		t.Errorf("scenario %q, subject %q, event %q; want broadcast, tasks.assigned, newTaskAssigned", b.Scenario, b.Subject, b.Event)
	}
}
