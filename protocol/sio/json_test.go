package sio_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/natsock/natsock/protocol/sio"
)

// nested returns depth arrays nested in each other around inner.
func nested(depth int, inner string) string {
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

func TestValidJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error // nil: valid
	}{
		{name: "null is a value", in: "null"},
		{name: "true is a value", in: "true"},
		{name: "false is a value", in: "false"},
		{name: "zero is a number", in: "0"},
		{name: "a negative fraction with an exponent is a number", in: "-12.5e+3"},
		{name: "an upper-case exponent without a sign is a number", in: "1E9"},
		{name: "a string with every short escape is valid", in: `"\" \\ \/ \b \f \n \r \t"`},
		{name: "a string with unicode escapes in both cases is valid", in: `"\u00e9\uD83D\uDE00\uABCD"`},
		{name: "a string may hold raw non-ASCII text", in: "\"h\u00e9llo \U0001F600\""},
		{name: "a string may hold DEL", in: "\"\x7f\""},
		{name: "an empty array is valid", in: "[]"},
		{name: "an empty object is valid", in: "{}"},
		{name: "white space is allowed around and inside", in: " \t\r\n{ \"a\" : [ 1 , 2 ] } \n"},
		{name: "nesting at the maximum depth is allowed", in: nested(sio.MaxDepth, "1")},
		{name: "objects count towards the depth too", in: strings.Repeat(`{"a":`, sio.MaxDepth) + "1" + strings.Repeat("}", sio.MaxDepth)},
		{name: "an empty input is refused", in: "", wantErr: sio.ErrBadJSON},
		{name: "only white space is refused", in: "  ", wantErr: sio.ErrBadJSON},
		{name: "two values are refused", in: "1 2", wantErr: sio.ErrBadJSON},
		{name: "a leading zero is refused", in: "01", wantErr: sio.ErrBadJSON},
		{name: "a lone minus is refused", in: "-", wantErr: sio.ErrBadJSON},
		{name: "a plus sign is refused", in: "+1", wantErr: sio.ErrBadJSON},
		{name: "a fraction without digits is refused", in: "1.", wantErr: sio.ErrBadJSON},
		{name: "a fraction without an integer part is refused", in: ".5", wantErr: sio.ErrBadJSON},
		{name: "an exponent without digits is refused", in: "1e+", wantErr: sio.ErrBadJSON},
		{name: "NaN is refused", in: "NaN", wantErr: sio.ErrBadJSON},
		{name: "a truncated literal is refused", in: "tru", wantErr: sio.ErrBadJSON},
		{name: "a literal with a tail is refused", in: "nullx", wantErr: sio.ErrBadJSON},
		{name: "an unterminated string is refused", in: `"abc`, wantErr: sio.ErrBadJSON},
		{name: "a raw newline in a string is refused", in: "\"a\nb\"", wantErr: sio.ErrBadJSON},
		{name: "an unknown escape is refused", in: `"\x41"`, wantErr: sio.ErrBadJSON},
		{name: "a short unicode escape is refused", in: `"\u12"`, wantErr: sio.ErrBadJSON},
		{name: "a unicode escape with a non-hex digit is refused", in: `"\u12G4"`, wantErr: sio.ErrBadJSON},
		{name: "an escape at the end is refused", in: `"\`, wantErr: sio.ErrBadJSON},
		{name: "a trailing comma in an array is refused", in: "[1,]", wantErr: sio.ErrBadJSON},
		{name: "a trailing comma in an object is refused", in: `{"a":1,}`, wantErr: sio.ErrBadJSON},
		{name: "an object key must be a string", in: `{a:1}`, wantErr: sio.ErrBadJSON},
		{name: "an object needs a colon", in: `{"a" 1}`, wantErr: sio.ErrBadJSON},
		{name: "an object needs commas", in: `{"a":1 "b":2}`, wantErr: sio.ErrBadJSON},
		{name: "an unclosed array is refused", in: "[1,2", wantErr: sio.ErrBadJSON},
		{name: "a mismatched closer is refused", in: "[1}", wantErr: sio.ErrBadJSON},
		{name: "single quotes are refused", in: "'a'", wantErr: sio.ErrBadJSON},
		{name: "nesting one past the maximum is refused", in: nested(sio.MaxDepth+1, "1"), wantErr: sio.ErrTooDeep},
		{name: "deep nesting is refused without being walked", in: strings.Repeat("[", 1_000_000), wantErr: sio.ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sio.ValidJSON([]byte(tt.in))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ValidJSON: %v", err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ValidJSON error = %v, want %v", err, tt.wantErr)
			}
			// encoding/json agrees wherever the depth bound does not apply.
			if !errors.Is(err, sio.ErrTooDeep) && json.Valid([]byte(tt.in)) != (err == nil) {
				t.Errorf("encoding/json says valid=%v, ValidJSON says %v", json.Valid([]byte(tt.in)), err)
			}
		})
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr error
	}{
		{name: "an empty array has no elements", in: "[]", want: nil},
		{name: "white space inside an empty array is allowed", in: " [ \n ] ", want: nil},
		{name: "elements come back as raw JSON without white space", in: ` [ 1 , "two" , {"3": [true]} , null ] `, want: []string{"1", `"two"`, `{"3": [true]}`, "null"}},
		{name: "commas inside strings do not split", in: `["a,b","c]"]`, want: []string{`"a,b"`, `"c]"`}},
		{name: "nested arrays stay whole", in: `[[1,[2]],3]`, want: []string{`[1,[2]]`, "3"}},
		{name: "an element at the maximum depth is allowed", in: "[" + nested(sio.MaxDepth-1, "1") + "]", want: []string{nested(sio.MaxDepth-1, "1")}},
		{name: "an element one past the maximum depth is refused", in: "[" + nested(sio.MaxDepth, "1") + "]", wantErr: sio.ErrTooDeep},
		{name: "an object is not an array", in: `{"a":1}`, wantErr: sio.ErrNotArray},
		{name: "a string is not an array", in: `"[1]"`, wantErr: sio.ErrNotArray},
		{name: "an empty input is not an array", in: "", wantErr: sio.ErrNotArray},
		{name: "a trailing comma is refused", in: "[1,]", wantErr: sio.ErrBadJSON},
		{name: "a leading comma is refused", in: "[,1]", wantErr: sio.ErrBadJSON},
		{name: "a missing comma is refused", in: "[1 2]", wantErr: sio.ErrBadJSON},
		{name: "an unterminated array is refused", in: "[1", wantErr: sio.ErrBadJSON},
		{name: "an unterminated array after a comma is refused", in: "[1,", wantErr: sio.ErrBadJSON},
		{name: "trailing data is refused", in: "[1]x", wantErr: sio.ErrBadJSON},
		{name: "a second array is refused", in: "[1][2]", wantErr: sio.ErrBadJSON},
		{name: "an invalid element is refused", in: "[01]", wantErr: sio.ErrBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sio.SplitArray([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SplitArray(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitArray(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("SplitArray(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("element %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
