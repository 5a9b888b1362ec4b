package bridge_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/natsock/natsock/bridge"
)

func TestParseRuleTargets(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		event     string
		namespace string
		room      string
	}{
		{"a rule with no target goes to the main namespace", "tasks.*=task", "task", "/", ""},
		{"a room after '@' is in the main namespace", "notify.user.*=notification@user:{3}", "notification", "/", "user:{3}"},
		{"a literal room is allowed", "alerts.*=alert@admins", "alert", "/", "admins"},
		{"a room may be a bare token", "notify.user.*=notification@{3}", "notification", "/", "{3}"},
		{"a room may take several tokens", "t.*.*=e@{2}/{3}", "e", "/", "{2}/{3}"},
		{"a namespace starts with '/'", "admin.alerts.*=alert@/admin", "alert", "/admin", ""},
		{"a namespace may hold a room after '#'", "team.*.news=news@/teams#team:{2}", "news", "/teams", "team:{2}"},
		{"a namespace may have several segments", "a.b=e@/app/v2", "e", "/app/v2", ""},
		{"the main namespace may be named", "a.b=e@/#r", "e", "/", "r"},
		{"white space around the target is trimmed", "a.* = e @ user:{2} ", "e", "/", "user:{2}"},
		{"a room may contain '@' after the first one", "a.*=e@x@{2}", "e", "/", "x@{2}"},
		{"a room may contain '#' after the first one", "a.*=e@/ns#a#{2}", "e", "/ns", "a#{2}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := bridge.ParseRule(tc.value)
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tc.value, err)
			}
			if r.Event != tc.event || r.Namespace != tc.namespace || r.Room != tc.room {
				t.Errorf("ParseRule(%q) = {Event %q, Namespace %q, Room %q}, want {%q, %q, %q}",
					tc.value, r.Event, r.Namespace, r.Room, tc.event, tc.namespace, tc.room)
			}
		})
	}
}

func TestParseRuleRefusesBadTargets(t *testing.T) {
	long := strings.Repeat("r", bridge.MaxRoomBytes+1)
	tests := []struct {
		name  string
		value string
		is    error
		want  []string
	}{
		{"an empty target is refused", "a.*=e@", bridge.ErrBadRule,
			[]string{"target (right of '@') is empty"}},
		{"an event before '@' must not be empty", "a.*=@room", bridge.ErrBadRule,
			[]string{"event (right of '=') is empty"}},
		{"a room placeholder past the subject's tokens is refused", "notify.user.*=n@user:{4}", bridge.ErrBadPlaceholder,
			[]string{`room "user:{4}"`, "names token 4, but the subject has 3"}},
		{"a room placeholder that is not a number is refused", "a.*=e@user:{sub}", bridge.ErrBadPlaceholder,
			[]string{`room "user:{sub}"`, "{sub} is not a token number"}},
		{"an unclosed room placeholder is refused", "a.*=e@user:{2", bridge.ErrBadPlaceholder,
			[]string{`room "user:{2"`, "'{' without '}'"}},
		{"a room with white space is refused", "a.*=e@user {2}", bridge.ErrBadRule,
			[]string{`room "user {2}"`, "white space"}},
		{"an over-long literal room is refused", "a.*=e@" + long, bridge.ErrBadRule,
			[]string{`room "` + long + `"`, fmt.Sprintf("over the %d-byte bound", bridge.MaxRoomBytes)}},
		{"a namespace with a placeholder is refused", "a.*=e@/user{2}", bridge.ErrBadRule,
			[]string{`namespace "/user{2}"`, "cannot take placeholders"}},
		{"a namespace with a comma is refused", "a.*=e@/a,b", bridge.ErrBadRule,
			[]string{`namespace "/a,b"`, `character ','`}},
		{"a namespace with white space is refused", "a.*=e@/a b", bridge.ErrBadRule,
			[]string{`namespace "/a b"`, `character ' '`}},
		{"an over-long namespace is refused", "a.*=e@/" + strings.Repeat("n", bridge.MaxNamespaceBytes), bridge.ErrBadRule,
			[]string{"namespace", fmt.Sprintf("over the %d-byte bound", bridge.MaxNamespaceBytes)}},
		{"an empty room after '#' is refused", "a.*=e@/admin#", bridge.ErrBadRule,
			[]string{"room (right of '#') is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := bridge.ParseRule(tc.value)
			if err == nil {
				t.Fatalf("ParseRule(%q) = %+v, want an error", tc.value, r)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("ParseRule(%q) error %q does not wrap %q", tc.value, err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseRule(%q) error %q does not say %q", tc.value, err, w)
				}
			}
		})
	}
}

func TestMappingRoutesToRoomsAndNamespaces(t *testing.T) {
	m, err := bridge.NewMapping([]string{
		"notify.user.*=notification@user:{3}",
		"notify.team.*.*={4}@/teams#team:{3}",
		"admin.>=alert@/admin",
		"notify.all=announcement",
		"x.*.*=e@{2}{3}",
	})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("z", bridge.MaxRoomBytes)
	tests := []struct {
		name    string
		subject string
		want    bridge.Route
		bad     string // ErrBadRoom's reason, when the room cannot be built
	}{
		{"a user's notification goes to that user's room", "notify.user.42",
			bridge.Route{Namespace: "/", Room: "user:42", Event: "notification"}, ""},
		{"a team's news goes to its room of its namespace", "notify.team.red.deploy",
			bridge.Route{Namespace: "/teams", Room: "team:red", Event: "deploy"}, ""},
		{"an admin alert goes to the whole admin namespace", "admin.disk.full",
			bridge.Route{Namespace: "/admin", Event: "alert"}, ""},
		{"a rule with no target still broadcasts", "notify.all",
			bridge.Route{Namespace: "/", Event: "announcement"}, ""},
		{"a room from two tokens joins them", "x.a.b",
			bridge.Route{Namespace: "/", Room: "ab", Event: "e"}, ""},
		{"an empty token cannot name a room", "notify.user.",
			bridge.Route{}, "token {3} of the subject is empty"},
		{"two empty tokens cannot name a room", "x..",
			bridge.Route{}, "token {2} of the subject is empty"},
		{"a room at the bound is built", "x." + long[:bridge.MaxRoomBytes-1] + ".z",
			bridge.Route{Namespace: "/", Room: long, Event: "e"}, ""},
		{"a room past the bound is not", "x." + long + ".z",
			bridge.Route{}, fmt.Sprintf("%d bytes, over the %d-byte bound", bridge.MaxRoomBytes+1, bridge.MaxRoomBytes)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			route, rule, err := m.Match(tc.subject)
			if rule == nil {
				t.Fatalf("Match(%q): no rule", tc.subject)
			}
			routed, ok, rerr := m.Route(rule, tc.subject)
			if !ok || routed != route || (rerr == nil) != (err == nil) {
				t.Errorf("Route(%q) = %+v, %v, %v; Match gave %+v, %v", tc.subject, routed, ok, rerr, route, err)
			}
			if tc.bad != "" {
				if !errors.Is(err, bridge.ErrBadRoom) || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("Match(%q) = %+v, %v; want ErrBadRoom saying %q", tc.subject, route, err, tc.bad)
				}
				if route != (bridge.Route{}) {
					t.Errorf("Match(%q) gave route %+v with its error; want none", tc.subject, route)
				}
				return
			}
			if err != nil || route != tc.want {
				t.Errorf("Match(%q) = %+v, %v; want %+v", tc.subject, route, err, tc.want)
			}
		})
	}
}

func TestMappingNamespaces(t *testing.T) {
	m, err := bridge.NewMapping([]string{"a=e@/admin", "b=e", "c=e@/teams#t", "d=e@/admin#x", "e=e@/#r"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(m.Namespaces(), " "), "/ /admin /teams"; got != want {
		t.Errorf("Namespaces() = %q, want %q: the main one first, each once, in the order named", got, want)
	}
	empty, _ := bridge.NewMapping(nil)
	if got := empty.Namespaces(); len(got) != 1 || got[0] != "/" {
		t.Errorf("Namespaces() of no rules = %q, want just the main one", got)
	}
}

func ExampleMapping_Match_rooms() {
	m, err := bridge.NewMapping([]string{
		"notify.user.*=notification@user:{3}",
		"admin.>=alert@/admin",
		"team.*.news=news@/teams#team:{2}",
	})
	if err != nil {
		panic(err)
	}
	for _, subject := range []string{"notify.user.42", "admin.disk.full", "team.red.news", "notify.user."} {
		route, _, err := m.Match(subject)
		if err != nil {
			fmt.Printf("%s: dropped: %v\n", subject, err)
			continue
		}
		fmt.Printf("%s: event %q to room %q of %q\n", subject, route.Event, route.Room, route.Namespace)
	}
	// Output:
	// notify.user.42: event "notification" to room "user:42" of "/"
	// admin.disk.full: event "alert" to room "" of "/admin"
	// team.red.news: event "news" to room "team:red" of "/teams"
	// notify.user.: dropped: bridge: no room for this subject: room "user:{3}": token {3} of the subject is empty
}

func ExampleParseRule_targets() {
	for _, v := range []string{
		"notify.user.*=notification@user:{3}",
		"admin.>=alert@/admin",
		"team.*.news=news@/teams#team:{2}",
		"notify.user.*=notification@/user{3}",
	} {
		r, err := bridge.ParseRule(v)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("namespace %q room %q event %q\n", r.Namespace, r.Room, r.Event)
	}
	// Output:
	// namespace "/" room "user:{3}" event "notification"
	// namespace "/admin" room "" event "alert"
	// namespace "/teams" room "team:{2}" event "news"
	// bridge: bad rule: namespace "/user{3}": a namespace is declared at start and cannot take placeholders
}

// FuzzTargetedRoute checks the routing decision for targeted rules: for
// any subject, a rule with a room either names a non-empty room built from
// that subject's own tokens, or drops the message; it never routes to a
// whole namespace. And the namespace is always one the rules declared.
func FuzzTargetedRoute(f *testing.F) {
	f.Add("notify.user.*", "user:{3}", "notify.user.42")
	f.Add("notify.>", "u{2}-{3}", "notify.a.b.c")
	f.Add("*.*", "{1}{2}", "a.")
	f.Add("a.*", "{2}", "a..b")
	f.Add(">", "{1}", "")
	f.Add("a.*", "/ns#{2}", "a.b")
	f.Fuzz(func(t *testing.T, pattern, room, subject string) {
		m, err := bridge.NewMapping([]string{pattern + "=ev@" + room, pattern + "=other"})
		if err != nil {
			return
		}
		r := m.Rules()[0]
		declared := m.Namespaces()
		route, ok, err := m.Route(r, subject)
		if !ok {
			if r.Matches(subject) {
				t.Fatalf("rule %q matches %q but Route declined it", r, subject)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, bridge.ErrBadRoom) || route != (bridge.Route{}) {
				t.Fatalf("Route(%q, %q) = %+v, %v", r, subject, route, err)
			}
			return
		}
		if !slicesContains(declared, route.Namespace) {
			t.Fatalf("Route(%q, %q) namespace %q is not among the declared %q", r, subject, route.Namespace, declared)
		}
		if r.Room != "" && (route.Room == "" || len(route.Room) > bridge.MaxRoomBytes) {
			t.Fatalf("Route(%q, %q) = room %q: a targeted rule must name a room within bounds", r, subject, route.Room)
		}
		if r.Room == "" && route.Room != "" {
			t.Fatalf("Route(%q, %q) = room %q from a rule without one", r, subject, route.Room)
		}
		// The later, untargeted rule never takes a subject the targeted one owns.
		if _, mine, _ := m.Route(m.Rules()[1], subject); mine {
			t.Fatalf("both rules route %q", subject)
		}
		// Every placeholder-free part of the room template is in the room.
		if !strings.Contains(r.Room, "{") && route.Room != r.Room {
			t.Fatalf("literal room %q routed as %q", r.Room, route.Room)
		}
	})
}

// BenchmarkRoute is the routing decision for one targeted message: the
// rule that owns the subject, its event and its room.
func BenchmarkRoute(b *testing.B) {
	m, err := bridge.NewMapping([]string{"tasks.*=task:{2}", "notify.user.*=notification@user:{3}"})
	if err != nil {
		b.Fatal(err)
	}
	r := m.Rules()[1]
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := m.Route(r, "notify.user.4242"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
