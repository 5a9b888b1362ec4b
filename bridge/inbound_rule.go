package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/protocol/sio"
)

// ErrEmitRefused is wrapped by every reason [InboundRule.Authorize] gives
// for refusing a client's emit. The text after the prefix is what the
// client's acknowledgement hears.
var ErrEmitRefused = errors.New("bridge: emit refused")

// InboundRule is one --inbound value:
//
//	EVENT=SUBJECT                                  anyone may emit EVENT
//	EVENT=SUBJECT?CLAIM=VALUE                      only sockets whose CLAIM is VALUE
//	EVENT=SUBJECT?CLAIM=V1|V2&OTHER=V3             CLAIM is V1 or V2, and OTHER is V3
//	EVENT=chat.{sub}.out                           the subject takes the socket's claims
//
// A claim that is an array satisfies CLAIM=VALUE when it contains VALUE;
// numbers and booleans compare by their JSON text (42, true). A CLAIM may
// be a dotted path into nested claims (realm_access.roles) when no claim
// has the whole dotted name. A {CLAIM} placeholder in SUBJECT is filled
// with the socket's claim value, which must be one valid subject token
// (not empty, no '.', '*', '>' or white space) or the emit is refused:
// a client cannot publish as someone else. {sub} is the identity's
// Subject. A rule with a requirement or a placeholder refuses anonymous
// sockets. SUBJECT cannot contain '?' (the first '?' starts the
// requirements).
type InboundRule struct {
	Event   string
	Subject string // the subject, with {CLAIM} placeholders as given
	Require []ClaimRequirement

	parts []inPart // the subject template; nil when Subject is literal
}

// ClaimRequirement is one CLAIM=V1|V2 of an --inbound rule: the socket's
// claim must equal one of Values (or, for an array claim, contain one).
type ClaimRequirement struct {
	Claim  string
	Values []string
}

type inPart struct {
	lit   string
	claim string // "" for a literal part
}

// Inbound maps client event names to NATS subjects. Pure and safe for
// concurrent use once built.
type Inbound struct {
	rules map[string]*InboundRule
	order []*InboundRule
}

// ParseInboundRule parses one --inbound value; see [InboundRule] for its
// forms.
func ParseInboundRule(value string) (*InboundRule, error) {
	event, rhs, ok := strings.Cut(value, "=")
	if !ok {
		return nil, fmt.Errorf("%w: want EVENT=SUBJECT, found no '='", ErrBadRule)
	}
	subject, query, hasQuery := strings.Cut(rhs, "?")
	event, subject = strings.TrimSpace(event), strings.TrimSpace(subject)
	if event == "" {
		return nil, fmt.Errorf("%w: the event (left of '=') is empty", ErrBadRule)
	}
	if subject == "" {
		return nil, fmt.Errorf("%w: the subject (right of '=') is empty", ErrBadRule)
	}
	if sio.IsReserved(event) {
		return nil, fmt.Errorf("%w: event %q: reserved by socket.io (no client can emit it)", ErrBadRule, event)
	}
	r := &InboundRule{Event: event, Subject: subject}
	var err error
	if r.parts, err = parseSubjectTemplate(subject); err != nil {
		return nil, fmt.Errorf("%w: subject %q: %w", ErrBadPlaceholder, subject, err)
	}
	// The literal parts must make a valid publish subject whatever one
	// token a placeholder takes.
	if _, err := splitPattern(fillSubject(r.parts, subject, "x"), false); err != nil {
		return nil, fmt.Errorf("%w: subject %q: %w", ErrBadSubject, subject, err)
	}
	if hasQuery {
		if r.Require, err = parseRequirements(query); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadRule, err)
		}
	}
	return r, nil
}

// parseSubjectTemplate finds the {CLAIM} placeholders of an inbound
// subject; nil parts means the subject is literal.
func parseSubjectTemplate(subject string) ([]inPart, error) {
	if !strings.ContainsAny(subject, "{}") {
		return nil, nil
	}
	var parts []inPart
	err := scanTemplate(subject, func(lit, name string) error {
		if lit != "" {
			parts = append(parts, inPart{lit: lit})
			return nil
		}
		if err := checkClaimName(name); err != nil {
			return fmt.Errorf("{%s}: %w", name, err)
		}
		if _, err := strconv.Atoi(name); err == nil {
			return fmt.Errorf("{%s}: an inbound subject takes claim names ({sub}, {team}), not token numbers", name)
		}
		parts = append(parts, inPart{claim: name})
		return nil
	})
	return parts, err
}

// checkClaimName accepts a claim name or dotted path.
func checkClaimName(name string) error {
	switch {
	case name == "":
		return errors.New("the claim name is empty")
	case strings.ContainsFunc(name, isSpaceOrNUL):
		return errors.New("the claim name contains white space or NUL")
	case strings.ContainsAny(name, "{}=&|?"):
		return errors.New("the claim name contains one of { } = & | ?")
	}
	return nil
}

// fillSubject renders parts with every placeholder replaced by v; subject
// itself when there are no placeholders.
func fillSubject(parts []inPart, subject, v string) string {
	if parts == nil {
		return subject
	}
	var b strings.Builder
	for _, p := range parts {
		if p.claim != "" {
			b.WriteString(v)
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// parseRequirements parses CLAIM=V1|V2&CLAIM=V3.
func parseRequirements(query string) ([]ClaimRequirement, error) {
	if strings.TrimSpace(query) == "" {
		return nil, errors.New("no requirement after '?'; want CLAIM=VALUE[|VALUE...][&CLAIM=VALUE...]")
	}
	var reqs []ClaimRequirement
	for _, term := range strings.Split(query, "&") {
		claim, values, ok := strings.Cut(term, "=")
		claim = strings.TrimSpace(claim)
		if !ok {
			return nil, fmt.Errorf("requirement %q: want CLAIM=VALUE, found no '='", strings.TrimSpace(term))
		}
		if err := checkClaimName(claim); err != nil {
			return nil, fmt.Errorf("requirement %q: %w", strings.TrimSpace(term), err)
		}
		req := ClaimRequirement{Claim: claim}
		for _, v := range strings.Split(values, "|") {
			v = strings.TrimSpace(v)
			if v == "" {
				return nil, fmt.Errorf("requirement %q: an empty value (want CLAIM=VALUE or CLAIM=V1|V2)", strings.TrimSpace(term))
			}
			req.Values = append(req.Values, v)
		}
		reqs = append(reqs, req)
	}
	return reqs, nil
}

// NewInbound parses every --inbound value and reports every bad one at
// once; an event named twice is an error.
func NewInbound(values []string) (*Inbound, error) {
	in := &Inbound{rules: make(map[string]*InboundRule)}
	var errs []error
	for _, v := range values {
		r, err := ParseInboundRule(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("inbound %q: %w", v, err))
			continue
		}
		if prev, dup := in.rules[r.Event]; dup {
			errs = append(errs, fmt.Errorf("inbound %q: %w: event %q is already mapped to %q", v, ErrBadRule, r.Event, prev.Subject))
			continue
		}
		in.rules[r.Event] = r
		in.order = append(in.order, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return in, nil
}

// Lookup returns the rule for a client event.
func (in *Inbound) Lookup(event string) (*InboundRule, bool) {
	r, ok := in.rules[event]
	return r, ok
}

// Rules returns the rules in the order given.
func (in *Inbound) Rules() []*InboundRule { return in.order }

// String returns the rule as an --inbound value that parses back to it.
func (r *InboundRule) String() string {
	s := r.Event + "=" + r.Subject
	for i, req := range r.Require {
		if i == 0 {
			s += "?"
		} else {
			s += "&"
		}
		s += req.Claim + "=" + strings.Join(req.Values, "|")
	}
	return s
}

// Authorize decides whether a socket with identity id (nil: anonymous) may
// emit the rule's event, and returns the subject to publish to. Its error
// wraps [ErrEmitRefused] and says why, without the claim's value.
func (r *InboundRule) Authorize(id *auth.Identity) (string, error) {
	if id == nil {
		if r.Require != nil || r.parts != nil {
			return "", fmt.Errorf("%w: event %q needs an authenticated socket", ErrEmitRefused, r.Event)
		}
		return r.Subject, nil
	}
	if id.Emit != nil && !containsString(id.Emit, r.Event) {
		return "", fmt.Errorf("%w: event %q is not among the events this socket may emit", ErrEmitRefused, r.Event)
	}
	for _, req := range r.Require {
		v, ok := claimOf(id, req.Claim)
		if !ok || !claimHolds(v, req.Values) {
			return "", fmt.Errorf("%w: event %q needs claim %s=%s", ErrEmitRefused, r.Event, req.Claim, strings.Join(req.Values, "|"))
		}
	}
	if r.parts == nil {
		return r.Subject, nil
	}
	var b strings.Builder
	for _, p := range r.parts {
		if p.claim == "" {
			b.WriteString(p.lit)
			continue
		}
		v, ok := claimOf(id, p.claim)
		if !ok {
			return "", fmt.Errorf("%w: event %q: subject %q needs claim %q, which this socket does not have", ErrEmitRefused, r.Event, r.Subject, p.claim)
		}
		tok, ok := scalarText(v)
		if !ok {
			return "", fmt.Errorf("%w: event %q: claim %q is not a string or number, so it cannot stand in subject %q", ErrEmitRefused, r.Event, p.claim, r.Subject)
		}
		if why := tokenProblem(tok); why != "" {
			return "", fmt.Errorf("%w: event %q: claim %q cannot stand in subject %q: it %s", ErrEmitRefused, r.Event, p.claim, r.Subject, why)
		}
		b.WriteString(tok)
	}
	return b.String(), nil
}

// claimOf finds a claim by name; {sub} is the identity's Subject when it
// has one. A dotted name no claim holds whole is a path into nested
// objects.
func claimOf(id *auth.Identity, name string) (any, bool) {
	if name == "sub" && id.Subject != "" {
		return id.Subject, true
	}
	if v, ok := id.Claims[name]; ok {
		return v, v != nil
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	var cur any = id.Claims
	for _, key := range strings.Split(name, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[key]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// claimHolds reports whether a claim equals one of values, or, for an
// array, contains one.
func claimHolds(v any, values []string) bool {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if s, ok := scalarText(e); ok && containsString(values, s) {
				return true
			}
		}
		return false
	}
	if arr, ok := v.([]string); ok {
		for _, s := range arr {
			if containsString(values, s) {
				return true
			}
		}
		return false
	}
	s, ok := scalarText(v)
	if !ok {
		if b, isBool := v.(bool); isBool {
			return containsString(values, strconv.FormatBool(b))
		}
		return false
	}
	return containsString(values, s)
}

// scalarText is a string or number claim's text: a number as JSON writes
// it (42, not 42.0).
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}

// tokenProblem says why s cannot be one literal NATS subject token, or "".
func tokenProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case strings.ContainsAny(s, ".*>"):
		return "contains '.', '*' or '>'"
	case strings.ContainsFunc(s, isSpaceOrNUL):
		return "contains white space or NUL"
	}
	return ""
}
