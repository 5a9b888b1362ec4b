package bridge_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/auth"
)

func TestParseInboundRule(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		event   string
		subject string
		require []bridge.ClaimRequirement
		is      error
		errText []string
	}{
		{name: "the guide's event maps to a subject", value: "taskAssigned=tasks.assigned",
			event: "taskAssigned", subject: "tasks.assigned"},
		{name: "white space around either side is trimmed", value: " taskAssigned = tasks.assigned ",
			event: "taskAssigned", subject: "tasks.assigned"},
		{name: "an event name may contain punctuation", value: "task:assign=tasks.assign",
			event: "task:assign", subject: "tasks.assign"},
		{name: "a rule may require a claim value", value: "taskAssigned=tasks.assigned?role=manager",
			event: "taskAssigned", subject: "tasks.assigned", require: []bridge.ClaimRequirement{{Claim: "role", Values: []string{"manager"}}}},
		{name: "a requirement may accept several values", value: "taskAssigned=tasks.assigned?role=manager|admin",
			event: "taskAssigned", subject: "tasks.assigned", require: []bridge.ClaimRequirement{{Claim: "role", Values: []string{"manager", "admin"}}}},
		{name: "several requirements must all hold", value: "x=a.b?role=manager & tier=gold",
			event: "x", subject: "a.b", require: []bridge.ClaimRequirement{{Claim: "role", Values: []string{"manager"}}, {Claim: "tier", Values: []string{"gold"}}}},
		{name: "a requirement may name a nested claim by its path", value: "x=a.b?realm_access.roles=admin",
			event: "x", subject: "a.b", require: []bridge.ClaimRequirement{{Claim: "realm_access.roles", Values: []string{"admin"}}}},
		{name: "a subject may take a claim as a whole token", value: "say=chat.{sub}.out",
			event: "say", subject: "chat.{sub}.out"},
		{name: "a subject may take a claim inside a token", value: "say=chat.user-{sub}.out",
			event: "say", subject: "chat.user-{sub}.out"},
		{name: "a subject may take claims and require others", value: "say=chat.{team}.{sub}?role=member",
			event: "say", subject: "chat.{team}.{sub}", require: []bridge.ClaimRequirement{{Claim: "role", Values: []string{"member"}}}},

		{name: "a value with no '=' is refused", value: "taskAssigned", is: bridge.ErrBadRule,
			errText: []string{"EVENT=SUBJECT", "no '='"}},
		{name: "an empty event is refused", value: "=tasks.assigned", is: bridge.ErrBadRule,
			errText: []string{"event (left of '=')", "is empty"}},
		{name: "an empty subject is refused", value: "taskAssigned=", is: bridge.ErrBadRule,
			errText: []string{"subject (right of '=')", "is empty"}},
		{name: "an empty subject before requirements is refused", value: "taskAssigned=?role=x", is: bridge.ErrBadRule,
			errText: []string{"subject (right of '=')", "is empty"}},
		{name: "a star wildcard subject is refused", value: "taskAssigned=tasks.*", is: bridge.ErrBadSubject,
			errText: []string{`subject "tasks.*"`, "publish subject must be literal"}},
		{name: "a full wildcard subject is refused", value: "taskAssigned=tasks.>", is: bridge.ErrBadSubject,
			errText: []string{`subject "tasks.>"`, "publish subject must be literal"}},
		{name: "a subject with an empty token is refused", value: "taskAssigned=tasks..x", is: bridge.ErrBadSubject,
			errText: []string{`subject "tasks..x"`, "token 2 is empty"}},
		{name: "a reserved event name is refused", value: "connect=tasks.connect", is: bridge.ErrBadRule,
			errText: []string{`event "connect"`, "reserved"}},
		{name: "nothing after '?' is refused", value: "x=a.b?", is: bridge.ErrBadRule,
			errText: []string{"no requirement after '?'"}},
		{name: "a requirement with no value is refused", value: "x=a.b?role", is: bridge.ErrBadRule,
			errText: []string{`requirement "role"`, "no '='"}},
		{name: "a requirement with an empty value is refused", value: "x=a.b?role=", is: bridge.ErrBadRule,
			errText: []string{"an empty value"}},
		{name: "an empty alternative is refused", value: "x=a.b?role=a||b", is: bridge.ErrBadRule,
			errText: []string{"an empty value"}},
		{name: "a requirement with an empty claim name is refused", value: "x=a.b?=admin", is: bridge.ErrBadRule,
			errText: []string{"claim name is empty"}},
		{name: "an empty term between '&' is refused", value: "x=a.b?role=a&&tier=b", is: bridge.ErrBadRule,
			errText: []string{"no '='"}},
		{name: "a token number in an inbound subject is refused", value: "x=chat.{1}", is: bridge.ErrBadPlaceholder,
			errText: []string{`subject "chat.{1}"`, "not token numbers"}},
		{name: "an empty placeholder is refused", value: "x=chat.{}", is: bridge.ErrBadPlaceholder,
			errText: []string{"claim name is empty"}},
		{name: "an unclosed placeholder is refused", value: "x=chat.{sub", is: bridge.ErrBadPlaceholder,
			errText: []string{"'{' without '}'"}},
		{name: "a placeholder beside an empty token is refused", value: "x=chat..{sub}", is: bridge.ErrBadSubject,
			errText: []string{`subject "chat..{sub}"`, "token 2 is empty"}},
		{name: "a placeholder beside a wildcard is refused", value: "x=chat.*{sub}", is: bridge.ErrBadSubject,
			errText: []string{"mixes a wildcard"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bridge.ParseInboundRule(tc.value)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("ParseInboundRule(%q): %v", tc.value, err)
				}
				if got.Event != tc.event || got.Subject != tc.subject || !reflect.DeepEqual(got.Require, tc.require) {
					t.Fatalf("ParseInboundRule(%q) = {%q, %q, %+v}; want {%q, %q, %+v}", tc.value,
						got.Event, got.Subject, got.Require, tc.event, tc.subject, tc.require)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("ParseInboundRule(%q) error = %v, want one wrapping %q", tc.value, err, tc.is)
			}
			for _, w := range tc.errText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseInboundRule(%q) error %q does not say %q", tc.value, err, w)
				}
			}
		})
	}
}

func TestNewInbound(t *testing.T) {
	t.Run("rules are looked up by event and kept in order", func(t *testing.T) {
		in, err := bridge.NewInbound([]string{"taskAssigned=tasks.assigned", "ask=svc.ask"})
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := in.Lookup("ask"); !ok || r.Subject != "svc.ask" {
			t.Errorf(`Lookup("ask") = %+v, %v`, r, ok)
		}
		if r, ok := in.Lookup("unknown"); ok {
			t.Errorf(`Lookup("unknown") = %+v, want no rule`, r)
		}
		rules := in.Rules()
		if len(rules) != 2 || rules[0].Event != "taskAssigned" || rules[1].Event != "ask" {
			t.Errorf("Rules() = %+v, want them in the order given", rules)
		}
	})
	t.Run("no rules is a valid, empty set", func(t *testing.T) {
		in, err := bridge.NewInbound(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := in.Lookup("taskAssigned"); ok {
			t.Error("an empty Inbound found a rule")
		}
	})
	t.Run("an event mapped twice is refused, naming both subjects", func(t *testing.T) {
		_, err := bridge.NewInbound([]string{"ask=svc.a", "ask=svc.b"})
		if !errors.Is(err, bridge.ErrBadRule) {
			t.Fatalf("err = %v, want ErrBadRule", err)
		}
		for _, w := range []string{`inbound "ask=svc.b"`, `"svc.a"`, "already mapped"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	})
	t.Run("every bad rule is reported at once", func(t *testing.T) {
		_, err := bridge.NewInbound([]string{"a=", "=b", "c=d.*", "e=f?g"})
		if err == nil {
			t.Fatal("NewInbound accepted bad rules")
		}
		for _, v := range []string{"a=", "=b", "c=d.*", "e=f?g"} {
			if !strings.Contains(err.Error(), fmt.Sprintf("inbound %q", v)) {
				t.Errorf("error %q does not name inbound %q", err, v)
			}
		}
	})
}

func claims(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestInboundRuleAuthorize(t *testing.T) {
	tests := []struct {
		name    string
		rule    string
		id      *auth.Identity // nil: anonymous
		subject string         // "" when refused
		why     string         // what the refusal says
	}{
		{"an anonymous socket may emit an open event", "x=a.b", nil, "a.b", ""},
		{"an anonymous socket may not emit an event that needs a claim", "x=a.b?role=manager", nil, "", "needs an authenticated socket"},
		{"an anonymous socket may not emit to a subject built from claims", "say=chat.{sub}.out", nil, "", "needs an authenticated socket"},
		{"a manager may assign tasks", "taskAssigned=tasks.assigned?role=manager",
			&auth.Identity{Subject: "42", Claims: claims("role", "manager")}, "tasks.assigned", ""},
		{"a member may not assign tasks", "taskAssigned=tasks.assigned?role=manager",
			&auth.Identity{Subject: "42", Claims: claims("role", "member")}, "", "needs claim role=manager"},
		{"a user without the claim may not assign tasks", "taskAssigned=tasks.assigned?role=manager",
			&auth.Identity{Subject: "42", Claims: claims()}, "", "needs claim role=manager"},
		{"an array claim holding the value satisfies the rule", "taskAssigned=tasks.assigned?role=manager",
			&auth.Identity{Claims: claims("role", []any{"member", "manager"})}, "tasks.assigned", ""},
		{"an array claim without the value does not", "taskAssigned=tasks.assigned?role=manager",
			&auth.Identity{Claims: claims("role", []any{"member", "viewer"})}, "", "needs claim role=manager"},
		{"any of several accepted values satisfies the rule", "x=a.b?role=manager|admin",
			&auth.Identity{Claims: claims("role", "admin")}, "a.b", ""},
		{"every requirement must hold", "x=a.b?role=manager&tier=gold",
			&auth.Identity{Claims: claims("role", "manager", "tier", "silver")}, "", "needs claim tier=gold"},
		{"a number claim compares by its JSON text", "x=a.b?level=3",
			&auth.Identity{Claims: claims("level", 3.0)}, "a.b", ""},
		{"a boolean claim compares by its JSON text", "x=a.b?verified=true",
			&auth.Identity{Claims: claims("verified", true)}, "a.b", ""},
		{"a null claim satisfies nothing", "x=a.b?role=null",
			&auth.Identity{Claims: claims("role", nil)}, "", "needs claim role=null"},
		{"an object claim satisfies nothing", "x=a.b?role=manager",
			&auth.Identity{Claims: claims("role", map[string]any{"manager": true})}, "", "needs claim role=manager"},
		{"a nested claim is found by its path", "x=a.b?realm_access.roles=admin",
			&auth.Identity{Claims: claims("realm_access", map[string]any{"roles": []any{"admin"}})}, "a.b", ""},
		{"a claim named with a dot is found before a path", "x=a.b?https://x.io/role=admin",
			&auth.Identity{Claims: claims("https://x.io/role", "admin")}, "a.b", ""},
		{"the subject takes the socket's own sub", "say=chat.{sub}.out",
			&auth.Identity{Subject: "42", Claims: claims("sub", "42")}, "chat.42.out", ""},
		{"the identity's subject stands for sub", "say=chat.{sub}.out",
			&auth.Identity{Subject: "alice", Claims: claims()}, "chat.alice.out", ""},
		{"a claim may fill part of a token", "say=chat.user-{sub}.out",
			&auth.Identity{Subject: "42", Claims: claims()}, "chat.user-42.out", ""},
		{"a number claim fills a token as JSON writes it", "say=chat.{uid}",
			&auth.Identity{Claims: claims("uid", 1234567.0)}, "chat.1234567", ""},
		{"a claim with a dot is refused, never substituted", "say=chat.{sub}.out",
			&auth.Identity{Subject: "42.x", Claims: claims()}, "", "contains '.', '*' or '>'"},
		{"a claim with a star is refused", "say=chat.{sub}.out",
			&auth.Identity{Subject: "*", Claims: claims()}, "", "contains '.', '*' or '>'"},
		{"a claim with a full wildcard is refused", "say=chat.{team}.out",
			&auth.Identity{Claims: claims("team", ">")}, "", "contains '.', '*' or '>'"},
		{"a claim with white space is refused", "say=chat.{team}.out",
			&auth.Identity{Claims: claims("team", "red team")}, "", "white space"},
		{"an empty claim is refused", "say=chat.{team}.out",
			&auth.Identity{Claims: claims("team", "")}, "", "is empty"},
		{"a missing claim is refused", "say=chat.{team}.out",
			&auth.Identity{Claims: claims()}, "", `needs claim "team"`},
		{"an array claim cannot fill a subject", "say=chat.{teams}.out",
			&auth.Identity{Claims: claims("teams", []any{"a", "b"})}, "", "not a string or number"},
		{"an event missing from the emit list is refused", "x=a.b",
			&auth.Identity{Claims: claims(), Emit: []string{"other"}}, "", "not among the events this socket may emit"},
		{"an event on the emit list passes", "x=a.b",
			&auth.Identity{Claims: claims(), Emit: []string{"other", "x"}}, "a.b", ""},
		{"an empty emit list refuses everything", "x=a.b",
			&auth.Identity{Claims: claims(), Emit: []string{}}, "", "not among the events"},
		{"the emit list and the claims must both allow", "x=a.b?role=manager",
			&auth.Identity{Claims: claims("role", "member"), Emit: []string{"x"}}, "", "needs claim role=manager"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := bridge.ParseInboundRule(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Authorize(tc.id)
			if tc.subject != "" {
				if err != nil || got != tc.subject {
					t.Fatalf("Authorize = %q, %v; want %q", got, err, tc.subject)
				}
				return
			}
			if err == nil {
				t.Fatalf("Authorize = %q, want a refusal saying %q", got, tc.why)
			}
			if !errors.Is(err, bridge.ErrEmitRefused) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("Authorize error %q, want ErrEmitRefused saying %q", err, tc.why)
			}
			if got != "" {
				t.Errorf("Authorize refused but returned subject %q", got)
			}
		})
	}
}

func ExampleInboundRule_Authorize() {
	r, _ := bridge.ParseInboundRule("say=chat.{sub}.out?role=member|admin")
	for _, id := range []*auth.Identity{
		{Subject: "42", Claims: map[string]any{"role": "member"}},
		{Subject: "42", Claims: map[string]any{"role": "guest"}},
		{Subject: "43.evil", Claims: map[string]any{"role": []any{"admin"}}},
		nil,
	} {
		subject, err := r.Authorize(id)
		fmt.Printf("%q %v\n", subject, err)
	}
	// Output:
	// "chat.42.out" <nil>
	// "" bridge: emit refused: event "say" needs claim role=member|admin
	// "" bridge: emit refused: event "say": claim "sub" cannot stand in subject "chat.{sub}.out": it contains '.', '*' or '>'
	// "" bridge: emit refused: event "say" needs an authenticated socket
}

func FuzzParseInboundRule(f *testing.F) {
	for _, v := range []string{
		"taskAssigned=tasks.assigned", "x=a.b?role=manager", "x=a.b?role=a|b&tier=c", "say=chat.{sub}.out",
		"say=chat.u-{sub}.{team}?r=1", "x=a.*", "x=a.{1}", "x=a.{", "x=a.}", "x=a.b?", "x=a.b?=", "x=a.b?r=&",
		"=a", "a=", "connect=a", "x=a..{sub}", " x = a.b ? role = m ", "x=a.b?r=a||b", "x=\x00",
	} {
		f.Add(v, "42", "manager")
	}
	f.Fuzz(func(t *testing.T, value, sub, role string) {
		r, err := bridge.ParseInboundRule(value)
		if err != nil {
			if r != nil {
				t.Fatalf("ParseInboundRule(%q) returned a rule and an error %v", value, err)
			}
			if !errors.Is(err, bridge.ErrBadRule) && !errors.Is(err, bridge.ErrBadSubject) && !errors.Is(err, bridge.ErrBadPlaceholder) {
				t.Fatalf("ParseInboundRule(%q) error %q wraps no bridge sentinel", value, err)
			}
			if strings.Contains(err.Error(), "--inbound") {
				t.Fatalf("ParseInboundRule(%q) error %q names a flag; the caller names where the rule came from", value, err)
			}
			return
		}
		// A rule reparsed from its own String is the same rule.
		again, err := bridge.ParseInboundRule(r.String())
		if err != nil || again.Event != r.Event || again.Subject != r.Subject || !reflect.DeepEqual(again.Require, r.Require) {
			t.Fatalf("reparsing %q (from %q): %+v, %v", r.String(), value, again, err)
		}
		// Whatever the claims, an authorized subject is one literal,
		// valid subject, and every claim in it is the socket's own.
		id := &auth.Identity{Subject: sub, Claims: map[string]any{"sub": sub, "role": role, "team": role}}
		subject, err := r.Authorize(id)
		if err != nil {
			if !errors.Is(err, bridge.ErrEmitRefused) {
				t.Fatalf("Authorize error %q is not ErrEmitRefused", err)
			}
			return
		}
		for i, tok := range strings.Split(subject, ".") {
			if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n\x00") {
				t.Fatalf("rule %q with sub %q role %q authorized subject %q: token %d is %q", value, sub, role, subject, i+1, tok)
			}
		}
		if strings.Contains(r.Subject, "{sub}") && (sub == "" || strings.ContainsAny(sub, ".*>")) {
			t.Fatalf("rule %q took sub %q into subject %q", value, sub, subject)
		}
		for _, req := range r.Require {
			if req.Claim == "role" && !slicesContains(req.Values, role) {
				t.Fatalf("rule %q authorized role %q though it needs %v", value, role, req.Values)
			}
		}
	})
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
