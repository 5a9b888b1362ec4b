package bridge_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natsock/natsock/bridge"
)

// TestStreamSubjects: the recovery stream holds each --map pattern once,
// a pattern another covers folds into it, and colliding ones (which
// JetStream refuses in one stream) become one pattern that covers both.
func TestStreamSubjects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		patterns []string
		want     []string
	}{
		{"distinct patterns stay as they are", []string{"tasks.assigned", "notify.user.*"}, []string{"tasks.assigned", "notify.user.*"}},
		{"a literal under a wildcard folds into it", []string{"tasks.assigned", "tasks.*"}, []string{"tasks.*"}},
		{"a wildcard under a tail folds into it", []string{"admin.*.x", "admin.>"}, []string{"admin.>"}},
		{"the same pattern twice is one", []string{"a.b", "a.b"}, []string{"a.b"}},
		{"two wildcards that cross become one wider", []string{"team.*.news", "team.a.*"}, []string{"team.*.*"}},
		{"a merge that then collides merges again", []string{"a.*.c", "a.b.*", "a.x.y"}, []string{"a.*.*"}},
		{"a tail against a longer pattern", []string{"x.*", "x.y.>"}, []string{"x.*", "x.y.>"}},
		{"everything", []string{"a.b", ">"}, []string{">"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bridge.StreamSubjects(tc.patterns)
			if !slices.Equal(got, tc.want) {
				t.Errorf("StreamSubjects(%q) = %q, want %q", tc.patterns, got, tc.want)
			}
			checkStreamSubjects(t, tc.patterns, got)
		})
	}
}

// checkStreamSubjects: no two subjects collide, and every pattern is
// covered by one of them.
func checkStreamSubjects(t *testing.T, patterns, got []string) {
	t.Helper()
	for i, a := range got {
		for _, b := range got[i+1:] {
			if server.SubjectsCollide(a, b) {
				t.Fatalf("StreamSubjects(%q) = %q: %q and %q collide", patterns, got, a, b)
			}
		}
	}
	for _, p := range patterns {
		if !slices.ContainsFunc(got, func(s string) bool { return bridge.Covers(s, p) }) {
			t.Fatalf("StreamSubjects(%q) = %q: nothing covers %q", patterns, got, p)
		}
	}
}

// FuzzStreamSubjects: for any valid patterns, the stream's subjects never
// collide and cover them all; and covers agrees with the server on
// literal subjects.
func FuzzStreamSubjects(f *testing.F) {
	f.Add("tasks.assigned notify.user.* team.*.news team.a.* admin.>")
	f.Add("a.*.c a.b.* a.x.y")
	f.Add("> a")
	f.Fuzz(func(t *testing.T, list string) {
		var patterns []string
		for _, p := range strings.Fields(list) {
			if server.IsValidSubject(p) {
				patterns = append(patterns, p)
			}
		}
		if len(patterns) == 0 || len(patterns) > 16 {
			return
		}
		got := bridge.StreamSubjects(patterns)
		checkStreamSubjects(t, patterns, got)
		for _, p := range patterns {
			if server.IsValidLiteralSubject(p) {
				for _, s := range got {
					if bridge.Covers(s, p) != server.SubjectMatchesFilter(p, s) {
						t.Fatalf("Covers(%q, %q) = %v, the server says %v", s, p, bridge.Covers(s, p), server.SubjectMatchesFilter(p, s))
					}
				}
			}
		}
	})
}
