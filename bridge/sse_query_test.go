package bridge

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseSSEQuery(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      sseQuery
		err       string
	}{
		{"no query is every event of /", "", sseQuery{namespace: "/"}, ""},
		{"events comma-separated and repeated, in order", "events=a,b&events=c", sseQuery{namespace: "/", events: []string{"a", "b", "c"}}, ""},
		{"a namespace", "ns=%2Fadmin", sseQuery{namespace: "/admin"}, ""},
		{"lastEventId", "lastEventId=42", sseQuery{namespace: "/", lastEventID: "42", hasLastEventID: true}, ""},
		{"the token parameter is authentication's", "token=x", sseQuery{namespace: "/"}, ""},
		{"an unknown parameter", "event=a", sseQuery{}, `unknown parameter "event"`},
		{"an empty namespace", "ns=", sseQuery{}, "does not start with '/'"},
		{"an empty name", "events=a,,b", sseQuery{}, "an empty event name"},
		{"lastEventId twice", "lastEventId=1&lastEventId=2", sseQuery{}, "given 2 times"},
		{"a bad escape", "ns=%", sseQuery{}, "invalid URL escape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSSEQuery(tc.raw, "token")
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrBadSSEQuery) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || got.namespace != tc.want.namespace || !slices.Equal(got.events, tc.want.events) ||
				got.lastEventID != tc.want.lastEventID || got.hasLastEventID != tc.want.hasLastEventID {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzParseSSEQuery: any query string is read or refused with
// ErrBadSSEQuery, and what is read is within the bounds.
func FuzzParseSSEQuery(f *testing.F) {
	for _, s := range []string{"", "events=a,b", "ns=/x&events=a&events=b", "lastEventId=1", "token=t", "events=,", "%", "ns=a&ns=b", "events=" + strings.Repeat("a,", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseSSEQuery(raw, "token")
		if err != nil {
			if !errors.Is(err, ErrBadSSEQuery) {
				t.Fatalf("%q: %v does not wrap ErrBadSSEQuery", raw, err)
			}
			return
		}
		if !strings.HasPrefix(q.namespace, "/") || len(q.events) > maxSSEEvents {
			t.Fatalf("%q read as %+v", raw, q)
		}
		for _, ev := range q.events {
			if ev == "" || len(ev) > maxSSEEventBytes || strings.Contains(ev, ",") {
				t.Fatalf("%q: event %q", raw, ev)
			}
		}
	})
}

func TestCheckSSEQuery(t *testing.T) {
	m, err := NewMapping([]string{"tasks.assigned=newTaskAssigned", "notify.*.*=n:{2}-{3}", "x.>=alert@/admin#ops"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ns     string
		events []string
		ok     bool
	}{
		{"/", nil, true},
		{"/", []string{"newTaskAssigned", "n:a-b", "n:-", "n:a-b-c"}, true},
		{"/", []string{"n:a.b-c"}, false}, // a token holds no '.'
		{"/", []string{"alert"}, false},   // another namespace's
		{"/admin", []string{"alert"}, true},
		{"/other", nil, false},
	} {
		err := m.checkSSEQuery(sseQuery{namespace: tc.ns, events: tc.events})
		if (err == nil) != tc.ok {
			t.Errorf("ns %q events %q: %v, want ok %v", tc.ns, tc.events, err, tc.ok)
		}
	}
}

// FuzzTemplateMatches: the name a rule renders from any subject it
// matches is one templateMatches accepts, so that a stream can always
// ask for an event a rule emits.
func FuzzTemplateMatches(f *testing.F) {
	f.Add("a.*.*", "ev:{2}-{3}", "a.x.y", "ev:x-y")
	f.Add("a.>", "{2}{3}{2}", "a.b.c.d", "bcb")
	f.Add("*.*", "{1}.{2}", "p.q", "p.q")
	f.Fuzz(func(t *testing.T, pattern, event, subject, name string) {
		r, err := ParseRule(pattern + "=" + event)
		if err != nil {
			return
		}
		toks := strings.Split(subject, ".")
		if r.matches(toks) {
			if rendered := render(r.parts, toks); !templateMatches(r.parts, rendered) {
				t.Fatalf("rule %q renders %q from %q, which templateMatches refuses", r, rendered, subject)
			}
		}
		// A name accepted without placeholders is the literal event.
		if templateMatches(r.parts, name) && !strings.Contains(r.Event, "{") && name != r.Event {
			t.Fatalf("rule %q: literal template accepts %q", r, name)
		}
	})
}
