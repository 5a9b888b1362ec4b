package sio

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Binary placeholders.
//
// A binary packet carries its attachments as separate messages; inside its
// JSON each one is stood for by a placeholder, {"_placeholder":true,"num":N}.
// One rule decides what is a placeholder and what it may name, here, for
// every user of the package (the decoder, socketio's Data, the bridge's
// payload conversion). It is socket.io-parser's reading:
//
//   - an object is a placeholder when its "_placeholder" member is the JSON
//     literal true; keys match exactly (after JSON unescaping), the last of
//     duplicate keys wins, and other members are ignored;
//   - a placeholder's "num" must be a number naming one of the packet's
//     attachments: 0 <= num < attachments. socket.io refuses anything else
//     with "illegal attachments". It lets a fraction through (and hands the
//     application undefined); this package refuses a num that is not an
//     integer value (1.0 and 1e0 are integers, 0.5 is not);
//   - what a placeholder holds is not looked at, and neither is a member
//     that a later member of the same key replaces.
//
// Only binary packets (BINARY_EVENT, BINARY_ACK) are read this way:
// socket.io leaves a placeholder-shaped object in an EVENT alone, and so
// does this package.

// Placeholder is the JSON that stands for binary attachment num inside a
// packet's payload.
func Placeholder(num int) []byte {
	b := append([]byte(nil), `{"_placeholder":true,"num":`...)
	b = strconv.AppendInt(b, int64(num), 10)
	return append(b, '}')
}

// PlaceholderNum reports whether arg (one JSON value) is a binary
// placeholder, and which attachment it names, under the package's rule
// (see the top of placeholder.go); the caller checks num against the
// attachments it has. An object with "_placeholder":true whose num is not
// an integer in [0, 2^31) is illegal and reported as false.
func PlaceholderNum(arg []byte) (int, bool) {
	if jsonKind(arg) != '{' {
		return 0, false
	}
	w := phWalker{b: arg, n: math.MaxInt32}
	if err := w.walk(); err != nil || len(w.found) != 1 {
		return 0, false
	}
	f := w.found[0]
	if f.err != nil || f.start != skipSpace(arg, 0) || skipSpace(arg, f.end) != len(arg) {
		return 0, false
	}
	return f.num, true
}

// CheckPlaceholders checks that every placeholder in the JSON value data
// names one of attachments attachments. Its error wraps ErrBadAttachments
// (socket.io's "illegal attachments"), or ErrBadJSON or ErrTooDeep when
// data is not JSON the package accepts.
func CheckPlaceholders(data []byte, attachments int) error {
	w := phWalker{b: data, n: attachments}
	if err := w.walk(); err != nil {
		return err
	}
	return w.firstErr()
}

// AppendPlaceholders appends the JSON value data to dst with every
// placeholder replaced by what repl appends for its num (which must be
// JSON); every other byte is kept as it came. It refuses, as
// CheckPlaceholders does, a placeholder that names no attachment of
// attachments, and appends nothing then.
func AppendPlaceholders(dst, data []byte, attachments int, repl func(dst []byte, num int) []byte) ([]byte, error) {
	w := phWalker{b: data, n: attachments}
	if err := w.walk(); err != nil {
		return dst, err
	}
	if err := w.firstErr(); err != nil {
		return dst, err
	}
	done := 0
	for _, f := range w.found {
		dst = append(dst, data[done:f.start]...)
		dst = repl(dst, f.num)
		done = f.end
	}
	return append(dst, data[done:]...), nil
}

// phFound is one placeholder: its span in the input and the attachment it
// names, or why it names none.
type phFound struct {
	start, end int
	num        int
	err        error
}

// phWalker finds the placeholders of one JSON value, validating the JSON
// as it goes, in one pass.
type phWalker struct {
	b     []byte
	n     int // attachments
	found []phFound
}

func (w *phWalker) firstErr() error {
	for _, f := range w.found {
		if f.err != nil {
			return fmt.Errorf("%w: %v", ErrBadAttachments, f.err)
		}
	}
	return nil
}

func (w *phWalker) walk() error {
	i := skipSpace(w.b, 0)
	end, err := w.value(i, 0)
	if err != nil {
		return err
	}
	if skipSpace(w.b, end) != len(w.b) {
		return fmt.Errorf("%w: trailing data at offset %d", ErrBadJSON, end)
	}
	return nil
}

// value walks the value at b[i]; depth counts the containers open around
// it, as in scanValue.
func (w *phWalker) value(i, depth int) (int, error) {
	if i < len(w.b) && (w.b[i] == '[' || w.b[i] == '{') {
		if depth >= MaxDepth {
			return 0, ErrTooDeep
		}
		if w.b[i] == '[' {
			return w.array(i, depth+1)
		}
		return w.object(i, depth+1)
	}
	return scanValue(w.b, i, depth)
}

func (w *phWalker) array(i, depth int) (int, error) {
	b := w.b
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := w.value(i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, fmt.Errorf("%w: unterminated array", ErrBadJSON)
		}
		switch b[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = skipSpace(b, i+1)
		default:
			return 0, fmt.Errorf("%w: want ',' or ']' at offset %d", ErrBadJSON, i)
		}
	}
}

// phMember is one member of an object being walked: its quoted key and
// where its placeholders start in found.
type phMember struct {
	key  []byte
	from int
}

func (w *phWalker) object(i, depth int) (int, error) {
	b := w.b
	start, from := i, len(w.found)
	var (
		members  []phMember
		flag     []byte // the last "_placeholder" member's value
		num      []byte // the last "num" member's value
		scratch  [8]phMember
		err      error
		keyStart int
	)
	members = scratch[:0]
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, fmt.Errorf("%w: want object key at offset %d", ErrBadJSON, i)
		}
		keyStart = i
		if i, err = scanString(b, i); err != nil {
			return 0, err
		}
		key := b[keyStart:i]
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return 0, fmt.Errorf("%w: want ':' at offset %d", ErrBadJSON, i)
		}
		v := skipSpace(b, i+1)
		members = append(members, phMember{key: key, from: len(w.found)})
		end, err := w.value(v, depth)
		if err != nil {
			return 0, err
		}
		switch {
		case keyIs(key, "_placeholder"):
			flag = b[v:end]
		case keyIs(key, "num"):
			num = b[v:end]
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, fmt.Errorf("%w: unterminated object", ErrBadJSON)
		}
		if b[i] == '}' {
			i++
			break
		}
		if b[i] != ',' {
			return 0, fmt.Errorf("%w: want ',' or '}' at offset %d", ErrBadJSON, i)
		}
		i = skipSpace(b, i+1)
	}
	if string(flag) == "true" {
		// A placeholder: what it holds does not count.
		f := phFound{start: start, end: i}
		f.num, f.err = w.num(num)
		w.found = append(w.found[:from], f)
		return i, nil
	}
	if len(w.found) == from || len(members) < 2 {
		return i, nil
	}
	// Keep the placeholders of members no later member replaces.
	keep := from
	for m := range members {
		end := len(w.found)
		if m+1 < len(members) {
			end = members[m+1].from
		}
		if members[m].from == end || replacedLater(members[m].key, members[m+1:]) {
			continue
		}
		keep += copy(w.found[keep:], w.found[members[m].from:end])
	}
	w.found = w.found[:keep]
	return i, nil
}

// num checks a placeholder's num (nil when it has none).
func (w *phWalker) num(raw []byte) (int, error) {
	if raw == nil {
		return 0, fmt.Errorf("placeholder without a num")
	}
	if jsonKind(raw) != '0' {
		return 0, fmt.Errorf("placeholder num %.20s is not a number", raw)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) {
		return 0, fmt.Errorf("placeholder num %.20s is not an integer", raw)
	}
	if f < 0 || f >= float64(w.n) {
		return 0, fmt.Errorf("placeholder num %.20s names no attachment (the packet has %d)", raw, w.n)
	}
	return int(f), nil
}

// keyIs reports whether the quoted key decodes to name (ASCII).
func keyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	s, err := unquote(key)
	return err == nil && s == name
}

// replacedLater reports whether one of later has the same key (after
// unescaping) as key: JSON.parse keeps the last of duplicate keys.
func replacedLater(key []byte, later []phMember) bool {
	plain := bytes.IndexByte(key, '\\') < 0 && utf8.Valid(key)
	var (
		decoded          string
		decodedOK, tried bool
	)
	for _, m := range later {
		if plain && bytes.IndexByte(m.key, '\\') < 0 && utf8.Valid(m.key) {
			if bytes.Equal(m.key, key) {
				return true
			}
			continue
		}
		if !tried {
			tried = true
			s, err := unquote(key)
			decoded, decodedOK = s, err == nil
		}
		if s, err := unquote(m.key); decodedOK && err == nil && s == decoded {
			return true
		}
	}
	return false
}
