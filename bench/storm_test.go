package bench

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestAStormRunNeedsBothNodesARateAndTheNodeToKill(t *testing.T) {
	err := Config{Scenario: ScenarioStorm, Transport: TransportPolling, FailoverURL: "https://b"}.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate = %v, want ErrConfig", err)
	}
	for _, want := range []string{"not --transport polling", `--failover-url "https://b"`, "--pid: node A's process id", "--rate above 0", "--messages above 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q:\n%v", want, err)
		}
	}
	err = Config{Scenario: ScenarioStorm, PID: 42, Rate: 10, Messages: 100}.Validate()
	if err == nil || !strings.Contains(err.Error(), "needs --failover-url") {
		t.Errorf("a storm run without node B: %v, want it to ask for --failover-url", err)
	}
	ok := Config{Scenario: ScenarioStorm, PID: 42, Rate: 10, Messages: 100, FailoverURL: "http://127.0.0.1:3002"}
	if err := ok.Validate(); err != nil {
		t.Errorf("a complete storm run: %v", err)
	}
	ok.KillAfter = -1
	if err := ok.Validate(); err == nil || !strings.Contains(err.Error(), "--kill-after") {
		t.Errorf("a negative --kill-after: %v", err)
	}
}

func TestKeepOffset(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  string // "" keeps the previous offset, "old"
	}{
		{"a message with the stream sequence as its last argument", `42["e",{"run":1,"seq":2,"ts":3,"pad":"x"},"1234"]`, "1234"},
		{"a message without an offset", `42["e",{"run":1,"seq":2,"ts":3,"pad":"x"}]`, "old"},
		{"a message whose one argument is a string", `42["e"]`, "old"},
		{"an empty offset", `42["e",{},""]`, ""},
		{"an offset with an escape is not read", `42["e",{},"a\"b"]`, "old"},
		{"too short", `"]`, "old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			off := []byte("old")
			keepOffset(&off, []byte(tc.frame))
			if string(off) != tc.want {
				t.Errorf("keepOffset(%s) = %q, want %q", tc.frame, off, tc.want)
			}
		})
	}
}

func FuzzKeepOffset(f *testing.F) {
	f.Add([]byte(`42["e",{"run":1,"seq":2,"ts":3,"pad":"x"},"1234"]`))
	f.Add([]byte(`42["e",{}]`))
	f.Add([]byte(`,""]`))
	f.Add([]byte(`"]`))
	f.Fuzz(func(t *testing.T, p []byte) {
		off := []byte("old")
		keepOffset(&off, p)
		if string(off) == "old" {
			return
		}
		// What it keeps is the frame's tail: ,"OFFSET"] with no quote or
		// backslash inside.
		if !bytes.HasSuffix(p, append(append([]byte(`,"`), off...), '"', ']')) || bytes.ContainsAny(off, "\"\\") {
			t.Errorf("keepOffset(%q) kept %q", p, off)
		}
	})
}

func TestSeqTrackerListsWhatIsMissing(t *testing.T) {
	tr := newSeqTracker(100)
	for _, s := range []uint64{0, 1, 2, 4, 5, 7, 9} {
		tr.observe(s)
	}
	got := tr.missing(10, 5)
	want := []uint64{3, 6, 8}
	if len(got) != len(want) {
		t.Fatalf("missing = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("missing = %v, want %v", got, want)
		}
	}
	if got := tr.missing(10, 1); len(got) != 1 || got[0] != 3 {
		t.Errorf("missing(10, 1) = %v, want [3]", got)
	}
}
