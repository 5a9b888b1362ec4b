package bridge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/natsock/natsock/protocol/sio"
)

// Errors from parsing --map and --inbound values. Each error reads
// "<sentinel>: --map VALUE: <part>: <reason>", e.g.
//
//	bridge: bad placeholder: --map "tasks.*=task:{3}": event "task:{3}": {3} names token 3, but the subject has 2
var (
	ErrBadRule        = errors.New("bridge: bad rule")
	ErrBadSubject     = errors.New("bridge: bad subject")
	ErrBadPlaceholder = errors.New("bridge: bad placeholder")
)

// Route is where a NATS message goes on the socket.io side: the event name
// to emit, in which namespace, to which room ("" means every socket of the
// namespace).
type Route struct {
	Namespace string
	Room      string
	Event     string
}

// Rule is one --map SUBJECT=EVENT: a subject pattern (NATS wildcards
// allowed) and an event template whose {N} placeholders take the subject's
// N-th token (1-based).
type Rule struct {
	Pattern string
	Event   string

	tokens []string  // the pattern split on "."
	parts  []tplPart // the event template, parsed
	index  int       // position among the Mapping's rules
}

type tplPart struct {
	lit   string
	token int // 1-based subject token; 0 for a literal part
}

// Mapping is the ordered set of --map rules. When several rules match one
// subject, the first one given wins: a message is emitted once, as the
// event of the earliest matching rule. Mapping is pure: it does no I/O and
// is safe for concurrent use once built.
type Mapping struct {
	rules []*Rule
}

// ParseRule parses one --map value, SUBJECT=EVENT.
func ParseRule(value string) (*Rule, error) {
	subject, event, ok := strings.Cut(value, "=")
	if !ok {
		return nil, fmt.Errorf("%w: --map %q: want SUBJECT=EVENT, found no '='", ErrBadRule, value)
	}
	subject, event = strings.TrimSpace(subject), strings.TrimSpace(event)
	if subject == "" {
		return nil, fmt.Errorf("%w: --map %q: the subject (left of '=') is empty", ErrBadRule, value)
	}
	if event == "" {
		return nil, fmt.Errorf("%w: --map %q: the event (right of '=') is empty", ErrBadRule, value)
	}
	tokens, err := splitPattern(subject, true)
	if err != nil {
		return nil, fmt.Errorf("%w: --map %q: subject %q: %w", ErrBadSubject, value, subject, err)
	}
	parts, err := parseTemplate(event, tokens)
	if err != nil {
		return nil, fmt.Errorf("%w: --map %q: event %q: %w", ErrBadPlaceholder, value, event, err)
	}
	if sio.IsReserved(event) {
		return nil, fmt.Errorf("%w: --map %q: event %q: reserved by socket.io (a client would take it for its own %[3]q event)", ErrBadRule, value, event)
	}
	return &Rule{Pattern: subject, Event: event, tokens: tokens, parts: parts}, nil
}

// NewMapping parses every --map value and reports every bad one at once.
func NewMapping(values []string) (*Mapping, error) {
	m := &Mapping{}
	var errs []error
	for _, v := range values {
		r, err := ParseRule(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.index = len(m.rules)
		m.rules = append(m.rules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Rules returns the rules in the order given.
func (m *Mapping) Rules() []*Rule { return m.rules }

// Match returns the route of the first rule whose pattern matches subject,
// and that rule.
func (m *Mapping) Match(subject string) (Route, *Rule, bool) {
	var toks []string
	for _, r := range m.rules {
		if toks == nil {
			toks = strings.Split(subject, ".")
		}
		if r.matches(toks) {
			return Route{Namespace: "/", Event: r.render(toks)}, r, true
		}
	}
	return Route{}, nil, false
}

// RouteFor returns the route of subject through rule r, or false when an
// earlier rule matches subject (it owns the message) or r does not. Each
// rule's subscription calls it, so a subject matched by several rules is
// emitted once.
func (m *Mapping) RouteFor(r *Rule, subject string) (Route, bool) {
	toks := strings.Split(subject, ".")
	if !r.matches(toks) {
		return Route{}, false
	}
	for _, earlier := range m.rules[:r.index] {
		if earlier.matches(toks) {
			return Route{}, false
		}
	}
	return Route{Namespace: "/", Event: r.render(toks)}, true
}

// Matches reports whether subject matches the rule's pattern.
func (r *Rule) Matches(subject string) bool { return r.matches(strings.Split(subject, ".")) }

func (r *Rule) matches(subj []string) bool {
	for i, p := range r.tokens {
		switch {
		case p == ">":
			return len(subj) > i
		case i >= len(subj):
			return false
		case p != "*" && p != subj[i]:
			return false
		}
	}
	return len(subj) == len(r.tokens)
}

// render builds the event name for a matching subject.
func (r *Rule) render(subj []string) string {
	if len(r.parts) == 1 && r.parts[0].token == 0 {
		return r.parts[0].lit
	}
	var b strings.Builder
	for _, p := range r.parts {
		if p.token == 0 {
			b.WriteString(p.lit)
		} else {
			b.WriteString(subj[p.token-1])
		}
	}
	return b.String()
}

// splitPattern validates a NATS subject (wildcards allowed if wild) and
// returns its tokens. Its errors are the bare reason; the caller names the
// flag, the part and the sentinel.
func splitPattern(s string, wild bool) ([]string, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == 0 {
			return nil, errors.New("contains white space or NUL")
		}
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return nil, fmt.Errorf("token %d is empty (leading, trailing or double '.')", i+1)
		case (t == "*" || t == ">") && !wild:
			return nil, fmt.Errorf("wildcard %q not allowed here: a publish subject must be literal", t)
		case t == ">" && i != len(tokens)-1:
			return nil, errors.New("'>' must be the last token")
		case len(t) > 1 && strings.ContainsAny(t, "*>"):
			return nil, fmt.Errorf("token %q mixes a wildcard with other characters", t)
		}
	}
	return tokens, nil
}

// parseTemplate parses an event template against the pattern's tokens. A
// placeholder must name a token the pattern guarantees. Its errors are the
// bare reason, as splitPattern's.
func parseTemplate(tpl string, pattern []string) ([]tplPart, error) {
	var parts []tplPart
	rest := tpl
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return nil, errors.New("'}' without '{'")
			}
			parts = append(parts, tplPart{lit: rest})
			break
		}
		if strings.IndexByte(rest[:open], '}') >= 0 {
			return nil, errors.New("'}' without '{'")
		}
		if open > 0 {
			parts = append(parts, tplPart{lit: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, errors.New("'{' without '}'")
		}
		name := rest[open+1 : open+end]
		n, err := strconv.Atoi(name)
		if err != nil || n < 1 || strings.HasPrefix(name, "+") {
			return nil, fmt.Errorf("{%s} is not a token number (want {1}, {2}, ...)", name)
		}
		if n > len(pattern) {
			return nil, fmt.Errorf("{%d} names token %d, but the subject has %d", n, n, len(pattern))
		}
		parts = append(parts, tplPart{token: n})
		rest = rest[open+end+1:]
	}
	return parts, nil
}

// InboundRule is one --inbound EVENT=SUBJECT: when a client emits Event,
// its arguments are published to Subject (or requested, with an ack).
type InboundRule struct {
	Event   string
	Subject string
}

// Inbound maps client event names to NATS subjects. Pure and safe for
// concurrent use once built.
type Inbound struct {
	rules map[string]InboundRule
	order []InboundRule
}

// ParseInboundRule parses one --inbound value, EVENT=SUBJECT.
func ParseInboundRule(value string) (InboundRule, error) {
	event, subject, ok := strings.Cut(value, "=")
	if !ok {
		return InboundRule{}, fmt.Errorf("%w: --inbound %q: want EVENT=SUBJECT, found no '='", ErrBadRule, value)
	}
	event, subject = strings.TrimSpace(event), strings.TrimSpace(subject)
	if event == "" {
		return InboundRule{}, fmt.Errorf("%w: --inbound %q: the event (left of '=') is empty", ErrBadRule, value)
	}
	if subject == "" {
		return InboundRule{}, fmt.Errorf("%w: --inbound %q: the subject (right of '=') is empty", ErrBadRule, value)
	}
	if sio.IsReserved(event) {
		return InboundRule{}, fmt.Errorf("%w: --inbound %q: event %q: reserved by socket.io (no client can emit it)", ErrBadRule, value, event)
	}
	if _, err := splitPattern(subject, false); err != nil {
		return InboundRule{}, fmt.Errorf("%w: --inbound %q: subject %q: %w", ErrBadSubject, value, subject, err)
	}
	return InboundRule{Event: event, Subject: subject}, nil
}

// NewInbound parses every --inbound value and reports every bad one at
// once; an event named twice is an error.
func NewInbound(values []string) (*Inbound, error) {
	in := &Inbound{rules: make(map[string]InboundRule)}
	var errs []error
	for _, v := range values {
		r, err := ParseInboundRule(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := in.rules[r.Event]; dup {
			errs = append(errs, fmt.Errorf("%w: --inbound %q: event %q is already mapped to %q", ErrBadRule, v, r.Event, prev.Subject))
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
func (in *Inbound) Lookup(event string) (InboundRule, bool) {
	r, ok := in.rules[event]
	return r, ok
}

// Rules returns the rules in the order given.
func (in *Inbound) Rules() []InboundRule { return in.order }
