package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Handshake is what a socket brings to authentication: its namespace
// CONNECT and the HTTP request that opened its Engine.IO session.
type Handshake struct {
	// Namespace is the namespace the socket connects to, such as "/".
	Namespace string
	// Auth is the CONNECT packet's auth payload (raw JSON; {} when none).
	Auth json.RawMessage
	// Header and Query are the opening request's.
	Header http.Header
	Query  url.Values
	// RemoteAddr is the TCP peer's address ("ip:port").
	RemoteAddr string
}

// Source names where a token was found.
type Source string

// The token sources, as they appear in an authorization request.
const (
	SourceNone   Source = ""
	SourceAuth   Source = "auth"
	SourceHeader Source = "header"
	SourceCookie Source = "cookie"
	SourceQuery  Source = "query"
)

// maxTokenBytes bounds a token; a longer one is malformed. Headers are
// bounded by the HTTP server and the auth payload by the engine's max
// payload, but a bound here keeps the cache and the requests small.
const maxTokenBytes = 16 << 10

// Errors of ExtractToken, each wrapped in a malformed refusal.
var (
	errAuthPayload = errors.New("the auth payload is not a JSON object")
	errAuthToken   = errors.New(`the auth payload's "token" is not a string`)
	errEmptyToken  = errors.New("the token is empty")
	errLongToken   = errors.New("the token is longer than 16 KiB")
	errBearer      = errors.New(`the Authorization header's Bearer token is empty`)
)

// ExtractToken finds the token of h in the sources s enables, in their
// order (auth payload, Authorization header, cookie, query). It returns
// SourceNone and no error when there is none. A source that holds
// something malformed (an auth token that is not a string, an empty
// Bearer) is an error, never skipped: a client that meant to bring a
// credential is never taken for an anonymous one.
func ExtractToken(h Handshake, s Sources) (string, Source, error) {
	if !s.SkipPayload {
		tok, ok, err := authPayloadToken(h.Auth)
		if err != nil {
			return "", SourceNone, err
		}
		if ok {
			return tok, SourceAuth, checkToken(tok)
		}
	}
	if !s.SkipHeader {
		for _, v := range h.Header.Values("Authorization") {
			scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
			if !strings.EqualFold(scheme, "Bearer") {
				continue // another scheme is not ours (a proxy's Basic, say)
			}
			tok := strings.TrimSpace(rest)
			if tok == "" {
				return "", SourceNone, errBearer
			}
			return tok, SourceHeader, checkToken(tok)
		}
	}
	if s.Cookie != "" {
		for _, line := range h.Header.Values("Cookie") {
			cookies, err := http.ParseCookie(line)
			if err != nil {
				// One bad cookie of the browser's must not hide ours: read
				// the pairs one at a time.
				cookies = parseCookiesLoosely(line)
			}
			for _, c := range cookies {
				if c.Name == s.Cookie {
					return c.Value, SourceCookie, checkToken(c.Value)
				}
			}
		}
	}
	if s.Query != "" && h.Query.Has(s.Query) {
		tok := h.Query.Get(s.Query)
		return tok, SourceQuery, checkToken(tok)
	}
	return "", SourceNone, nil
}

// authPayloadToken reads {"token": "..."} from the auth payload. A payload
// without "token" (or with "token": null) has none.
func authPayloadToken(raw json.RawMessage) (string, bool, error) {
	if len(raw) == 0 {
		return "", false, nil
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		if string(raw) == "null" {
			return "", false, nil
		}
		return "", false, errAuthPayload
	}
	t, ok := p["token"]
	if !ok || string(t) == "null" {
		return "", false, nil
	}
	var tok string
	if err := json.Unmarshal(t, &tok); err != nil {
		return "", false, errAuthToken
	}
	return tok, true, nil
}

func checkToken(tok string) error {
	switch {
	case tok == "":
		return errEmptyToken
	case len(tok) > maxTokenBytes:
		return errLongToken
	}
	return nil
}

// parseCookiesLoosely reads name=value pairs, skipping the ones
// http.ParseCookie would refuse.
func parseCookiesLoosely(line string) []*http.Cookie {
	var out []*http.Cookie
	for part := range strings.SplitSeq(line, ";") {
		if c, err := http.ParseCookie(strings.TrimSpace(part)); err == nil {
			out = append(out, c...)
		}
	}
	return out
}
