package sse_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/natsock/natsock/bridge/sse"
)

// parsed is an event as EventSource dispatches it.
type parsed struct {
	ID, Name, Data string
	Retry          string
}

// parseStream reads a text/event-stream as the HTML standard's parser
// does (section 9.2.6, "Interpreting an event stream"), returning the
// events dispatched and the last retry field seen. It is the test's own
// reading of the standard, written from its steps, so that AppendEvent is
// checked against the reader, not against itself.
func parseStream(stream string) (events []parsed, retry string) {
	var data strings.Builder
	name, lastID := "", ""
	hasData := false
	for len(stream) > 0 {
		// A line ends at CRLF, LF or CR.
		i := strings.IndexAny(stream, "\r\n")
		if i < 0 {
			break // an incomplete last line is never dispatched
		}
		line := stream[:i]
		if stream[i] == '\r' && i+1 < len(stream) && stream[i+1] == '\n' {
			i++
		}
		stream = stream[i+1:]
		if line == "" { // dispatch
			if hasData {
				d := data.String()
				d = strings.TrimSuffix(d, "\n")
				if name == "" {
					events = append(events, parsed{ID: lastID, Name: "message", Data: d})
				} else {
					events = append(events, parsed{ID: lastID, Name: name, Data: d})
				}
			}
			data.Reset()
			name, hasData = "", false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if !strings.Contains(value, "\x00") {
				lastID = value
			}
		case "retry":
			retry = value
		}
	}
	return events, retry
}

// normalize is what a data's line breaks become on the way.
func normalize(b []byte) string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func TestAppendEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   sse.Event
		want string
	}{
		{"an event with an id, a name and JSON data",
			sse.Event{ID: "42", Name: "newTaskAssigned", Data: []byte(`{"task":1}`)},
			"id: 42\nevent: newTaskAssigned\ndata: {\"task\":1}\n\n"},
		{"no id and no name write neither field",
			sse.Event{Data: []byte("x")}, "data: x\n\n"},
		{"empty data is one empty data field",
			sse.Event{Name: "e"}, "event: e\ndata: \n\n"},
		{"each line of the data is a data field",
			sse.Event{Data: []byte("{\n  \"a\": 1\n}")}, "data: {\ndata:   \"a\": 1\ndata: }\n\n"},
		{"CRLF and a lone CR break lines too",
			sse.Event{Data: []byte("a\r\nb\rc")}, "data: a\ndata: b\ndata: c\n\n"},
		{"a trailing line break is an empty last line",
			sse.Event{Data: []byte("a\n")}, "data: a\ndata: \n\n"},
		{"a line's leading spaces are kept after the one the reader drops",
			sse.Event{Data: []byte(" a")}, "data:  a\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sse.AppendEvent(nil, tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAppendEventRefusesFieldsThatBreakTheFraming(t *testing.T) {
	for _, ev := range []sse.Event{
		{Name: "a\nid: 1", Data: []byte("x")},
		{Name: "a\r", Data: []byte("x")},
		{ID: "1\n", Data: []byte("x")},
		{ID: "1\x00", Data: []byte("x")},
	} {
		out, err := sse.AppendEvent([]byte("kept"), ev)
		if !errors.Is(err, sse.ErrBadField) {
			t.Errorf("%+v: err %v, want ErrBadField", ev, err)
		}
		if string(out) != "kept" {
			t.Errorf("%+v: appended %q on error", ev, out)
		}
	}
}

func TestCommentAndRetryDispatchNothing(t *testing.T) {
	var b []byte
	b = sse.AppendRetry(b, 3000)
	b = sse.AppendComment(b, "keep-alive\nevent: x")
	b = sse.AppendComment(b, "")
	evs, retry := parseStream(string(b))
	if len(evs) != 0 || retry != "3000" {
		t.Fatalf("events %v, retry %q; want none and 3000 (stream %q)", evs, retry, b)
	}
}

// FuzzAppendEvent checks that whatever the data, name and id, the reader
// gets exactly one event with them (line breaks as LF), or AppendEvent
// refuses a name or id that would break the framing; and that events
// written one after another are read back one by one.
func FuzzAppendEvent(f *testing.F) {
	f.Add("7", "newTaskAssigned", []byte(`{"a":1}`))
	f.Add("", "", []byte(""))
	f.Add("1", "a:b", []byte("\r\n\r\n"))
	f.Add("x", "e", []byte("data: id: 3\n\nevent: y\n"))
	f.Add("1\n", "e", []byte("x"))
	f.Add("", " e ", []byte(":\r:\n: \r\n"))
	f.Fuzz(func(t *testing.T, id, name string, data []byte) {
		ev := sse.Event{ID: id, Name: name, Data: data}
		out, err := sse.AppendEvent(nil, ev)
		bad := strings.ContainsAny(id, "\r\n\x00") || strings.ContainsAny(name, "\r\n")
		if bad != (err != nil) {
			t.Fatalf("id %q name %q: err %v", id, name, err)
		}
		if err != nil {
			return
		}
		twice, _ := sse.AppendEvent(bytes.Clone(out), ev)
		got, _ := parseStream(string(twice))
		want := parsed{ID: id, Name: name, Data: normalize(data)}
		if want.Name == "" {
			want.Name = "message"
		}
		if len(got) != 2 || got[0] != want || got[1] != want {
			t.Fatalf("wrote %q, read %s; want twice %+v", out, fmt.Sprint(got), want)
		}
	})
}

func TestParseSequenceID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1", 1, true},
		{"0", 0, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false},
		{"", 0, false},
		{"007", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{" 1", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"123456789012345678901", 0, false},
	} {
		got, err := sse.ParseSequenceID(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseSequenceID(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, sse.ErrBadID) {
			t.Errorf("ParseSequenceID(%q): %v does not wrap ErrBadID", tc.in, err)
		}
	}
}

// FuzzParseSequenceID checks that an accepted id is exactly the decimal
// form of the number it reads as, so that two spellings never name one
// event.
func FuzzParseSequenceID(f *testing.F) {
	for _, s := range []string{"1", "0", "00", "18446744073709551615", "18446744073709551616", "-0", "1 ", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := sse.ParseSequenceID(s)
		if err != nil {
			if !errors.Is(err, sse.ErrBadID) {
				t.Fatalf("%q: %v does not wrap ErrBadID", s, err)
			}
			return
		}
		if fmt.Sprint(n) != s {
			t.Fatalf("%q read as %d", s, n)
		}
	})
}
