package sio_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/natsock/natsock/protocol/sio"
)

func TestSplitEvent(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantName string
		wantArgs []string
		wantErr  error
	}{
		{name: "an event without arguments has none", in: `["ping"]`, wantName: "ping"},
		{name: "arguments come back as raw JSON", in: `["message",1,"2",{"3":[true]}]`, wantName: "message", wantArgs: []string{"1", `"2"`, `{"3":[true]}`}},
		{name: "placeholders stay in the arguments", in: `["m",{"_placeholder":true,"num":0}]`, wantName: "m", wantArgs: []string{`{"_placeholder":true,"num":0}`}},
		{name: "an escaped name is unquoted", in: `["a\"b\u00e9\n"]`, wantName: "a\"b\u00e9\n"},
		{name: "a name with raw non-ASCII text is kept", in: "[\"h\u00e9llo \U0001F600\"]", wantName: "h\u00e9llo \U0001F600"},
		{name: "a surrogate pair escape becomes one rune", in: `["\uD83D\uDE00"]`, wantName: "\U0001F600"},
		{name: "a numeric name yields its digits", in: `[42,"a"]`, wantName: "42", wantArgs: []string{`"a"`}},
		{name: "an empty name is allowed", in: `[""]`, wantName: ""},
		{name: "white space around elements is dropped", in: ` [ "x" , 1 ] `, wantName: "x", wantArgs: []string{"1"}},
		{name: "an empty array has no name", in: `[]`, wantErr: sio.ErrBadPayload},
		{name: "an object is not an event", in: `{"a":1}`, wantErr: sio.ErrNotArray},
		{name: "broken JSON is refused", in: `["x",`, wantErr: sio.ErrBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, args, err := sio.SplitEvent([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SplitEvent(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitEvent(%q): %v", tt.in, err)
			}
			if name != tt.wantName {
				t.Errorf("name = %q, want %q", name, tt.wantName)
			}
			if len(args) != len(tt.wantArgs) {
				t.Fatalf("args = %q, want %q", args, tt.wantArgs)
			}
			for i := range args {
				if string(args[i]) != tt.wantArgs[i] {
					t.Errorf("arg %d = %q, want %q", i, args[i], tt.wantArgs[i])
				}
			}
		})
	}
}

func TestAppendEventData(t *testing.T) {
	tests := []struct {
		name  string
		event string
		args  []string
		want  string
	}{
		{name: "an event without arguments is a one-element array", event: "ping", want: `["ping"]`},
		{name: "arguments are copied as they are", event: "message-back", args: []string{"1", `"2"`, `{"3":[true]}`}, want: `["message-back",1,"2",{"3":[true]}]`},
		{name: "the name is quoted and escaped", event: "a\"b\\c\n", want: `["a\"b\\c\n"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([][]byte, len(tt.args))
			for i, a := range tt.args {
				args[i] = []byte(a)
			}
			got := sio.AppendEventData(nil, tt.event, args...)
			if string(got) != tt.want {
				t.Fatalf("AppendEventData = %s, want %s", got, tt.want)
			}
			name, back, err := sio.SplitEvent(got)
			if err != nil || name != tt.event || len(back) != len(args) {
				t.Errorf("SplitEvent(%s) = %q, %q, %v; want the event back", got, name, back, err)
			}
		})
	}
}

func TestAppendArray(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no arguments is an empty array", want: `[]`},
		{name: "one argument has no comma", args: []string{`{"a":1}`}, want: `[{"a":1}]`},
		{name: "arguments are joined by commas", args: []string{"1", `"2"`, "null"}, want: `[1,"2",null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([][]byte, len(tt.args))
			for i, a := range tt.args {
				args[i] = []byte(a)
			}
			if got := sio.AppendArray(nil, args...); string(got) != tt.want {
				t.Errorf("AppendArray = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAppendQuote(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain text is only quoted", in: "hello", want: `"hello"`},
		{name: "quotes and backslashes are escaped", in: `a"b\c`, want: `"a\"b\\c"`},
		{name: "newline, return and tab have short escapes", in: "\n\r\t", want: `"\n\r\t"`},
		{name: "other control characters use \\u00XX", in: "\x00\x01\x1f\b\f", want: `"\u0000\u0001\u001f\u0008\u000c"`},
		{name: "DEL is not escaped", in: "\x7f", want: "\"\x7f\""},
		{name: "non-ASCII text is kept raw", in: "h\u00e9llo \u20ac \U0001F600 \u2028", want: "\"h\u00e9llo \u20ac \U0001F600 \u2028\""},
		{name: "HTML characters are not escaped", in: "<a&b>", want: `"<a&b>"`},
		{name: "an invalid byte becomes U+FFFD", in: "a\xffb", want: `"a\ufffdb"`},
		{name: "a truncated sequence becomes one U+FFFD a byte", in: "\xe2\x82", want: `"\ufffd\ufffd"`},
		{name: "an encoded surrogate becomes U+FFFD a byte", in: "\xed\xa0\x80", want: `"\ufffd\ufffd\ufffd"`},
		{name: "an empty string is two quotes", in: "", want: `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sio.AppendQuote([]byte("x"), tt.in)
			if string(got) != "x"+tt.want {
				t.Fatalf("AppendQuote(%q) = %s, want %s", tt.in, got[1:], tt.want)
			}
			// It reads back as encoding/json's own quoting of the string
			// does (invalid UTF-8 replaced the same way).
			var back, want string
			if err := json.Unmarshal(got[1:], &back); err != nil {
				t.Fatalf("json.Unmarshal(%s): %v", got[1:], err)
			}
			std, _ := json.Marshal(tt.in)
			_ = json.Unmarshal(std, &want)
			if back != want {
				t.Errorf("json.Unmarshal gave %q, want %q", back, want)
			}
		})
	}
}

func TestPlaceholder(t *testing.T) {
	tests := []struct {
		name string
		in   string
		num  int
		ok   bool
	}{
		{name: "socket.io's placeholder names its attachment", in: `{"_placeholder":true,"num":0}`, num: 0, ok: true},
		{name: "key order does not matter", in: `{"num":3,"_placeholder":true}`, num: 3, ok: true},
		{name: "white space is allowed", in: ` { "_placeholder" : true , "num" : 12 } `, num: 12, ok: true},
		{name: "a false flag is not a placeholder", in: `{"_placeholder":false,"num":0}`},
		{name: "a string flag is not a placeholder", in: `{"_placeholder":"true","num":0}`},
		{name: "a missing num is not a placeholder", in: `{"_placeholder":true}`},
		{name: "a negative num is not a placeholder", in: `{"_placeholder":true,"num":-1}`},
		{name: "a fractional num is not a placeholder", in: `{"_placeholder":true,"num":1.5}`},
		{name: "a string num is not a placeholder", in: `{"_placeholder":true,"num":"0"}`},
		{name: "a null num is not a placeholder", in: `{"_placeholder":true,"num":null}`},
		{name: "an array is not a placeholder", in: `[{"_placeholder":true,"num":0}]`},
		{name: "a string is not a placeholder", in: `"{\"_placeholder\":true,\"num\":0}"`},
		{name: "broken JSON is not a placeholder", in: `{"_placeholder":true,"num":0`},
		{name: "an empty input is not a placeholder", in: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			num, ok := sio.PlaceholderNum([]byte(tt.in))
			if ok != tt.ok || (ok && num != tt.num) {
				t.Errorf("PlaceholderNum(%s) = %d, %v; want %d, %v", tt.in, num, ok, tt.num, tt.ok)
			}
		})
	}
	for _, n := range []int{0, 1, 63, 1 << 20} {
		got, ok := sio.PlaceholderNum(sio.Placeholder(n))
		if !ok || got != n {
			t.Errorf("PlaceholderNum(Placeholder(%d)) = %d, %v", n, got, ok)
		}
	}
}

// socket.io-parser reads data._placeholder and data.num: keys match
// exactly. encoding/json matches struct fields case-insensitively, so
// PlaceholderNum must not lean on it alone.
func TestPlaceholderKeysMatchExactly(t *testing.T) {
	tests := []struct {
		name string
		in   string
		num  int
		ok   bool
	}{
		{name: "an upper-case flag key is an ordinary object", in: `{"_PLACEHOLDER":true,"num":0}`},
		{name: "an upper-case num key is an ordinary object", in: `{"_placeholder":true,"NUM":0}`},
		{name: "a differently cased duplicate num does not win", in: `{"_placeholder":true,"num":0,"Num":5}`, num: 0, ok: true},
	}
	var failed []string
	for _, tt := range tests {
		num, ok := sio.PlaceholderNum([]byte(tt.in))
		if ok != tt.ok || (ok && num != tt.num) {
			failed = append(failed, fmt.Sprintf("%s: PlaceholderNum(%s) = %d, %v; want %d, %v", tt.name, tt.in, num, ok, tt.num, tt.ok))
		}
	}
	if len(failed) > 0 {
		t.Fatalf("sio.PlaceholderNum must match keys case-sensitively, as socket.io-parser does:\n%s", strings.Join(failed, "\n"))
	}
}
