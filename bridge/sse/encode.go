package sse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Event is one server-sent event.
type Event struct {
	// ID is the event's id, which a reconnecting EventSource sends back as
	// its Last-Event-ID; "" writes no id field (the client keeps the one
	// it had).
	ID string
	// Name is the event's type, what addEventListener listens to; ""
	// writes no event field (a "message" event).
	Name string
	// Data is the event's data, any bytes; its line breaks arrive as LF.
	Data []byte
}

// ErrBadField is returned for an event whose name or id would break the
// stream's framing: a CR or LF in either (which would end the field
// early), or a NUL in the id (which EventSource ignores, keeping the
// previous one).
var ErrBadField = errors.New("sse: bad field")

// AppendEvent appends ev to dst in the text/event-stream format, ended by
// the blank line that dispatches it. Data is written as one "data:" field
// a line, so an empty Data is one empty "data:" field: EventSource
// dispatches it with empty data.
func AppendEvent(dst []byte, ev Event) ([]byte, error) {
	if strings.ContainsAny(ev.ID, "\r\n\x00") {
		return dst, fmt.Errorf("%w: id %q holds a line break or NUL", ErrBadField, ev.ID)
	}
	if strings.ContainsAny(ev.Name, "\r\n") {
		return dst, fmt.Errorf("%w: event name %q holds a line break", ErrBadField, ev.Name)
	}
	if ev.ID != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, ev.ID...)
		dst = append(dst, '\n')
	}
	if ev.Name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, ev.Name...)
		dst = append(dst, '\n')
	}
	data := ev.Data
	for {
		// The value after "data:" loses one leading space when read; the
		// space written here is that one, so a line's own spaces stay.
		dst = append(dst, "data: "...)
		i := indexLineBreak(data)
		if i < 0 {
			dst = append(dst, data...)
			dst = append(dst, '\n')
			break
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return append(dst, '\n'), nil
}

// indexLineBreak returns the index of the first CR or LF in b, or -1.
func indexLineBreak(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

// AppendComment appends a comment line holding text, which EventSource
// ignores; text's line breaks become spaces.
func AppendComment(dst []byte, text string) []byte {
	dst = append(dst, ':')
	if text != "" {
		dst = append(dst, ' ')
		dst = append(dst, strings.NewReplacer("\r", " ", "\n", " ").Replace(text)...)
	}
	return append(dst, '\n', '\n')
}

// AppendRetry appends a "retry:" field: how many milliseconds EventSource
// waits before it reconnects once the stream ends.
func AppendRetry(dst []byte, ms int64) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, max(ms, 0), 10)
	return append(dst, '\n', '\n')
}

// MaxIDDigits bounds the digits of an id ParseSequenceID accepts: those of
// the largest uint64.
const MaxIDDigits = 20

// ErrBadID is wrapped by ParseSequenceID's errors.
var ErrBadID = errors.New("sse: bad event id")

// ParseSequenceID reads an event id that is a sequence number: decimal
// digits, without sign, spaces or leading zeros ("0" itself aside), at
// most a uint64. That is the only form of id this package's users write,
// so anything else did not come from them.
func ParseSequenceID(s string) (uint64, error) {
	switch {
	case s == "":
		return 0, fmt.Errorf("%w: empty", ErrBadID)
	case len(s) > MaxIDDigits:
		return 0, fmt.Errorf("%w: %d characters, longer than any sequence number", ErrBadID, len(s))
	case len(s) > 1 && s[0] == '0':
		return 0, fmt.Errorf("%w: %q has a leading zero", ErrBadID, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %q is not a sequence number (want decimal digits)", ErrBadID, s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is larger than any sequence number", ErrBadID, s)
	}
	return n, nil
}
