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
// "<sentinel>: <part>: <reason>"; the caller names the rule and where it
// came from. E.g.
//
//	bridge: bad placeholder: event "task:{3}": {3} names token 3, but the subject has 2
var (
	ErrBadRule        = errors.New("bridge: bad rule")
	ErrBadSubject     = errors.New("bridge: bad subject")
	ErrBadPlaceholder = errors.New("bridge: bad placeholder")
)

// ErrBadRoom is wrapped by the error [Mapping.Route] returns when a
// rule's room cannot be built from a subject (a token it names is empty,
// or the room would pass [MaxRoomBytes]). Such a message is dropped: a
// message meant for one room is never sent to a whole namespace.
var ErrBadRoom = errors.New("bridge: no room for this subject")

// MaxRoomBytes bounds a room name built from a subject's tokens; a longer
// one drops the message (see [ErrBadRoom]). Literal rooms in a rule are
// held to it at start.
const MaxRoomBytes = 256

// MaxNamespaceBytes bounds a namespace named in a --map rule.
const MaxNamespaceBytes = 128

// Route is where a NATS message goes on the socket.io side: the event name
// to emit, in which namespace, to which room ("" means every socket of the
// namespace).
type Route struct {
	Namespace string
	Room      string
	Event     string
}

// Rule is one --map value:
//
//	SUBJECT=EVENT               every socket of namespace "/"
//	SUBJECT=EVENT@ROOM          the sockets in ROOM of namespace "/"
//	SUBJECT=EVENT@/NS           every socket of namespace /NS
//	SUBJECT=EVENT@/NS#ROOM      the sockets in ROOM of namespace /NS
//
// SUBJECT is a NATS subject pattern (wildcards allowed). EVENT and ROOM are
// templates whose {N} placeholders take the subject's N-th token (1-based);
// the namespace is literal, declared at start and never built from a
// subject. EVENT cannot contain '@' (the first '@' starts the target).
type Rule struct {
	Pattern   string
	Event     string
	Namespace string // "/" unless the rule names one
	Room      string // the room template; "" sends to the whole namespace

	tokens []string  // the pattern split on "."
	parts  []tplPart // the event template, parsed
	room   []tplPart // the room template, parsed; nil for no room
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

// ParseRule parses one --map value; see [Rule] for its forms.
func ParseRule(value string) (*Rule, error) {
	subject, rhs, ok := strings.Cut(value, "=")
	if !ok {
		return nil, fmt.Errorf("%w: want SUBJECT=EVENT, found no '='", ErrBadRule)
	}
	event, target, targeted := strings.Cut(rhs, "@")
	subject, event, target = strings.TrimSpace(subject), strings.TrimSpace(event), strings.TrimSpace(target)
	if subject == "" {
		return nil, fmt.Errorf("%w: the subject (left of '=') is empty", ErrBadRule)
	}
	if event == "" {
		return nil, fmt.Errorf("%w: the event (right of '=') is empty", ErrBadRule)
	}
	tokens, err := splitPattern(subject, true)
	if err != nil {
		return nil, fmt.Errorf("%w: subject %q: %w", ErrBadSubject, subject, err)
	}
	parts, err := parseTemplate(event, tokens)
	if err != nil {
		return nil, fmt.Errorf("%w: event %q: %w", ErrBadPlaceholder, event, err)
	}
	if sio.IsReserved(event) {
		return nil, fmt.Errorf("%w: event %q: reserved by socket.io (a client would take it for its own %[2]q event)", ErrBadRule, event)
	}
	r := &Rule{Pattern: subject, Event: event, Namespace: "/", tokens: tokens, parts: parts}
	if !targeted {
		return r, nil
	}
	if target == "" {
		return nil, fmt.Errorf("%w: the target (right of '@') is empty; want ROOM, /NAMESPACE or /NAMESPACE#ROOM", ErrBadRule)
	}
	room := target
	if strings.HasPrefix(target, "/") {
		ns, rest, hasRoom := strings.Cut(target, "#")
		if err := checkNamespace(ns); err != nil {
			return nil, fmt.Errorf("%w: namespace %q: %w", ErrBadRule, ns, err)
		}
		r.Namespace = ns
		if !hasRoom {
			return r, nil
		}
		if room = rest; room == "" {
			return nil, fmt.Errorf("%w: the room (right of '#') is empty", ErrBadRule)
		}
	}
	if r.room, err = parseTemplate(room, tokens); err != nil {
		return nil, fmt.Errorf("%w: room %q: %w", ErrBadPlaceholder, room, err)
	}
	if strings.ContainsFunc(room, isSpaceOrNUL) {
		return nil, fmt.Errorf("%w: room %q: contains white space or NUL", ErrBadRule, room)
	}
	if lit := literalBytes(r.room); lit > MaxRoomBytes {
		return nil, fmt.Errorf("%w: room %q: its literal part is %d bytes, over the %d-byte bound on a room name", ErrBadRule, room, lit, MaxRoomBytes)
	}
	r.Room = room
	return r, nil
}

// checkNamespace accepts a socket.io namespace a rule may name: "/", or
// "/" and letters, digits and - _ . ~ / (what travels unescaped in a
// Socket.IO packet and a URL path).
func checkNamespace(ns string) error {
	if len(ns) > MaxNamespaceBytes {
		return fmt.Errorf("%d bytes, over the %d-byte bound", len(ns), MaxNamespaceBytes)
	}
	for _, c := range ns {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("-_.~/", c):
		case c == '{' || c == '}':
			return errors.New("a namespace is declared at start and cannot take placeholders")
		default:
			return fmt.Errorf("character %q not allowed (want letters, digits and - _ . ~ /)", c)
		}
	}
	return nil
}

func isSpaceOrNUL(r rune) bool { return unicode.IsSpace(r) || r == 0 }

func literalBytes(parts []tplPart) int {
	n := 0
	for _, p := range parts {
		n += len(p.lit)
	}
	return n
}

// NewMapping parses every --map value and reports every bad one at once.
func NewMapping(values []string) (*Mapping, error) {
	m := &Mapping{}
	var errs []error
	for _, v := range values {
		r, err := ParseRule(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("map %q: %w", v, err))
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

// Namespaces returns the namespaces the rules name, "/" first and each
// once: the bridge declares these at start, and no other.
func (m *Mapping) Namespaces() []string {
	out := []string{"/"}
	for _, r := range m.rules {
		if !containsString(out, r.Namespace) {
			out = append(out, r.Namespace)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Match returns the route of the first rule whose pattern matches subject,
// and that rule; rule is nil when none matches. err wraps [ErrBadRoom] when
// the matching rule's room cannot be built from subject: the message must
// be dropped.
func (m *Mapping) Match(subject string) (route Route, rule *Rule, err error) {
	var toks []string
	for _, r := range m.rules {
		if toks == nil {
			toks = strings.Split(subject, ".")
		}
		if r.matches(toks) {
			route, err := r.route(toks)
			return route, r, err
		}
	}
	return Route{}, nil, nil
}

// Route returns the route of subject through rule r. ok is false when an
// earlier rule matches subject (it owns the message) or r does not. Each
// rule's subscription calls it, so a subject matched by several rules is
// emitted once. err wraps [ErrBadRoom] when r owns subject but cannot build
// its room from it: the message must be dropped, never broadcast.
func (m *Mapping) Route(r *Rule, subject string) (route Route, ok bool, err error) {
	toks := strings.Split(subject, ".")
	if !r.matches(toks) {
		return Route{}, false, nil
	}
	for _, earlier := range m.rules[:r.index] {
		if earlier.matches(toks) {
			return Route{}, false, nil
		}
	}
	route, err = r.route(toks)
	return route, true, err
}

// String returns the rule as a --map value that parses back to it.
func (r *Rule) String() string {
	s := r.Pattern + "=" + r.Event
	switch {
	case r.Namespace != "/" && r.Room != "":
		return s + "@" + r.Namespace + "#" + r.Room
	case r.Namespace != "/":
		return s + "@" + r.Namespace
	case r.Room != "":
		return s + "@" + r.Room
	}
	return s
}

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

// route builds the route for a subject the rule matches.
func (r *Rule) route(subj []string) (Route, error) {
	route := Route{Namespace: r.Namespace, Event: render(r.parts, subj)}
	if r.room == nil {
		return route, nil
	}
	for _, p := range r.room {
		if p.token != 0 && subj[p.token-1] == "" {
			return Route{}, fmt.Errorf("%w: room %q: token {%d} of the subject is empty", ErrBadRoom, r.Room, p.token)
		}
	}
	route.Room = render(r.room, subj)
	if len(route.Room) > MaxRoomBytes {
		return Route{}, fmt.Errorf("%w: room %q: would be %d bytes, over the %d-byte bound", ErrBadRoom, r.Room, len(route.Room), MaxRoomBytes)
	}
	return route, nil
}

// render fills a template with a matching subject's tokens.
func render(parts []tplPart, subj []string) string {
	if len(parts) == 1 {
		if parts[0].token == 0 {
			return parts[0].lit
		}
		return subj[parts[0].token-1]
	}
	var b strings.Builder
	for _, p := range parts {
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
	if strings.ContainsFunc(s, isSpaceOrNUL) {
		return nil, errors.New("contains white space or NUL")
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

// parseTemplate parses an event or room template against the pattern's
// tokens. A placeholder must name a token the pattern guarantees. Its
// errors are the bare reason, as splitPattern's.
func parseTemplate(tpl string, pattern []string) ([]tplPart, error) {
	var parts []tplPart
	err := scanTemplate(tpl, func(lit, name string) error {
		if name == "" && lit != "" {
			parts = append(parts, tplPart{lit: lit})
			return nil
		}
		n, err := strconv.Atoi(name)
		if err != nil || n < 1 || strings.HasPrefix(name, "+") {
			return fmt.Errorf("{%s} is not a token number (want {1}, {2}, ...)", name)
		}
		if n > len(pattern) {
			return fmt.Errorf("{%d} names token %d, but the subject has %d", n, n, len(pattern))
		}
		parts = append(parts, tplPart{token: n})
		return nil
	})
	return parts, err
}

// scanTemplate splits tpl into literal runs and {name} placeholders,
// calling fn(lit, "") for a literal and fn("", name) for a placeholder (an
// empty {} is fn("", "")). Braces do not nest and cannot be escaped.
func scanTemplate(tpl string, fn func(lit, name string) error) error {
	rest := tpl
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return errors.New("'}' without '{'")
			}
			return fn(rest, "")
		}
		if strings.IndexByte(rest[:open], '}') >= 0 {
			return errors.New("'}' without '{'")
		}
		if open > 0 {
			if err := fn(rest[:open], ""); err != nil {
				return err
			}
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return errors.New("'{' without '}'")
		}
		if err := fn("", rest[open+1:open+end]); err != nil {
			return err
		}
		rest = rest[open+end+1:]
	}
	return nil
}
