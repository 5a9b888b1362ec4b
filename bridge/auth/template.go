package auth

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Template makes room names from claims: "user:{sub}" makes "user:42" for
// a token whose sub is "42". See [ParseTemplate] for the syntax.
type Template struct {
	src   string
	parts []templatePart
}

type templatePart struct {
	lit   string // literal text, when claim is ""
	claim string // a claim name
}

// Errors of ParseTemplate.
var (
	ErrTemplateEmpty    = errors.New("auth: empty room template")
	ErrTemplateBrace    = errors.New("auth: unbalanced brace in room template")
	ErrTemplateNoClaim  = errors.New("auth: empty claim name in room template")
	ErrTemplateNotUTF8  = errors.New("auth: room template is not valid UTF-8")
	ErrTemplateNoHolder = errors.New("auth: room template has no {claim}: every socket would share its room")
)

// ParseTemplate reads a room template: literal text with {claim}
// placeholders, at least one. A claim name is looked up as a top-level
// claim first; if there is none and the name holds dots, as a path into
// nested objects ({realm_access.roles}). Braces cannot appear literally.
func ParseTemplate(s string) (*Template, error) {
	if s == "" {
		return nil, ErrTemplateEmpty
	}
	if !utf8.ValidString(s) {
		return nil, ErrTemplateNotUTF8
	}
	t := &Template{src: s}
	rest := s
	holders := 0
	for rest != "" {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			t.parts = append(t.parts, templatePart{lit: rest})
			break
		}
		if rest[open] == '}' {
			return nil, fmt.Errorf("%w: %q at byte %d", ErrTemplateBrace, "}", len(s)-len(rest)+open)
		}
		if open > 0 {
			t.parts = append(t.parts, templatePart{lit: rest[:open]})
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] == '{' {
			return nil, fmt.Errorf("%w: %q at byte %d is not closed", ErrTemplateBrace, "{", len(s)-len(rest)+open)
		}
		name := strings.TrimSpace(rest[open+1 : open+1+end])
		if name == "" {
			return nil, ErrTemplateNoClaim
		}
		t.parts = append(t.parts, templatePart{claim: name})
		holders++
		rest = rest[open+1+end+1:]
	}
	if holders == 0 {
		return nil, ErrTemplateNoHolder
	}
	return t, nil
}

// String returns the template as written.
func (t *Template) String() string { return t.src }

// Rooms expands t with claims. A claim that holds an array gives one room
// per value (several arrays: every combination); a string, number or bool
// gives one. A claim that is missing, null, an object, an empty string or
// an empty array gives no room at all for this template, so that no two
// users share a room such as "user:". It stops after limit rooms and
// reports whether it had to.
func (t *Template) Rooms(claims map[string]any, limit int) (rooms []string, truncated bool) {
	values := make([][]string, 0, len(t.parts))
	total := 1
	for _, p := range t.parts {
		if p.claim == "" {
			continue
		}
		vs := claimValues(lookupClaim(claims, p.claim))
		if len(vs) == 0 {
			return nil, false
		}
		values = append(values, vs)
		if total <= limit { // past it the count no longer matters
			total *= len(vs)
		}
	}
	if total > limit {
		truncated = true
	}
	idx := make([]int, len(values))
	var b strings.Builder
	for len(rooms) < limit {
		b.Reset()
		h := 0
		for _, p := range t.parts {
			if p.claim == "" {
				b.WriteString(p.lit)
				continue
			}
			b.WriteString(values[h][idx[h]])
			h++
		}
		rooms = append(rooms, b.String())
		// Next combination, the last placeholder fastest.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(values[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return rooms, truncated
		}
	}
	return rooms, truncated
}

// lookupClaim finds name in claims: as a key, or else as a dotted path.
func lookupClaim(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	if !strings.Contains(name, ".") {
		return nil
	}
	var cur any = claims
	for seg := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[seg]; !ok {
			return nil
		}
	}
	return cur
}

// claimValues turns a claim into the distinct strings a room is made of.
func claimValues(v any) []string {
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		seen := make(map[string]struct{}, len(arr))
		for _, e := range arr {
			if s, ok := scalarString(e); ok {
				if _, dup := seen[s]; !dup {
					seen[s] = struct{}{}
					out = append(out, s)
				}
			}
		}
		return out
	}
	if s, ok := scalarString(v); ok {
		return []string{s}
	}
	return nil
}

// scalarString formats a JSON scalar as a room part: strings as they are,
// integral numbers without exponent or fraction ("42", not "4.2e+01").
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}
