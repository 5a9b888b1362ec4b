package bridge_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/natsock/natsock/bridge"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		pattern string
		event   string
	}{
		{"a literal subject maps to a literal event", "tasks.assigned=newTaskAssigned", "tasks.assigned", "newTaskAssigned"},
		{"white space around either side is trimmed", "  tasks.assigned =  newTaskAssigned ", "tasks.assigned", "newTaskAssigned"},
		{"a star wildcard is allowed", "tasks.*=task:{2}", "tasks.*", "task:{2}"},
		{"a trailing full wildcard is allowed", "tasks.>=task:{2}", "tasks.>", "task:{2}"},
		{"a lone full wildcard subscribes to everything", ">=everything", ">", "everything"},
		{"an event may contain '=' after the first one", "a.b=x=y", "a.b", "x=y"},
		{"a placeholder may name a literal token", "tasks.assigned={1}-{2}", "tasks.assigned", "{1}-{2}"},
		{"a placeholder may be repeated", "a.*={2}{2}", "a.*", "{2}{2}"},
		{"a leading zero in a placeholder is still a token number", "a.*={02}", "a.*", "{02}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := bridge.ParseRule(tc.value)
			if err != nil {
				t.Fatalf("ParseRule(%q): %v", tc.value, err)
			}
			if r.Pattern != tc.pattern || r.Event != tc.event {
				t.Errorf("ParseRule(%q) = {Pattern: %q, Event: %q}, want {%q, %q}", tc.value, r.Pattern, r.Event, tc.pattern, tc.event)
			}
		})
	}
}

// badRules are --map values that must stop the start. want lists what the
// error text must say: the flag value, the part at fault and the reason.
var badRules = []struct {
	name  string
	value string
	is    error
	want  []string
}{
	{"a value with no '=' is refused", "tasks.assigned", bridge.ErrBadRule,
		[]string{"SUBJECT=EVENT", "no '='"}},
	{"an empty subject is refused", "=newTaskAssigned", bridge.ErrBadRule,
		[]string{"subject (left of '=')", "is empty"}},
	{"a blank subject is refused", "   =newTaskAssigned", bridge.ErrBadRule,
		[]string{"subject (left of '=')", "is empty"}},
	{"an empty event is refused", "tasks.assigned=", bridge.ErrBadRule,
		[]string{"event (right of '=')", "is empty"}},
	{"a subject with a double dot is refused", "tasks..assigned=e", bridge.ErrBadSubject,
		[]string{`subject "tasks..assigned"`, "token 2 is empty"}},
	{"a subject with a leading dot is refused", ".tasks=e", bridge.ErrBadSubject,
		[]string{`subject ".tasks"`, "token 1 is empty"}},
	{"a subject with a trailing dot is refused", "tasks.=e", bridge.ErrBadSubject,
		[]string{`subject "tasks."`, "token 2 is empty"}},
	{"a subject with inner white space is refused", "tasks assigned=e", bridge.ErrBadSubject,
		[]string{`subject "tasks assigned"`, "white space"}},
	{"a full wildcard before the last token is refused", "tasks.>.x=e", bridge.ErrBadSubject,
		[]string{`subject "tasks.>.x"`, "'>' must be the last token"}},
	{"a wildcard inside a token is refused", "tasks.as*=e", bridge.ErrBadSubject,
		[]string{`subject "tasks.as*"`, "mixes a wildcard"}},
	{"a placeholder past the subject's tokens is refused", "tasks.*=task:{3}", bridge.ErrBadPlaceholder,
		[]string{`event "task:{3}"`, "names token 3, but the subject has 2"}},
	{"a placeholder that is not a number is refused", "tasks.*=task:{name}", bridge.ErrBadPlaceholder,
		[]string{`event "task:{name}"`, "{name} is not a token number"}},
	{"placeholder zero is refused", "tasks.*=task:{0}", bridge.ErrBadPlaceholder,
		[]string{`event "task:{0}"`, "{0} is not a token number"}},
	{"a negative placeholder is refused", "tasks.*=task:{-1}", bridge.ErrBadPlaceholder,
		[]string{"{-1} is not a token number"}},
	{"a signed placeholder is refused", "tasks.*=task:{+1}", bridge.ErrBadPlaceholder,
		[]string{"{+1} is not a token number"}},
	{"an empty placeholder is refused", "tasks.*=task:{}", bridge.ErrBadPlaceholder,
		[]string{"{} is not a token number"}},
	{"an unclosed placeholder is refused", "tasks.*=task:{2", bridge.ErrBadPlaceholder,
		[]string{`event "task:{2"`, "'{' without '}'"}},
	{"a stray closing brace is refused", "tasks.*=task}", bridge.ErrBadPlaceholder,
		[]string{`event "task}"`, "'}' without '{'"}},
	{"a stray closing brace before a placeholder is refused", "tasks.*=a}{2}", bridge.ErrBadPlaceholder,
		[]string{"'}' without '{'"}},
	{"a reserved socket.io event name is refused", "tasks.assigned=connect", bridge.ErrBadRule,
		[]string{`event "connect"`, "reserved"}},
	{"another reserved socket.io event name is refused", "tasks.assigned=disconnect", bridge.ErrBadRule,
		[]string{`event "disconnect"`, "reserved"}},
}

func TestParseRuleRefusesBadMaps(t *testing.T) {
	for _, tc := range badRules {
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

func TestNewMappingReportsEveryBadMapAtOnce(t *testing.T) {
	values := []string{"tasks.assigned=ok", "=x", "a..b=y", "a.*={9}"}
	_, err := bridge.NewMapping(values)
	if err == nil {
		t.Fatal("NewMapping accepted bad maps")
	}
	for _, v := range values[1:] {
		if !strings.Contains(err.Error(), fmt.Sprintf("map %q", v)) {
			t.Errorf("error %q does not name map %q", err, v)
		}
	}
	if strings.Contains(err.Error(), `"tasks.assigned=ok"`) {
		t.Errorf("error %q names the good map", err)
	}
	for _, is := range []error{bridge.ErrBadRule, bridge.ErrBadSubject, bridge.ErrBadPlaceholder} {
		if !errors.Is(err, is) {
			t.Errorf("error %q does not wrap %q", err, is)
		}
	}
}

func TestMappingMatch(t *testing.T) {
	tests := []struct {
		name    string
		maps    []string
		subject string
		event   string // "" means no rule matches
		rule    int    // index of the rule that matches
	}{
		{"a literal pattern matches its own subject", []string{"tasks.assigned=newTaskAssigned"}, "tasks.assigned", "newTaskAssigned", 0},
		{"a literal pattern does not match another subject", []string{"tasks.assigned=newTaskAssigned"}, "tasks.done", "", 0},
		{"a literal pattern does not match a longer subject", []string{"tasks=t"}, "tasks.assigned", "", 0},
		{"a literal pattern does not match a shorter subject", []string{"tasks.assigned=t"}, "tasks", "", 0},
		{"a star matches one token", []string{"tasks.*=task:{2}"}, "tasks.assigned", "task:assigned", 0},
		{"a star does not match two tokens", []string{"tasks.*=task:{2}"}, "tasks.a.b", "", 0},
		{"a star does not match no token", []string{"tasks.*=task"}, "tasks", "", 0},
		{"a star may stand first", []string{"*.assigned={1}Assigned"}, "users.assigned", "usersAssigned", 0},
		{"a full wildcard matches one token", []string{"tasks.>=t:{2}"}, "tasks.a", "t:a", 0},
		{"a full wildcard matches several tokens", []string{"tasks.>=t:{2}"}, "tasks.a.b.c", "t:a", 0},
		{"a full wildcard does not match no token", []string{"tasks.>=t"}, "tasks", "", 0},
		{"a lone full wildcard matches any subject", []string{">=all:{1}"}, "x.y", "all:x", 0},
		{"placeholders take the subject's tokens in any order", []string{"*.*.*={3}/{1}/{2}"}, "a.b.c", "c/a/b", 0},
		{"a placeholder may name a literal token", []string{"tasks.*={1}.{2}"}, "tasks.done", "tasks.done", 0},
		{"tokens are case sensitive", []string{"Tasks.*=t"}, "tasks.x", "", 0},
		{"the first of overlapping rules wins for its subject", []string{"tasks.assigned=exact", "tasks.*=task:{2}", "tasks.>=deep"}, "tasks.assigned", "exact", 0},
		{"a later rule gets what earlier rules do not match", []string{"tasks.assigned=exact", "tasks.*=task:{2}", "tasks.>=deep"}, "tasks.done", "task:done", 1},
		{"the last rule gets the deep subjects", []string{"tasks.assigned=exact", "tasks.*=task:{2}", "tasks.>=deep"}, "tasks.a.b", "deep", 2},
		{"a broad first rule shadows a narrower later one", []string{"tasks.>=deep", "tasks.assigned=exact"}, "tasks.assigned", "deep", 0},
		{"a subject no rule matches gets no route", []string{"tasks.assigned=exact", "tasks.*=task:{2}"}, "users.new", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := bridge.NewMapping(tc.maps)
			if err != nil {
				t.Fatal(err)
			}
			route, rule, err := m.Match(tc.subject)
			if err != nil {
				t.Fatalf("Match(%q): %v", tc.subject, err)
			}
			ok := rule != nil
			if tc.event == "" {
				if ok {
					t.Fatalf("Match(%q) = %+v by %q, want no match", tc.subject, route, rule.Pattern)
				}
				return
			}
			if !ok {
				t.Fatalf("Match(%q): no match, want event %q", tc.subject, tc.event)
			}
			want := bridge.Route{Namespace: "/", Event: tc.event}
			if route != want {
				t.Errorf("Match(%q) = %+v, want %+v", tc.subject, route, want)
			}
			if rule != m.Rules()[tc.rule] {
				t.Errorf("Match(%q) matched rule %q, want rule %d (%q)", tc.subject, rule.Pattern, tc.rule, m.Rules()[tc.rule].Pattern)
			}
			// RouteFor agrees: the owning rule routes the subject, every other rule declines it.
			for i, r := range m.Rules() {
				got, ok, err := m.Route(r, tc.subject)
				if err != nil {
					t.Errorf("Route(rule %d %q, %q): %v", i, r.Pattern, tc.subject, err)
				}
				if i == tc.rule && (!ok || got != want) {
					t.Errorf("RouteFor(rule %d %q, %q) = %+v, %v; want %+v, true", i, r.Pattern, tc.subject, got, ok, want)
				}
				if i != tc.rule && ok {
					t.Errorf("RouteFor(rule %d %q, %q) = %+v, true; want false, rule %d owns it", i, r.Pattern, tc.subject, got, tc.rule)
				}
			}
		})
	}
}

func TestRuleMatches(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		subject string
		want    bool
	}{
		{"a star matches any single token", "a.*.c=e", "a.b.c", true},
		{"a star needs its token", "a.*.c=e", "a.c", false},
		{"a full wildcard needs at least one token", "a.>=e", "a", false},
		{"a full wildcard takes the rest", "a.>=e", "a.b.c.d", true},
		{"a different first token does not match", "a.>=e", "b.c", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := bridge.ParseRule(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Matches(tc.subject); got != tc.want {
				t.Errorf("rule %q Matches(%q) = %v, want %v", tc.value, tc.subject, got, tc.want)
			}
		})
	}
}

func ExampleMapping_Match() {
	m, err := bridge.NewMapping([]string{
		"tasks.assigned=newTaskAssigned",
		"tasks.*=task:{2}",
		"tasks.>=taskEvent",
	})
	if err != nil {
		panic(err)
	}
	for _, subject := range []string{"tasks.assigned", "tasks.done", "tasks.a.b", "users.new"} {
		route, rule, _ := m.Match(subject)
		if rule == nil {
			fmt.Printf("%s: no rule\n", subject)
			continue
		}
		fmt.Printf("%s: event %q by rule %q\n", subject, route.Event, rule.Pattern)
	}
	// Output:
	// tasks.assigned: event "newTaskAssigned" by rule "tasks.assigned"
	// tasks.done: event "task:done" by rule "tasks.*"
	// tasks.a.b: event "taskEvent" by rule "tasks.>"
	// users.new: no rule
}

func ExampleParseRule() {
	r, err := bridge.ParseRule("tasks.*=task:{2}")
	fmt.Println(r.Pattern, r.Event, err)

	_, err = bridge.ParseRule("tasks.*=task:{3}")
	fmt.Println(err)
	// Output:
	// tasks.* task:{2} <nil>
	// bridge: bad placeholder: event "task:{3}": {3} names token 3, but the subject has 2
}

// subjectFor builds a literal subject that pattern matches: each '*'
// becomes fill and a '>' becomes fill.fill.
func subjectFor(pattern, fill string) string {
	toks := strings.Split(pattern, ".")
	for i, tok := range toks {
		switch tok {
		case "*":
			toks[i] = fill
		case ">":
			toks[i] = fill + "." + fill
		}
	}
	return strings.Join(toks, ".")
}

// validToken reports whether s can stand as a literal subject token.
func validToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n\v\f\x00\u0085\u00a0") && !strings.ContainsFunc(s, func(r rune) bool {
		return r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
	})
}

func FuzzParseRule(f *testing.F) {
	for _, v := range []string{
		"tasks.assigned=newTaskAssigned", "tasks.*=task:{2}", "tasks.>=t:{2}", ">=x", "*.*={2}{1}",
		"a..b=x", "=x", "x=", "x", "a.*={3}", "a.*={x}", "a.*={", "a.*=}", "a.>.b=x", "a b=c", "a=connect",
		" a = b ", "a={1}{1}{01}", "a.b*=x", "\x00=x",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) {
		r, err := bridge.ParseRule(value)
		if err != nil {
			if r != nil {
				t.Fatalf("ParseRule(%q) returned a rule and an error %v", value, err)
			}
			if !errors.Is(err, bridge.ErrBadRule) && !errors.Is(err, bridge.ErrBadSubject) && !errors.Is(err, bridge.ErrBadPlaceholder) {
				t.Fatalf("ParseRule(%q) error %q wraps no bridge sentinel", value, err)
			}
			if strings.Contains(err.Error(), "--map") {
				t.Fatalf("ParseRule(%q) error %q names a flag; the caller names where the rule came from", value, err)
			}
			return
		}
		subject, rhs, _ := strings.Cut(value, "=")
		event, _, _ := strings.Cut(rhs, "@")
		if r.Pattern != strings.TrimSpace(subject) || r.Event != strings.TrimSpace(event) {
			t.Fatalf("ParseRule(%q) = {%q, %q}", value, r.Pattern, r.Event)
		}
		if strings.Contains(r.Event, "@") {
			t.Fatalf("ParseRule(%q): event %q keeps the '@' that starts the target", value, r.Event)
		}
		// A rule reparsed from its own String is the same rule.
		again, err := bridge.ParseRule(r.String())
		if err != nil || again.Pattern != r.Pattern || again.Event != r.Event || again.Namespace != r.Namespace || again.Room != r.Room {
			t.Fatalf("reparsing %q (from %q): %+v, %v; want %+v", r.String(), value, again, err, r)
		}
		// A subject built from the pattern matches, with no placeholder left.
		m, err := bridge.NewMapping([]string{value})
		if err != nil {
			t.Fatalf("NewMapping(%q) refused what ParseRule took: %v", value, err)
		}
		s := subjectFor(r.Pattern, "fill")
		if !m.Rules()[0].Matches(s) {
			t.Fatalf("rule %q does not match %q", r.Pattern, s)
		}
		route, matched, err := m.Match(s)
		if matched == nil || err != nil {
			t.Fatalf("Match(%q) with rule %q: no match (%v)", s, r.Pattern, err)
		}
		if !strings.Contains(r.Event, "{") && route.Event != r.Event {
			t.Fatalf("literal event %q rendered as %q", r.Event, route.Event)
		}
		if strings.ContainsAny(route.Event, "{}") && !strings.Contains(r.Pattern, "{") && !strings.Contains(r.Pattern, "}") {
			t.Fatalf("event %q for %q keeps a placeholder", route.Event, s)
		}
	})
}

func FuzzRouteFor(f *testing.F) {
	f.Add("tasks.assigned", "tasks.*", "tasks.>", "tasks.assigned", "x")
	f.Add("tasks.>", "tasks.assigned", "*.*", "tasks.done", "y")
	f.Add(">", "a", "a.b", "a.b", "z")
	f.Add("*.b.*", "a.*.c", "a.b.c", "a.b.c", "q")
	f.Fuzz(func(t *testing.T, p1, p2, p3, subject, fill string) {
		m, err := bridge.NewMapping([]string{p1 + "=e1", p2 + "=e2", p3 + "=e3:{1}"})
		if err != nil {
			return
		}
		if !validToken(fill) {
			fill = "fill"
		}
		var subjects []string
		for _, r := range m.Rules() {
			subjects = append(subjects, subjectFor(r.Pattern, fill))
		}
		if toks := strings.Split(subject, "."); !slices.ContainsFunc(toks, func(s string) bool { return !validToken(s) }) {
			subjects = append(subjects, subject)
		}
		for i, s := range subjects {
			route, owner, err := m.Match(s)
			if err != nil {
				t.Fatalf("Match(%q): %v", s, err)
			}
			ok := owner != nil
			if i < 3 {
				// A subject built from rule i's pattern is matched by rule i or an earlier rule.
				if !ok {
					t.Fatalf("Match(%q): no match, though rule %d %q matches it", s, i, m.Rules()[i].Pattern)
				}
				if idx := indexOf(m.Rules(), owner); idx > i {
					t.Fatalf("Match(%q) chose rule %d %q over rule %d %q", s, idx, owner.Pattern, i, m.Rules()[i].Pattern)
				}
			}
			// RouteFor agrees with Match on which rule owns the subject.
			owners := 0
			for _, r := range m.Rules() {
				got, mine, err := m.Route(r, s)
				if err != nil {
					t.Fatalf("Route(%q, %q): %v", r.Pattern, s, err)
				}
				if !mine {
					continue
				}
				owners++
				if r != owner || got != route {
					t.Fatalf("RouteFor(%q, %q) = %+v; Match gave %+v by %v", r.Pattern, s, got, route, owner)
				}
			}
			if ok && owners != 1 || !ok && owners != 0 {
				t.Fatalf("subject %q has %d owning rules by RouteFor; Match ok=%v", s, owners, ok)
			}
		}
	})
}

func indexOf(rules []*bridge.Rule, r *bridge.Rule) int {
	for i, x := range rules {
		if x == r {
			return i
		}
	}
	return -1
}
