package sio_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/natsock/natsock/protocol/sio"
)

// packetSeeds are real Socket.IO packets, as socket.io clients v2 and v4
// and the conformance suite send them, valid and not.
var packetSeeds = []string{
	"0", `0{"token":"123"}`, "0/custom,", `0/custom,{"token":"abc"}`, "0/custom", "0/random",
	"0/admin?token=abc", "1", "1/custom,",
	`2["message",1,"2",{"3":[true]}]`, `2456["message-with-ack",1,"2",{"3":[false]}]`,
	`2/custom,7["x"]`, `2[42,"a"]`, `2["connect"]`, `2["\u0063onnect"]`, "2{}", "2abc[\"x\"]",
	`3456[1,"2",{"3":[false]}]`, `3[1]`,
	`4/random,{"message":"Invalid namespace"}`, `4"Not authorized"`,
	`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
	`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
	`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
	`565-["x"]`, "51", "", "abc", `29007199254740992["x"]`,
	"2[\"h\u00e9llo \U0001F600\",\"\\ud83d\\ude00\"]",
}

// jsonSeeds are JSON texts, valid and not, deep and shallow.
var jsonSeeds = []string{
	`{"token":"123"}`, `["message",1,"2",{"3":[true]}]`, `[]`, `{}`, `null`, `true`, `-12.5e+3`,
	`"\" \\ \/ \b \f \n \r \t \u00e9"`, "\"\xff\"", `[1,]`, `{"a" 1}`, `01`, `1.`, `"\u12"`,
	` [ 1 , "two" , {"3": [true]} , null ] `, "[" + strings.Repeat("[", sio.MaxDepth) + "]",
	strings.Repeat("[", sio.MaxDepth) + strings.Repeat("]", sio.MaxDepth),
	`{"_placeholder":true,"num":0}`,
}

// nestDepth is the deepest nesting of arrays and objects in b, counting
// brackets outside strings. For valid JSON it is exact; for invalid JSON
// it is at least the depth a scanner reaches before it fails.
func nestDepth(b []byte) int {
	depth, max := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			max = maxInt(max, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func isOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func firstByte(b []byte) byte {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 {
		return 0
	}
	return t[0]
}

// within reports whether sub is a subslice of b.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &sub[0] {
			return i+len(sub) <= len(b)
		}
	}
	return false
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := sio.ValidJSON(b)
		if err != nil && !isOneOf(err, sio.ErrBadJSON, sio.ErrTooDeep) {
			t.Fatalf("ValidJSON(%q): unexpected error %v", b, err)
		}
		std := json.Valid(b)
		if nestDepth(b) <= sio.MaxDepth {
			if (err == nil) != std {
				t.Fatalf("ValidJSON(%q) = %v, but encoding/json says valid=%v", b, err, std)
			}
			if errors.Is(err, sio.ErrTooDeep) {
				t.Fatalf("ValidJSON(%q) says too deep at depth %d", b, nestDepth(b))
			}
			return
		}
		if std && !errors.Is(err, sio.ErrTooDeep) {
			t.Fatalf("ValidJSON(%q) = %v for valid JSON nested %d deep, want %v", b, err, nestDepth(b), sio.ErrTooDeep)
		}
		if !std && err == nil {
			t.Fatalf("ValidJSON(%q) accepted JSON that encoding/json refuses", b)
		}
	})
}

func FuzzSplitArray(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		elems, err := sio.SplitArray(b)
		verr := sio.ValidJSON(b)
		isArray := firstByte(b) == '['
		if err != nil {
			if !isOneOf(err, sio.ErrBadJSON, sio.ErrTooDeep, sio.ErrNotArray) {
				t.Fatalf("SplitArray(%q): unexpected error %v", b, err)
			}
			if verr == nil && isArray {
				t.Fatalf("SplitArray(%q) = %v, but it is a valid array", b, err)
			}
			if !isArray && !errors.Is(err, sio.ErrNotArray) {
				t.Fatalf("SplitArray(%q) = %v, want %v", b, err, sio.ErrNotArray)
			}
			return
		}
		if verr != nil || !isArray {
			t.Fatalf("SplitArray(%q) accepted it, but ValidJSON says %v and isArray=%v", b, verr, isArray)
		}
		if nestDepth(b) <= sio.MaxDepth && !json.Valid(b) {
			t.Fatalf("SplitArray(%q) accepted JSON that encoding/json refuses", b)
		}
		for i, e := range elems {
			if err := sio.ValidJSON(e); err != nil {
				t.Fatalf("element %d %q is not valid JSON: %v", i, e, err)
			}
			if len(bytes.TrimSpace(e)) != len(e) {
				t.Fatalf("element %d %q has white space around it", i, e)
			}
			if !within(e, b) {
				t.Fatalf("element %d %q does not alias the input", i, e)
			}
		}
		var a, c bytes.Buffer
		if err := json.Compact(&a, b); err != nil {
			return // too deep for a fair comparison; ValidJSON was checked above
		}
		if err := json.Compact(&c, sio.AppendArray(nil, elems...)); err != nil {
			t.Fatalf("AppendArray(elements of %q) is not JSON: %v", b, err)
		}
		if !bytes.Equal(a.Bytes(), c.Bytes()) {
			t.Fatalf("elements of %q rebuild %q", a.Bytes(), c.Bytes())
		}
	})
}

func FuzzSplitEvent(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`["\uD83D\uDE00",1]`))
	f.Add([]byte(`[42,"a"]`))
	f.Add([]byte("[\"\xff\"]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, args, err := sio.SplitEvent(b)
		elems, aerr := sio.SplitArray(b)
		switch {
		case aerr != nil:
			if err == nil {
				t.Fatalf("SplitEvent(%q) accepted what SplitArray refuses (%v)", b, aerr)
			}
			return
		case len(elems) == 0:
			if !errors.Is(err, sio.ErrBadPayload) {
				t.Fatalf("SplitEvent(%q) error = %v, want %v", b, err, sio.ErrBadPayload)
			}
			return
		}
		if err != nil {
			t.Fatalf("SplitEvent(%q): %v", b, err)
		}
		wantName := string(elems[0])
		if elems[0][0] == '"' {
			if err := json.Unmarshal(elems[0], &wantName); err != nil {
				t.Fatalf("encoding/json cannot read the name %q: %v", elems[0], err)
			}
		}
		if name != wantName {
			t.Fatalf("SplitEvent(%q) name = %q, want %q", b, name, wantName)
		}
		if len(args) != len(elems)-1 {
			t.Fatalf("SplitEvent(%q) gave %d args, want %d", b, len(args), len(elems)-1)
		}
		for i := range args {
			if !bytes.Equal(args[i], elems[i+1]) {
				t.Fatalf("arg %d = %q, want %q", i, args[i], elems[i+1])
			}
		}
	})
}

func samePacket(a, b sio.Packet) bool {
	return a.Type == b.Type && a.Namespace == b.Namespace && a.ID == b.ID &&
		a.Attachments == b.Attachments && bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}

func FuzzDecoderDecode(f *testing.F) {
	for _, s := range packetSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, v4 bool) {
		in := bytes.Clone(b)
		p, err := sio.Decoder{V4: v4}.Decode(b)
		if !bytes.Equal(in, b) {
			t.Fatalf("Decode changed its input")
		}
		if err != nil {
			if !isOneOf(err, sio.ErrEmpty, sio.ErrUnknownType, sio.ErrBadAttachments,
				sio.ErrBadID, sio.ErrBadPayload, sio.ErrBadJSON, sio.ErrTooDeep, sio.ErrNotArray) {
				t.Fatalf("Decode(%q): unexpected error %v", b, err)
			}
			return
		}
		if byte(p.Type) != b[0]-'0' || p.Type > sio.BinaryAck {
			t.Fatalf("Decode(%q).Type = %v", b, p.Type)
		}
		if !strings.HasPrefix(p.Namespace, "/") || strings.Contains(p.Namespace, ",") {
			t.Fatalf("Decode(%q).Namespace = %q", b, p.Namespace)
		}
		if p.ID != sio.NoID && (p.ID < 0 || p.ID > sio.MaxID) {
			t.Fatalf("Decode(%q).ID = %d", b, p.ID)
		}
		if p.Attachments < 0 || p.Attachments > sio.DefaultMaxAttachments || (!p.Type.IsBinary() && p.Attachments != 0) {
			t.Fatalf("Decode(%q).Attachments = %d for %s", b, p.Attachments, p.Type)
		}
		if p.Data != nil {
			if err := sio.ValidJSON(p.Data); err != nil {
				t.Fatalf("Decode(%q).Data is not valid JSON: %v", b, err)
			}
			if !bytes.HasSuffix(b, p.Data) || !within(p.Data, b) {
				t.Fatalf("Decode(%q).Data = %q is not the input's tail", b, p.Data)
			}
		}
		kind := firstByte(p.Data)
		switch p.Type {
		case sio.Connect:
			if p.Data != nil && kind != '{' {
				t.Fatalf("CONNECT %q accepted with data %q", b, p.Data)
			}
		case sio.Disconnect:
			if p.Data != nil {
				t.Fatalf("DISCONNECT %q accepted with data %q", b, p.Data)
			}
		case sio.Event, sio.BinaryEvent:
			name, _, err := sio.SplitEvent(p.Data)
			if err != nil {
				t.Fatalf("EVENT %q accepted, but SplitEvent says %v", b, err)
			}
			if sio.IsReserved(name) {
				t.Fatalf("EVENT %q accepted with reserved name %q", b, name)
			}
			if elems, _ := sio.SplitArray(p.Data); firstByte(elems[0]) != '"' && !strings.ContainsRune("-0123456789", rune(firstByte(elems[0]))) {
				t.Fatalf("EVENT %q accepted with name %q", b, elems[0])
			}
		case sio.Ack, sio.BinaryAck:
			if p.ID == sio.NoID {
				t.Fatalf("ACK %q accepted without an id", b)
			}
			if _, err := sio.SplitArray(p.Data); err != nil {
				t.Fatalf("ACK %q accepted, but SplitArray says %v", b, err)
			}
		case sio.ConnectError:
			if kind != '{' && !(v4 && kind == '"') {
				t.Fatalf("CONNECT_ERROR %q accepted with data %q", b, p.Data)
			}
		}
		if p.Type.IsBinary() {
			if err := reconstructRef(p.Data, p.Attachments, nil); err != nil {
				t.Fatalf("binary packet %q accepted, but socket.io-parser refuses it: %v", b, err)
			}
		}

		// The v4 decoder accepts everything the v5 decoder does, the same.
		if !v4 {
			p4, err := sio.Decoder{V4: true}.Decode(b)
			if err != nil || !samePacket(p, p4) {
				t.Fatalf("the v4 decoder gives %+v, %v for %q; the v5 decoder %+v", p4, err, b, p)
			}
		}

		// Encoding the packet again gives a text that decodes the same.
		out := sio.Append(nil, p)
		again, err := sio.Decoder{V4: v4}.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Append(Decode(%q))) = Decode(%q): %v", b, out, err)
		}
		if !samePacket(again, p) {
			t.Fatalf("round trip of %q through %q: %+v, want %+v", b, out, again, p)
		}
	})
}

// FuzzPacketRoundTrip builds a valid packet from parts and checks that
// Decode(Append(p)) gives it back.
func FuzzPacketRoundTrip(f *testing.F) {
	f.Add(uint8(2), "/", int64(-1), uint8(0), "message", []byte(`{"3":[true]}`))
	f.Add(uint8(5), "/custom", int64(789), uint8(2), "upload", []byte(`{"_placeholder":true,"num":0}`))
	f.Add(uint8(3), "/", int64(0), uint8(0), "", []byte(`[1,"2"]`))
	f.Add(uint8(0), "/admin", int64(-1), uint8(0), "", []byte(`{"token":"abc"}`))
	f.Add(uint8(4), "/random", int64(-1), uint8(0), "Invalid namespace", []byte(`null`))
	f.Add(uint8(1), "/x", int64(5), uint8(0), "", []byte(nil))
	f.Add(uint8(2), "/", int64(sio.MaxID), uint8(0), "h\u00e9llo \xff\"", []byte(` "x" `))
	f.Fuzz(func(t *testing.T, typ uint8, nsp string, id int64, atts uint8, name string, arg []byte) {
		p := sio.Packet{Type: sio.Type(typ % 7), Namespace: "/" + strings.ReplaceAll(nsp, ",", ""), ID: sio.NoID}
		if id >= 0 {
			p.ID = id % (sio.MaxID + 1)
		}
		if p.Type.IsBinary() {
			p.Attachments = int(atts) % (sio.DefaultMaxAttachments + 1)
		}
		validArg := sio.ValidJSON(arg) == nil
		switch p.Type {
		case sio.Connect:
			if firstByte(arg) == '{' && validArg {
				p.Data = arg
			}
		case sio.Disconnect:
		case sio.Event, sio.BinaryEvent:
			if validArg {
				p.Data = sio.AppendEventData(nil, name, arg)
			} else {
				p.Data = sio.AppendEventData(nil, name)
			}
		case sio.Ack, sio.BinaryAck:
			if p.ID == sio.NoID {
				p.ID = 0
			}
			if validArg {
				p.Data = sio.AppendArray(nil, arg)
			} else {
				p.Data = sio.AppendArray(nil)
			}
		case sio.ConnectError:
			p.Data, _ = json.Marshal(map[string]string{"message": name})
		}
		if p.Data != nil && len(p.Data) == 0 {
			p.Data = nil
		}
		text := sio.Append(nil, p)
		got, err := sio.Decoder{}.Decode(text)
		if p.Type == sio.Event || p.Type == sio.BinaryEvent {
			var n string
			_ = json.Unmarshal(sio.AppendQuote(nil, name), &n)
			if sio.IsReserved(n) {
				if !errors.Is(err, sio.ErrBadPayload) {
					t.Fatalf("Decode(%q) error = %v for a reserved name, want %v", text, err, sio.ErrBadPayload)
				}
				return
			}
		}
		if err != nil {
			t.Fatalf("Decode(Append(%+v)) = Decode(%q): %v", p, text, err)
		}
		if !samePacket(got, p) {
			t.Fatalf("Decode(%q) = %+v, want %+v", text, got, p)
		}
	})
}

func FuzzAppendQuote(f *testing.F) {
	for _, s := range []string{"", "hello", `a"b\c`, "\n\r\t\x00\x1f\x7f", "h\u00e9llo \u20ac \U0001F600 \u2028\u2029",
		"a\xffb", "\xe2\x82", "\xed\xa0\x80", "<a&b>", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := sio.AppendQuote(nil, s)
		if err := sio.ValidJSON(q); err != nil || !json.Valid(q) {
			t.Fatalf("AppendQuote(%q) = %s is not valid JSON: %v", s, q, err)
		}
		if !utf8.Valid(q) {
			t.Fatalf("AppendQuote(%q) = %q is not UTF-8", s, q)
		}
		var back string
		if err := json.Unmarshal(q, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", q, err)
		}
		if utf8.ValidString(s) {
			if back != s {
				t.Fatalf("AppendQuote(%q) reads back as %q", s, back)
			}
		} else {
			// Each invalid byte becomes U+FFFD, as with encoding/json.
			var want string
			std, _ := json.Marshal(s)
			_ = json.Unmarshal(std, &want)
			if back != want {
				t.Fatalf("AppendQuote(%q) reads back as %q, encoding/json's quoting as %q", s, back, want)
			}
		}
		name, _, err := sio.SplitEvent(sio.AppendEventData(nil, s))
		if err != nil || name != back {
			t.Fatalf("SplitEvent(AppendEventData(%q)) = %q, %v; want %q", s, name, err, back)
		}
	})
}

func FuzzAppendEventData(f *testing.F) {
	f.Add("message", []byte(`1`), []byte(`{"3":[true]}`))
	f.Add("h\u00e9llo", []byte(` "x" `), []byte(`{"_placeholder":true,"num":0}`))
	f.Add("connect", []byte(`null`), []byte(`[]`))
	f.Add("\xff", []byte(`[1,`), []byte(``))
	f.Fuzz(func(t *testing.T, name string, a1, a2 []byte) {
		var args [][]byte
		for _, a := range [][]byte{a1, a2} {
			if sio.ValidJSON(a) == nil {
				args = append(args, a)
			}
		}
		data := sio.AppendEventData(nil, name, args...)
		if err := sio.ValidJSON(data); err != nil {
			t.Fatalf("AppendEventData(%q, %q) = %q is not valid JSON: %v", name, args, data, err)
		}
		got, gotArgs, err := sio.SplitEvent(data)
		if err != nil {
			t.Fatalf("SplitEvent(%q): %v", data, err)
		}
		var want string
		_ = json.Unmarshal(sio.AppendQuote(nil, name), &want)
		if got != want {
			t.Fatalf("SplitEvent(%q) name = %q, want %q", data, got, want)
		}
		if len(gotArgs) != len(args) {
			t.Fatalf("SplitEvent(%q) gave %d args, want %d", data, len(gotArgs), len(args))
		}
		for i := range args {
			if !bytes.Equal(gotArgs[i], bytes.Trim(args[i], " \t\r\n")) {
				t.Fatalf("arg %d = %q, want %q", i, gotArgs[i], args[i])
			}
		}
		text := append(sio.AppendHeader(nil, sio.Packet{Type: sio.Event, ID: sio.NoID}), data...)
		_, err = sio.Decoder{}.Decode(text)
		if sio.IsReserved(want) != (err != nil) {
			t.Fatalf("Decode(%q) = %v; reserved name: %v", text, err, sio.IsReserved(want))
		}
	})
}

// placeholderRef is socket.io-parser's reading of a placeholder: an object
// whose "_placeholder" member is exactly true and whose "num" member is a
// number (sio also asks for an integer value; the attachment bound is
// checked by the caller). Keys match exactly, and the last of duplicate
// keys wins.
func placeholderRef(b []byte) (int, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil || sio.ValidJSON(b) != nil {
		return 0, false
	}
	if string(bytes.TrimSpace(m["_placeholder"])) != "true" {
		return 0, false
	}
	n, ok := numRef(m["num"], math.MaxInt32)
	return n, ok
}

// numRef reads a placeholder's num as socket.io does (a JSON number, as a
// float64, 0 <= num < attachments), with sio's one addition: an integer
// value.
func numRef(raw json.RawMessage, attachments int) (int, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= float64(attachments) {
		return 0, false
	}
	return int(f), true
}

// reconstructRef walks a binary packet's JSON as socket.io-parser's
// reconstructPacket does, on encoding/json's reading of it (which keeps the
// last of duplicate keys, as JSON.parse does). It returns the first illegal
// placeholder, and replaces each legal one by repl(num) when repl is set.
func reconstructRef(data []byte, attachments int, repl func(int) any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	_, err := reconstructValue(v, attachments, repl)
	return err
}

func reconstructValue(v any, attachments int, repl func(int) any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if flag, _ := t["_placeholder"].(bool); flag {
			num, _ := t["num"].(json.Number)
			n, ok := numRef(json.RawMessage(num), attachments)
			if !ok {
				return nil, errors.New("illegal attachments")
			}
			if repl != nil {
				return repl(n), nil
			}
			return v, nil
		}
		for k, e := range t {
			r, err := reconstructValue(e, attachments, repl)
			if err != nil {
				return nil, err
			}
			t[k] = r
		}
	case []any:
		for i, e := range t {
			r, err := reconstructValue(e, attachments, repl)
			if err != nil {
				return nil, err
			}
			t[i] = r
		}
	}
	return v, nil
}

func FuzzPlaceholderNum(f *testing.F) {
	for _, s := range []string{`{"_placeholder":true,"num":0}`, `{"num":3,"_placeholder":true}`,
		` { "_placeholder" : true , "num" : 12 } `, `{"_placeholder":false,"num":0}`, `{"_placeholder":true,"num":-1}`,
		`{"_placeholder":true,"num":1.5}`, `{"_placeholder":true}`, `[1]`, `"x"`, `{"_placeholder":true,"num":0,"extra":[1]}`,
		`{"_placeholder":true,"num":1.0}`, `{"\u005fplaceholder":true,"num":2}`, `{"_placeholder":true,"num":1,"num":2}`,
		`{"_placeholder":true,"num":-0}`, `{"_placeholder":true,"num":1e400}`} {
		f.Add([]byte(s), 0)
	}
	f.Add([]byte(nil), 7)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n >= 0 {
			if got, ok := sio.PlaceholderNum(sio.Placeholder(n)); ok != (n <= math.MaxInt32-1) || ok && got != n {
				t.Fatalf("PlaceholderNum(Placeholder(%d)) = %d, %v", n, got, ok)
			}
		}
		got, ok := sio.PlaceholderNum(b)
		want, wantOK := placeholderRef(b)
		if ok && got < 0 {
			t.Fatalf("PlaceholderNum(%q) = %d", b, got)
		}
		if ok != wantOK || got != want {
			t.Fatalf("PlaceholderNum(%q) = %d, %v; socket.io-parser reads %d, %v", b, got, ok, want, wantOK)
		}
	})
}

// FuzzPlaceholders checks CheckPlaceholders and AppendPlaceholders against
// socket.io-parser's reconstruction, read through encoding/json.
func FuzzPlaceholders(f *testing.F) {
	for _, s := range []string{
		`["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`["m",{"_placeholder":true,"num":7}]`, `["m",{"a":[{"_placeholder":true,"num":1.0}]}]`,
		`{"a":{"_placeholder":true,"num":7},"a":1}`, `{"a":1,"a":{"_placeholder":true,"num":7}}`,
		`{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":7}}`, `{"\u005fplaceholder":true,"num":9}`,
		`{"_placeholder":true,"_placeholder":false,"num":9}`, `[{"_placeholder":true}]`, `[1,"x",null]`, `{"a":`,
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, atts uint8) {
		n := int(atts % 12)
		in := bytes.Clone(b)
		err := sio.CheckPlaceholders(b, n)
		out, aerr := sio.AppendPlaceholders([]byte("pre"), b, n, func(dst []byte, num int) []byte {
			return append(strconv.AppendQuote(append(dst, `{"bin":`...), "#"+strconv.Itoa(num)), '}') // JSON for these strings
		})
		if !bytes.Equal(in, b) {
			t.Fatalf("the input changed")
		}
		if (err == nil) != (aerr == nil) {
			t.Fatalf("CheckPlaceholders(%q) = %v, AppendPlaceholders: %v", b, err, aerr)
		}
		if sio.ValidJSON(b) != nil || !utf8.Valid(b) {
			if err == nil && sio.ValidJSON(b) != nil {
				t.Fatalf("CheckPlaceholders(%q) accepts what ValidJSON refuses", b)
			}
			return
		}
		var want any
		ref := reconstructRef(b, n, func(num int) any { return map[string]any{"bin": "#" + strconv.Itoa(num)} })
		if (err == nil) != (ref == nil) {
			t.Fatalf("CheckPlaceholders(%q, %d) = %v; socket.io-parser: %v", b, n, err, ref)
		}
		if err != nil {
			if !errors.Is(err, sio.ErrBadAttachments) {
				t.Fatalf("CheckPlaceholders(%q, %d) = %v, want %v", b, n, err, sio.ErrBadAttachments)
			}
			return
		}
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatalf("AppendPlaceholders dropped dst: %q", out)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		_ = dec.Decode(&want)
		want, _ = reconstructValue(want, n, func(num int) any { return map[string]any{"bin": "#" + strconv.Itoa(num)} })
		var got any
		dec = json.NewDecoder(bytes.NewReader(out[3:]))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("AppendPlaceholders(%q) = %q is not JSON: %v", b, out[3:], err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("AppendPlaceholders(%q) = %s; socket.io-parser reads %s", b, gj, wj)
		}
	})
}
