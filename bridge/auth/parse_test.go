package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/natsock/natsock/bridge/auth"
)

func ExampleTemplate_Rooms() {
	t, _ := auth.ParseTemplate("team:{teams}")
	claims := map[string]any{"sub": "42", "teams": []any{"red", "blue", "red"}}
	rooms, _ := t.Rooms(claims, 64)
	fmt.Println(rooms)
	// Output: [team:red team:blue]
}

func TestTemplates(t *testing.T) {
	claims := map[string]any{
		"sub": "42", "num": 42.0, "frac": 1.5, "admin": true, "empty": "", "none": nil,
		"teams": []any{"red", "blue"}, "orgs": []any{"a", 7.0}, "mixed": []any{"x", map[string]any{}, nil, ""},
		"realm_access": map[string]any{"roles": []any{"ops"}}, "a.b": "dotted",
	}
	cases := []struct {
		name, template string
		want           string // rooms joined by ","
	}{
		{"a string claim makes one room", "user:{sub}", "user:42"},
		{"an integral number is written as an integer", "n:{num}", "n:42"},
		{"a fraction is written as it is", "f:{frac}", "f:1.5"},
		{"a bool is written as true or false", "admin:{admin}", "admin:true"},
		{"an array makes one room per value", "team:{teams}", "team:red,team:blue"},
		{"two arrays make every pair", "{orgs}/{teams}", "a/red,a/blue,7/red,7/blue"},
		{"non-scalar and empty values of an array are skipped", "m:{mixed}", "m:x"},
		{"a missing claim makes no room", "user:{nobody}", ""},
		{"an empty string makes no room", "e:{empty}", ""},
		{"null makes no room", "n:{none}", ""},
		{"an object makes no room", "r:{realm_access}", ""},
		{"a missing claim beside a present one makes no room", "{sub}:{nobody}", ""},
		{"a dotted name reaches a nested claim", "role:{realm_access.roles}", "role:ops"},
		{"a key with a dot is taken as it is first", "d:{a.b}", "d:dotted"},
		{"spaces inside braces are trimmed", "user:{ sub }", "user:42"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := auth.ParseTemplate(c.template)
			if err != nil {
				t.Fatal(err)
			}
			rooms, truncated := tpl.Rooms(claims, 64)
			if got := strings.Join(rooms, ","); got != c.want || truncated {
				t.Fatalf("rooms %q (truncated %v), want %q", got, truncated, c.want)
			}
		})
	}
	tpl, _ := auth.ParseTemplate("{orgs}/{teams}")
	if rooms, truncated := tpl.Rooms(claims, 3); len(rooms) != 3 || !truncated {
		t.Fatalf("limit 3: %q, truncated %v", rooms, truncated)
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := []struct {
		name, template string
		want           error
	}{
		{"an empty template", "", auth.ErrTemplateEmpty},
		{"a template without a placeholder", "lobby", auth.ErrTemplateNoHolder},
		{"an unclosed brace", "user:{sub", auth.ErrTemplateBrace},
		{"a stray closing brace", "user:}sub", auth.ErrTemplateBrace},
		{"nested braces", "user:{{sub}}", auth.ErrTemplateBrace},
		{"an empty placeholder", "user:{}", auth.ErrTemplateNoClaim},
		{"invalid UTF-8", "user:\xff{sub}", auth.ErrTemplateNotUTF8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := auth.ParseTemplate(c.template); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

func TestExtractToken(t *testing.T) {
	all := auth.Sources{Cookie: "sid", Query: "token"}
	cases := []struct {
		name    string
		h       auth.Handshake
		s       auth.Sources
		tok     string
		src     auth.Source
		wantErr bool
	}{
		{"the auth payload's token", auth.Handshake{Auth: []byte(`{"token":"a"}`)}, all, "a", auth.SourceAuth, false},
		{"a Bearer header", auth.Handshake{Header: http.Header{"Authorization": {"Bearer h"}}}, all, "h", auth.SourceHeader, false},
		{"a bearer header in lower case", auth.Handshake{Header: http.Header{"Authorization": {"bearer h"}}}, all, "h", auth.SourceHeader, false},
		{"a Basic header is not ours", auth.Handshake{Header: http.Header{"Authorization": {"Basic dTpw"}}}, all, "", auth.SourceNone, false},
		{"a named cookie", auth.Handshake{Header: http.Header{"Cookie": {"a=1; sid=c; b=2"}}}, all, "c", auth.SourceCookie, false},
		{"a named cookie beside a malformed one", auth.Handshake{Header: http.Header{"Cookie": {"bad cookie; sid=c"}}}, all, "c", auth.SourceCookie, false},
		{"a query parameter", auth.Handshake{Query: url.Values{"token": {"q"}}}, all, "q", auth.SourceQuery, false},
		{"the auth payload before the header", auth.Handshake{Auth: []byte(`{"token":"a"}`), Header: http.Header{"Authorization": {"Bearer h"}}}, all, "a", auth.SourceAuth, false},
		{"a skipped auth payload is not read", auth.Handshake{Auth: []byte(`{"token":"a"}`)}, auth.Sources{SkipPayload: true}, "", auth.SourceNone, false},
		{"a skipped header is not read", auth.Handshake{Header: http.Header{"Authorization": {"Bearer h"}}}, auth.Sources{SkipHeader: true}, "", auth.SourceNone, false},
		{"a disabled source is not read", auth.Handshake{Query: url.Values{"token": {"q"}}}, auth.Sources{}, "", auth.SourceNone, false},
		{"a cookie of another name is not read", auth.Handshake{Header: http.Header{"Cookie": {"session=c"}}}, all, "", auth.SourceNone, false},
		{"an auth payload without token", auth.Handshake{Auth: []byte(`{"x":1}`)}, all, "", auth.SourceNone, false},
		{"a null token", auth.Handshake{Auth: []byte(`{"token":null}`)}, all, "", auth.SourceNone, false},
		{"a numeric token is an error", auth.Handshake{Auth: []byte(`{"token":1}`)}, all, "", auth.SourceNone, true},
		{"an empty token is an error", auth.Handshake{Auth: []byte(`{"token":""}`)}, all, "", auth.SourceAuth, true},
		{"an auth payload that is an array is an error", auth.Handshake{Auth: []byte(`[1]`)}, all, "", auth.SourceNone, true},
		{"an empty Bearer is an error", auth.Handshake{Header: http.Header{"Authorization": {"Bearer "}}}, all, "", auth.SourceNone, true},
		{"an empty query token is an error", auth.Handshake{Query: url.Values{"token": {""}}}, all, "", auth.SourceQuery, true},
		{"a 17 KiB token is an error", auth.Handshake{Auth: []byte(`{"token":"` + strings.Repeat("x", 17<<10) + `"}`)}, all, strings.Repeat("x", 17<<10), auth.SourceAuth, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, src, err := auth.ExtractToken(c.h, c.s)
			if (err != nil) != c.wantErr || src != c.src || (!c.wantErr && tok != c.tok) {
				t.Fatalf("%q, %q, %v; want %q, %q, error %v", tok, src, err, c.tok, c.src, c.wantErr)
			}
		})
	}
}

func FuzzExtractToken(f *testing.F) {
	f.Add([]byte(`{"token":"a"}`), "Bearer x", "sid=y", "token=z")
	f.Add([]byte(`{"token":1}`), "Basic q", "bad cookie; sid=", "token=")
	f.Add([]byte(`null`), "", "", "")
	f.Fuzz(func(t *testing.T, payload []byte, authz, cookie, query string) {
		q, _ := url.ParseQuery(query)
		h := auth.Handshake{Auth: payload, Header: http.Header{"Authorization": {authz}, "Cookie": {cookie}}, Query: q}
		tok, src, err := auth.ExtractToken(h, auth.Sources{Cookie: "sid", Query: "token"})
		if err == nil && (tok == "") != (src == auth.SourceNone) {
			t.Fatalf("token %q from source %q", tok, src)
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"user:{sub}", "team:{teams}", "{a}{b}", "x{", "}", "{}", "{a.b.c}"} {
		f.Add(s, []byte(`{"sub":"42","teams":["a","b"],"a":1,"b":[true,false],"a.b":{"c":"d"}}`))
	}
	f.Fuzz(func(t *testing.T, src string, claimsJSON []byte) {
		tpl, err := auth.ParseTemplate(src)
		if err != nil {
			return
		}
		if tpl.String() != src {
			t.Fatalf("String() %q, want %q", tpl.String(), src)
		}
		var claims map[string]any
		if json.Unmarshal(claimsJSON, &claims) != nil {
			return
		}
		rooms, _ := tpl.Rooms(claims, 8)
		if len(rooms) > 8 {
			t.Fatalf("%d rooms past the limit of 8", len(rooms))
		}
		for _, r := range rooms {
			if !utf8.ValidString(r) && utf8.ValidString(string(claimsJSON)) {
				t.Fatalf("room %q is not UTF-8", r)
			}
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"e"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","alg":"ES256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","use":"enc"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := auth.ParseJWKS(data)
		if err == nil && keys == nil {
			t.Fatal("no error and no key slice")
		}
	})
}

func FuzzParseReply(f *testing.F) {
	f.Add([]byte(`{"v":1,"allow":true,"user":"u","rooms":["a"],"claims":{"x":1},"emit":["e"],"data":{"k":"v"}}`))
	f.Add([]byte(`{"allow":false,"reason":"no"}`))
	f.Add([]byte(`{"allow":true,"room":"x"}`))
	f.Add([]byte(`{"allow":true} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := auth.ParseReply(data)
		if err != nil {
			if !errors.Is(err, auth.ErrReply) {
				t.Fatalf("error %v does not wrap ErrReply", err)
			}
			return
		}
		if r.Allow == nil {
			t.Fatal("a reply without allow was accepted")
		}
		for _, room := range r.Rooms {
			if room == "" || !utf8.ValidString(room) {
				t.Fatalf("room %q accepted", room)
			}
		}
	})
}
