package bridge_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/protocol/sio"
	"github.com/natsock/natsock/protocol/socketio"
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name string
		body string
		kind bridge.PayloadKind
		arg  string // the argument's raw JSON; for binary, the placeholder
	}{
		{"a JSON object passes through byte for byte", `{"taskName":"x","n":1}`, bridge.PayloadJSON, `{"taskName":"x","n":1}`},
		{"a large integer keeps every digit", `12345678901234567890`, bridge.PayloadJSON, `12345678901234567890`},
		{"a large integer inside an object keeps every digit", `{"id":12345678901234567890}`, bridge.PayloadJSON, `{"id":12345678901234567890}`},
		{"a precise decimal keeps every digit", `0.1000000000000000000000001`, bridge.PayloadJSON, `0.1000000000000000000000001`},
		{"an array passes through", `[1,"two",{"3":[true]}]`, bridge.PayloadJSON, `[1,"two",{"3":[true]}]`},
		{"a JSON string stays a JSON string", `"hello"`, bridge.PayloadJSON, `"hello"`},
		{"true passes through", `true`, bridge.PayloadJSON, `true`},
		{"null passes through", `null`, bridge.PayloadJSON, `null`},
		{"the object's own spacing and key order are kept", `{ "b" : 1 , "a":2 }`, bridge.PayloadJSON, `{ "b" : 1 , "a":2 }`},
		{"white space around a JSON value is trimmed", " \t\r\n{\"a\":1}\n", bridge.PayloadJSON, `{"a":1}`},
		{"escapes inside JSON strings are kept", `"a\u00e9\n\"b"`, bridge.PayloadJSON, `"a\u00e9\n\"b"`},
		{"plain text becomes a string", `hello, world`, bridge.PayloadString, `"hello, world"`},
		{"broken JSON becomes a string", `{"taskName":`, bridge.PayloadString, `"{\"taskName\":"`},
		{"two JSON values become a string", `1 2`, bridge.PayloadString, `"1 2"`},
		{"an empty body becomes the empty string", ``, bridge.PayloadString, `""`},
		{"a white space body becomes that string", "  ", bridge.PayloadString, `"  "`},
		{"non-ASCII text becomes a string", "h\u00e9llo \u20ac \U0001F600", bridge.PayloadString, "\"h\u00e9llo \u20ac \U0001F600\""},
		{"control characters in text are escaped", "a\x00b\x1f", bridge.PayloadString, `"a\u0000b\u001f"`},
		{"a number with a leading plus is text", `+1`, bridge.PayloadString, `"+1"`},
		{"bytes that are not UTF-8 become binary", "\xff\x00\x01\xfe", bridge.PayloadBinary, `{"_placeholder":true,"num":0}`},
		{"JSON with invalid UTF-8 inside a string becomes binary", "\"\xff\"", bridge.PayloadBinary, `{"_placeholder":true,"num":0}`},
		{"JSON nested deeper than the limit becomes a string", strings.Repeat("[", sio.MaxDepth+1) + strings.Repeat("]", sio.MaxDepth+1), bridge.PayloadString, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, kind := bridge.DecodePayload([]byte(tc.body))
			if kind != tc.kind {
				t.Fatalf("DecodePayload(%q) kind = %v, want %v", tc.body, kind, tc.kind)
			}
			if len(d.Args) != 1 {
				t.Fatalf("DecodePayload(%q) gave %d arguments, want 1", tc.body, len(d.Args))
			}
			if tc.arg != "" && string(d.Args[0]) != tc.arg {
				t.Errorf("DecodePayload(%q) argument = %s, want %s", tc.body, d.Args[0], tc.arg)
			}
			switch kind {
			case bridge.PayloadBinary:
				if len(d.Attachments) != 1 || !bytes.Equal(d.Attachments[0], []byte(tc.body)) {
					t.Errorf("DecodePayload(%q) attachments = %q, want the body", tc.body, d.Attachments)
				}
			default:
				if len(d.Attachments) != 0 {
					t.Errorf("DecodePayload(%q) has attachments %q", tc.body, d.Attachments)
				}
			}
		})
	}
}

func TestEncodeArgs(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		attachments []string
		want        string
	}{
		{"no argument is an empty body", nil, nil, ""},
		{"one object is that object, byte for byte", []string{`{ "taskName" : "New Task" }`}, nil, `{ "taskName" : "New Task" }`},
		{"a large integer keeps every digit", []string{`12345678901234567890`}, nil, `12345678901234567890`},
		{"one string is that JSON string", []string{`"hi"`}, nil, `"hi"`},
		{"several arguments are a JSON array", []string{`1`, `"two"`, `{"3":[true]}`}, nil, `[1,"two",{"3":[true]}]`},
		{"one binary argument is its raw bytes", []string{`{"_placeholder":true,"num":0}`}, []string{"\x00\xffraw"}, "\x00\xffraw"},
		{"nested binary becomes base64", []string{`{"file":{"_placeholder":true,"num":0}}`}, []string{"\x01\x02\x03"}, `{"file":"AQID"}`},
		{"binary in an array becomes base64", []string{`[1,{"_placeholder":true,"num":0}]`}, []string{"hi"}, `[1,"aGk="]`},
		{"binary among several arguments becomes base64", []string{`"a"`, `{"_placeholder":true,"num":0}`}, []string{"\x01\x02\x03"}, `["a","AQID"]`},
		{"each placeholder takes its own attachment", []string{`{"_placeholder":true,"num":1}`, `{"_placeholder":true,"num":0}`}, []string{"a", "b"}, `["Yg==","YQ=="]`},
		{"a large integer beside nested binary keeps every digit", []string{`{"id":12345678901234567890,"f":{"_placeholder":true,"num":0}}`}, []string{"x"}, `{"id":12345678901234567890,"f":"eA=="}`},
		{"HTML characters beside nested binary are not escaped", []string{`{"h":"<b>&","f":{"_placeholder":true,"num":0}}`}, []string{"x"}, `{"h":"<b>&","f":"eA=="}`},
		{"bytes beside nested binary are kept as they came", []string{`{ "b" : "\u00e9", "a":[1.0, {"_placeholder":true,"num":0}] }`}, []string{"x"}, `{ "b" : "\u00e9", "a":[1.0, "eA=="] }`},
		{"a placeholder with more keys is still a placeholder, as socket.io reads it", []string{`{"x":{"_placeholder":true,"num":0,"more":1}}`}, []string{"x"}, `{"x":"eA=="}`},
		{"a num written as 0.0 names attachment 0", []string{`[{"_placeholder":true,"num":0.0}]`}, []string{"x"}, `["eA=="]`},
		{"an object whose flag is not true is kept", []string{`{"x":{"_placeholder":"true","num":9}}`}, []string{"x"}, `{"x":{"_placeholder":"true","num":9}}`},
		{"what a placeholder holds is not read", []string{`{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}}`, `1`}, []string{"x"}, `["eA==",1]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bridge.EncodeArgs(data(tc.args, tc.attachments))
			if err != nil {
				t.Fatalf("EncodeArgs: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("EncodeArgs = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEncodeArgsRefusesPlaceholdersWithoutAttachments(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"a top-level placeholder past the attachments", []string{`"a"`, `{"_placeholder":true,"num":3}`}},
		{"a nested placeholder past the attachments", []string{`{"f":{"_placeholder":true,"num":1}}`}},
		{"a nested placeholder with a negative number", []string{`{"f":{"_placeholder":true,"num":-1}}`}},
		{"a nested placeholder with a fractional number", []string{`{"f":{"_placeholder":true,"num":0.5}}`}},
		{"a nested placeholder with more keys past the attachments", []string{`{"f":{"_placeholder":true,"num":1,"more":1}}`}},
		{"a nested placeholder without a num", []string{`{"f":{"_placeholder":true}}`}},
		{"a nested placeholder with a string num", []string{`[{"_placeholder":true,"num":"0"}]`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bridge.EncodeArgs(data(tc.args, []string{"only one"}))
			if err == nil {
				t.Fatalf("EncodeArgs = %q, want an error", got)
			}
			if !strings.Contains(err.Error(), "placeholder") {
				t.Errorf("error %q does not name the placeholder", err)
			}
		})
	}
}

func data(args, attachments []string) socketio.Data {
	var d socketio.Data
	for _, a := range args {
		d.Args = append(d.Args, json.RawMessage(a))
	}
	for _, a := range attachments {
		d.Attachments = append(d.Attachments, []byte(a))
	}
	return d
}

func ExampleDecodePayload() {
	for _, body := range [][]byte{
		[]byte(`{"taskName":"New Task","id":12345678901234567890}`),
		[]byte(`New Task`),
		{0xff, 0x00},
	} {
		d, kind := bridge.DecodePayload(body)
		fmt.Printf("%s: %s, %d attachment(s)\n", kind, d.Args[0], len(d.Attachments))
	}
	// Output:
	// json: {"taskName":"New Task","id":12345678901234567890}, 0 attachment(s)
	// string: "New Task", 0 attachment(s)
	// binary: {"_placeholder":true,"num":0}, 1 attachment(s)
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{
		`{"taskName":"x"}`, `12345678901234567890`, ` [1, 2] `, `"s"`, `null`, `hello`, ``, "\xff\xfe",
		"\"\xff\"", `{"a":`, "\u2028", `"\ud800"`, "1\f", "\u00a01", `[[[[]]]]`, `-0.0e+1`, `01`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, kind := bridge.DecodePayload(body)
		if len(d.Args) != 1 {
			t.Fatalf("DecodePayload(%q): %d arguments", body, len(d.Args))
		}
		switch kind {
		case bridge.PayloadJSON:
			if !bytes.Equal(d.Args[0], bytes.TrimSpace(body)) {
				t.Fatalf("DecodePayload(%q) JSON argument %q is not the trimmed body", body, d.Args[0])
			}
			if !json.Valid(body) || !utf8.Valid(body) {
				t.Fatalf("DecodePayload(%q) calls JSON what encoding/json refuses", body)
			}
		case bridge.PayloadString:
			var s string
			if err := json.Unmarshal(d.Args[0], &s); err != nil || s != string(body) {
				t.Fatalf("DecodePayload(%q) string argument %q unmarshals to %q, %v", body, d.Args[0], s, err)
			}
		case bridge.PayloadBinary:
			if utf8.Valid(body) {
				t.Fatalf("DecodePayload(%q): valid UTF-8 became binary", body)
			}
			if b, ok := d.Binary(0); !ok || !bytes.Equal(b, body) {
				t.Fatalf("DecodePayload(%q) binary attachment = %q", body, d.Attachments)
			}
		default:
			t.Fatalf("DecodePayload(%q): unknown kind %d", body, kind)
		}
		if len(d.Attachments) > 0 && kind != bridge.PayloadBinary {
			t.Fatalf("DecodePayload(%q) %v has attachments", body, kind)
		}
		// What a client would send back on the inbound path: JSON and
		// binary bodies come back as they went, text as its JSON string.
		back, err := bridge.EncodeArgs(d)
		if err != nil {
			t.Fatalf("EncodeArgs(DecodePayload(%q)): %v", body, err)
		}
		if !bytes.Equal(back, d.Args[0]) && kind != bridge.PayloadBinary || kind == bridge.PayloadBinary && !bytes.Equal(back, body) {
			t.Fatalf("EncodeArgs(DecodePayload(%q)) = %q", body, back)
		}
	})
}

func FuzzEncodeArgs(f *testing.F) {
	f.Add([]byte(`[{"taskName":"x"}]`), []byte("a"), []byte("b"), uint8(0))
	f.Add([]byte(`[1,"two",{"_placeholder":true,"num":0}]`), []byte("\x01\x02"), []byte(""), uint8(1))
	f.Add([]byte(`[{"f":[{"_placeholder":true,"num":1}]}]`), []byte("a"), []byte("b"), uint8(2))
	f.Add([]byte(`[{"_placeholder":true,"num":0}]`), []byte("\xff"), []byte(""), uint8(1))
	f.Add([]byte(`[12345678901234567890,{"_placeholder":true,"num":0}]`), []byte("x"), []byte(""), uint8(1))
	f.Add([]byte(`[]`), []byte(""), []byte(""), uint8(0))
	f.Fuzz(func(t *testing.T, argsJSON, a0, a1 []byte, nAttach uint8) {
		elems, err := sio.SplitArray(argsJSON)
		if err != nil || !utf8.Valid(argsJSON) {
			return // the socket.io decoder refuses these before EncodeArgs
		}
		var d socketio.Data
		for _, e := range elems {
			d.Args = append(d.Args, json.RawMessage(e))
		}
		d.Attachments = [][]byte{a0, a1}[:nAttach%3]
		out, err := bridge.EncodeArgs(d)
		if err != nil {
			if len(d.Attachments) == 0 {
				t.Fatalf("EncodeArgs(%s) with no attachments: %v", argsJSON, err)
			}
			// The one rule: only a placeholder that sio refuses fails.
			if sio.CheckPlaceholders(argsJSON, len(d.Attachments)) == nil {
				t.Fatalf("EncodeArgs(%s) with %d attachments: %v, but sio accepts its placeholders", argsJSON, len(d.Attachments), err)
			}
			return
		}
		if len(d.Attachments) > 0 && sio.CheckPlaceholders(argsJSON, len(d.Attachments)) != nil {
			t.Fatalf("EncodeArgs(%s) with %d attachments = %q, but sio refuses its placeholders", argsJSON, len(d.Attachments), out)
		}
		switch {
		case len(d.Args) == 0:
			if len(out) != 0 {
				t.Fatalf("no arguments gave %q", out)
			}
			return
		case len(d.Args) == 1:
			if b, ok := d.Binary(0); ok {
				if !bytes.Equal(out, b) {
					t.Fatalf("one binary argument gave %q, want its bytes %q", out, b)
				}
				return
			}
		}
		if !json.Valid(out) {
			t.Fatalf("EncodeArgs(%s) = %q, not JSON", argsJSON, out)
		}
		if len(d.Attachments) > 0 {
			return
		}
		// Without attachments the arguments pass byte for byte.
		want := []byte(elems[0])
		if len(elems) > 1 {
			want = append([]byte{'['}, bytes.Join(elems, []byte{','})...)
			want = append(want, ']')
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("EncodeArgs(%s) = %q, want %q", argsJSON, out, want)
		}
	})
}
