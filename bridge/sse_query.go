package bridge

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The query parameters of GET /events (see sse.go).
const (
	sseParamNamespace   = "ns"          // the namespace, "/" when absent
	sseParamEvents      = "events"      // event names, comma-separated, repeatable; all when absent
	sseParamLastEventID = "lastEventId" // Last-Event-ID, for clients that cannot set the header
)

// maxSSEEvents bounds the event names one query may list, and
// maxSSEEventBytes each name.
const (
	maxSSEEvents     = 256
	maxSSEEventBytes = 1024
)

// ErrBadSSEQuery is wrapped by the errors of a GET /events query that
// cannot be served; the request is answered 400 with the error's text.
var ErrBadSSEQuery = errors.New("bridge: bad /events query")

// sseQuery is what a GET /events query asks for.
type sseQuery struct {
	namespace string
	events    []string // nil: every event of the namespace
	// lastEventID is the lastEventId parameter, read only when the
	// Last-Event-ID header is absent (hasLastEventID says it was given).
	lastEventID    string
	hasLastEventID bool
}

// parseSSEQuery reads a GET /events query string. tokenParam is the
// authentication's query parameter ("" when none), which it leaves to
// authentication. Any other parameter is an error: a misspelt one would
// otherwise widen the stream without a word (all events instead of the
// ones meant). The namespace and events are only read here; whether the
// rules serve them is checkSSEQuery's to say.
func parseSSEQuery(raw, tokenParam string) (sseQuery, error) {
	q := sseQuery{namespace: "/"}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("%w: %v", ErrBadSSEQuery, err)
	}
	for name, vs := range values {
		switch {
		case name == sseParamNamespace, name == sseParamLastEventID:
			if len(vs) > 1 {
				return q, fmt.Errorf("%w: %q is given %d times; give it once", ErrBadSSEQuery, name, len(vs))
			}
		case name == sseParamEvents:
		case name == tokenParam && tokenParam != "":
		default:
			return q, fmt.Errorf("%w: unknown parameter %q (want %s, %s or %s)", ErrBadSSEQuery, truncate(name, 64),
				sseParamNamespace, sseParamEvents, sseParamLastEventID)
		}
	}
	if vs, ok := values[sseParamNamespace]; ok {
		q.namespace = vs[0]
		if q.namespace == "" || q.namespace[0] != '/' {
			return q, fmt.Errorf("%w: namespace %q does not start with '/' (the root namespace is \"/\")", ErrBadSSEQuery, truncate(q.namespace, 64))
		}
	}
	if vs, ok := values[sseParamLastEventID]; ok {
		q.lastEventID, q.hasLastEventID = vs[0], true
	}
	for _, v := range values[sseParamEvents] {
		for name := range strings.SplitSeq(v, ",") {
			if name == "" {
				return q, fmt.Errorf("%w: an empty event name in %q (want events=NAME,NAME)", ErrBadSSEQuery, truncate(v, 64))
			}
			if len(name) > maxSSEEventBytes {
				return q, fmt.Errorf("%w: event name %q is longer than %d bytes", ErrBadSSEQuery, truncate(name, 64), maxSSEEventBytes)
			}
			if len(q.events) == maxSSEEvents {
				return q, fmt.Errorf("%w: more than %d event names", ErrBadSSEQuery, maxSSEEvents)
			}
			q.events = append(q.events, name)
		}
	}
	return q, nil
}

// checkSSEQuery says whether the rules serve q: its namespace is one they
// declare, and each event it names is one a rule of that namespace can
// emit (a literal event, or one whose placeholders the name fills).
func (m *Mapping) checkSSEQuery(q sseQuery) error {
	if !containsString(m.Namespaces(), q.namespace) {
		return fmt.Errorf("%w: namespace %q is not served (the --map rules declare %s)", ErrBadSSEQuery,
			truncate(q.namespace, 64), strings.Join(quoteAll(m.Namespaces()), ", "))
	}
	for _, ev := range q.events {
		if !m.emits(q.namespace, ev) {
			return fmt.Errorf("%w: no --map rule emits event %q in namespace %q (its rules emit %s)", ErrBadSSEQuery,
				truncate(ev, 64), q.namespace, strings.Join(quoteAll(m.eventsOf(q.namespace)), ", "))
		}
	}
	return nil
}

// emits reports whether a rule of namespace ns can emit event name.
func (m *Mapping) emits(ns, name string) bool {
	for _, r := range m.rules {
		if r.Namespace == ns && templateMatches(r.parts, name) {
			return true
		}
	}
	return false
}

// eventsOf returns the event templates of namespace ns's rules, each once.
func (m *Mapping) eventsOf(ns string) []string {
	var out []string
	for _, r := range m.rules {
		if r.Namespace == ns && !containsString(out, r.Event) {
			out = append(out, r.Event)
		}
	}
	return out
}

// templateMatches reports whether render(parts, subject) can be name for
// some subject: literal parts match themselves, a placeholder matches
// any run of characters without '.' (a subject token). It tracks the set
// of positions in name the parts so far can end at, so its cost is at
// most len(parts) * len(name)^2, whatever the template.
func templateMatches(parts []tplPart, name string) bool {
	at := make([]bool, len(name)+1) // at[i]: the parts so far can end at name[i:]
	at[0] = true
	next := make([]bool, len(name)+1)
	for _, p := range parts {
		clear(next)
		any := false
		for i, ok := range at {
			if !ok {
				continue
			}
			if p.token == 0 {
				if strings.HasPrefix(name[i:], p.lit) {
					next[i+len(p.lit)], any = true, true
				}
				continue
			}
			// A placeholder takes name[i:j] for every j up to the next '.'.
			for j := i; j <= len(name); j++ {
				if next[j] {
					break // later ends were marked from an earlier start
				}
				next[j], any = true, true
				if j < len(name) && name[j] == '.' {
					break
				}
			}
		}
		if !any {
			return false
		}
		at, next = next, at
	}
	return at[len(name)]
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// truncate bounds what a client sent before it is quoted back to it.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
