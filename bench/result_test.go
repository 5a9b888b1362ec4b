package bench

import (
	"strings"
	"testing"
)

func TestATargetedResultReadsAsDeliveriesToUsers(t *testing.T) {
	r := &Result{
		URL: "http://127.0.0.1:3000/socket.io/", Transport: TransportWebSocket, Scenario: ScenarioTargeted,
		Clients: 10000, Size: 128, Rate: 5000, Subject: "notify.user", Event: "notification",
		Published: 50000, Expected: 50000, Delivered: 49999, Lost: 1, Misdelivered: 2,
		FramesPerSec: 5000, ServerPID: 7, ServerCPU: 150e6, ServerCPUPerMessage: 3000,
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"each to one of 10000 users on notify.user.<user>",
		"49999 of 50000 targeted messages",
		"5k deliveries/s",
		"lost        1   misdelivered 2",
		"3.000 us/targeted message",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the text lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSIRoundsIntoTheNextSuffix(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{999, "999"}, {999.7, "1k"}, {1000, "1k"}, {12345, "12.3k"}, {999_700, "1M"}, {5_380_000, "5.38M"}} {
		if got := si(tc.v); got != tc.want {
			t.Errorf("si(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
