package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/natsock/natsock/bridge/auth"
)

// TestTokenVerdicts checks every way a token can be wrong against an
// authenticator with both an HS secret and a JWKS (RSA, EC and Ed25519
// keys), and that each is refused with its own code and a message that
// holds neither the secret nor the token.
func TestTokenVerdicts(t *testing.T) {
	rsaKey, ecKey, edKey := newRSA(t, "rsa-1"), newEC(t, "ec-1"), newEd(t, "ed-1")
	stranger := newRSA(t, "rsa-1") // same kid, another key
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, jwks(t, rsaKey, ecKey, edKey), 0o600); err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, auth.Config{JWTSecret: secret, JWKS: file, Issuer: "https://id.example", Audience: "natsock"})
	good := func(sub string) jwt.MapClaims {
		return valid(sub, "iss", "https://id.example", "aud", "natsock")
	}
	now := time.Now()
	with := func(c jwt.MapClaims, k string, v any) jwt.MapClaims {
		c[k] = v
		return c
	}
	without := func(c jwt.MapClaims, k string) jwt.MapClaims {
		delete(c, k)
		return c
	}
	hsTok := hs(t, secret, good("42"))
	parts := strings.Split(hsTok, ".")
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1","exp":9999999999,"iss":"https://id.example","aud":"natsock"}`))
	pubDER, _ := x509.MarshalPKIXPublicKey(rsaKey.pub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	noneTok := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, good("42")).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()

	cases := []struct {
		name  string
		token string
		code  auth.Code
		sub   string
	}{
		{"an HS256 token signed with the secret is accepted", hsTok, "", "42"},
		{"an RS256 token signed with a JWKS key is accepted", rsaKey.sign(t, good("7")), "", "7"},
		{"an ES256 token signed with a JWKS key is accepted", ecKey.sign(t, good("8")), "", "8"},
		{"an EdDSA token signed with a JWKS key is accepted", edKey.sign(t, good("9")), "", "9"},
		{"a token that expired a second ago is accepted within the leeway", hs(t, secret, with(good("1"), "exp", now.Add(-time.Second).Unix())), "", "1"},
		{"an expired token is refused", hs(t, secret, with(good("1"), "exp", now.Add(-time.Hour).Unix())), auth.CodeExpired, ""},
		{"a token not valid yet is refused", hs(t, secret, with(good("1"), "nbf", now.Add(time.Hour).Unix())), auth.CodeNotYetValid, ""},
		{"a token issued in the future is refused", hs(t, secret, with(good("1"), "iat", now.Add(time.Hour).Unix())), auth.CodeIssuedInFuture, ""},
		{"a token with no exp is refused", hs(t, secret, without(good("1"), "exp")), auth.CodeInvalidClaims, ""},
		{"a token signed with another secret is refused", hs(t, []byte("another secret, 32 bytes or more!"), good("1")), auth.CodeBadSignature, ""},
		{"a token signed with another RSA key of the same kid is refused", stranger.sign(t, good("1")), auth.CodeBadSignature, ""},
		{"a token with alg none is refused", noneTok, auth.CodeBadAlgorithm, ""},
		{"an HS256 token keyed with the RSA public key is refused", hs(t, pubPEM, good("1")), auth.CodeBadSignature, ""},
		{"a token for another audience is refused", hs(t, secret, with(good("1"), "aud", "someone-else")), auth.CodeWrongAudience, ""},
		{"a token from another issuer is refused", hs(t, secret, with(good("1"), "iss", "https://evil.example")), auth.CodeWrongIssuer, ""},
		{"a token whose payload was changed is refused", parts[0] + "." + forgedPayload + "." + parts[2], auth.CodeBadSignature, ""},
		{"a token whose signature was changed is refused", parts[0] + "." + parts[1] + "." + flip(parts[2]), auth.CodeBadSignature, ""},
		{"a token with an unknown kid is refused", newRSA(t, "rsa-9").sign(t, good("1")), auth.CodeUnknownKey, ""},
		{"an ES256 header on an RSA kid is refused", withHeader(t, rsaKey, "ES256"), auth.CodeBadAlgorithm, ""},
		{"garbage is refused as malformed", "not.a.jwt", auth.CodeMalformed, ""},
		{"two segments are refused as malformed", parts[0] + "." + parts[1], auth.CodeMalformed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), nil, withToken(c.token))
			if got := codeOf(t, err); got != c.code {
				t.Fatalf("code %q, want %q (err %v)", got, c.code, err)
			}
			if err != nil {
				r := err.(*auth.Refusal)
				if r.Message == "" || strings.Contains(r.Message, c.token) || strings.Contains(r.Message, string(secret)) {
					t.Fatalf("message %q is empty or holds the token or the secret", r.Message)
				}
				if id != nil {
					t.Fatal("a refusal came with an identity")
				}
				return
			}
			if id == nil || id.Subject != c.sub || id.Claims["sub"] != c.sub {
				t.Fatalf("identity %+v, want subject %q", id, c.sub)
			}
		})
	}
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// withHeader signs an RS256 token, then relabels its header with alg.
func withHeader(t *testing.T, s *signer, alg string) string {
	tok := s.sign(t, valid("1"))
	parts := strings.Split(tok, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","kid":"` + s.kid + `","typ":"JWT"}`))
	return strings.Join(parts, ".")
}

// TestAlgorithmsFollowKeys checks that without a secret no HS token passes
// (the JWKS's public keys are never used as HMAC secrets), and that without
// a JWKS no RS token does.
func TestAlgorithmsFollowKeys(t *testing.T) {
	k := newRSA(t, "k")
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, jwks(t, k), 0o600); err != nil {
		t.Fatal(err)
	}
	onlyJWKS := mustNew(t, auth.Config{JWKS: file})
	der, _ := x509.MarshalPKIXPublicKey(k.pub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for _, key := range [][]byte{pemKey, der} {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, valid("1"))
		tok.Header["kid"] = "k"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onlyJWKS.Authenticate(context.Background(), nil, withToken(s)); codeOf(t, err) != auth.CodeBadAlgorithm {
			t.Fatalf("HS256 keyed with the public key: %v, want bad_algorithm", err)
		}
	}
	onlySecret := mustNew(t, auth.Config{JWTSecret: secret})
	if _, err := onlySecret.Authenticate(context.Background(), nil, withToken(k.sign(t, valid("1")))); codeOf(t, err) != auth.CodeBadAlgorithm {
		t.Fatalf("RS256 with only a secret: %v, want bad_algorithm", err)
	}
}

// TestSecretFile reads the secret from a file, its newline dropped.
func TestSecretFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, append(append([]byte(nil), secret...), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, auth.Config{JWTSecretFile: file})
	if _, err := a.Authenticate(context.Background(), nil, withToken(hs(t, secret, valid("1")))); err != nil {
		t.Fatal(err)
	}
}

// TestLeewayIsConfigurable checks that a token expired 10s ago passes the
// default 30s leeway, and fails with a 1s one.
func TestLeewayIsConfigurable(t *testing.T) {
	tok := hs(t, secret, jwt.MapClaims{"sub": "1", "exp": time.Now().Add(-10 * time.Second).Unix()})
	if _, err := mustNew(t, auth.Config{JWTSecret: secret}).Authenticate(context.Background(), nil, withToken(tok)); err != nil {
		t.Fatalf("default leeway: %v", err)
	}
	_, err := mustNew(t, auth.Config{JWTSecret: secret, Leeway: time.Second}).Authenticate(context.Background(), nil, withToken(tok))
	if codeOf(t, err) != auth.CodeExpired {
		t.Fatalf("1s leeway: %v, want expired", err)
	}
}

// TestAnonymousAndRequired checks the three fates of a socket without a
// good token: anonymous, refused for lack of one, refused for a bad one.
func TestAnonymousAndRequired(t *testing.T) {
	ctx := context.Background()
	open := mustNew(t, auth.Config{JWTSecret: secret, RoomTemplates: []string{"user:{sub}"}})
	id, err := open.Authenticate(ctx, nil, auth.Handshake{Namespace: "/", Auth: []byte(`{}`)})
	if err != nil || id != nil {
		t.Fatalf("no token, not required: %+v, %v; want anonymous", id, err)
	}
	if _, err := open.Authenticate(ctx, nil, withToken("bad")); codeOf(t, err) != auth.CodeMalformed {
		t.Fatalf("a bad token, not required: %v; want malformed, never anonymous", err)
	}
	if _, err := open.Authenticate(ctx, nil, auth.Handshake{Auth: []byte(`{"token":42}`)}); codeOf(t, err) != auth.CodeMalformed {
		t.Fatalf("a numeric token: %v; want malformed", err)
	}
	required := mustNew(t, auth.Config{JWTSecret: secret, Required: true})
	_, err = required.Authenticate(ctx, nil, auth.Handshake{Namespace: "/", Auth: []byte(`{}`)})
	if codeOf(t, err) != auth.CodeNoToken {
		t.Fatalf("no token, required: %v; want no_token", err)
	}
	id, err = open.Authenticate(ctx, nil, withToken(hs(t, secret, valid("42"))))
	if err != nil || len(id.Rooms) != 1 || id.Rooms[0] != "user:42" {
		t.Fatalf("good token: %+v, %v; want room user:42", id, err)
	}
}

// TestClientCannotNameRooms checks that rooms, whatever a client puts in
// its auth payload or query, come only from the verified claims.
func TestClientCannotNameRooms(t *testing.T) {
	a := mustNew(t, auth.Config{JWTSecret: secret, RoomTemplates: []string{"user:{sub}", "team:{teams}"},
		Sources: auth.Sources{SkipHeader: true, Query: "token"}})
	h := auth.Handshake{
		Namespace: "/",
		Auth:      []byte(`{"token":"` + hs(t, secret, valid("42")) + `","rooms":["user:1"],"sub":"1","teams":["admins"],"room":"user:1"}`),
		Query:     map[string][]string{"rooms": {"user:1"}, "room": {"user:1"}, "sub": {"1"}, "teams": {"admins"}},
	}
	id, err := a.Authenticate(context.Background(), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Rooms) != 1 || id.Rooms[0] != "user:42" {
		t.Fatalf("rooms %q, want only user:42", id.Rooms)
	}
}

// TestRoomLimits checks the refusals for too many rooms and too long a
// room name.
func TestRoomLimits(t *testing.T) {
	a := mustNew(t, auth.Config{JWTSecret: secret, RoomTemplates: []string{"team:{teams}"}, MaxRooms: 3, MaxRoomLength: 16})
	ctx := context.Background()
	three := hs(t, secret, valid("1", "teams", []any{"a", "b", "c"}))
	if id, err := a.Authenticate(ctx, nil, withToken(three)); err != nil || len(id.Rooms) != 3 {
		t.Fatalf("three teams: %+v, %v", id, err)
	}
	four := hs(t, secret, valid("1", "teams", []any{"a", "b", "c", "d"}))
	if _, err := a.Authenticate(ctx, nil, withToken(four)); codeOf(t, err) != auth.CodeTooManyRooms {
		t.Fatalf("four teams: %v, want too_many_rooms", err)
	}
	long := hs(t, secret, valid("1", "teams", []any{strings.Repeat("x", 20)}))
	if _, err := a.Authenticate(ctx, nil, withToken(long)); codeOf(t, err) != auth.CodeRoomTooLong {
		t.Fatalf("a long team: %v, want room_too_long", err)
	}
}

// TestConfigErrors checks that New names each cause.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	oct := filepath.Join(dir, "oct.json")
	_ = os.WriteFile(bad, []byte(`{"keys": [`), 0o600)
	short := filepath.Join(dir, "short")
	_ = os.WriteFile(short, []byte("short\n"), 0o600)
	_ = os.WriteFile(oct, []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}`), 0o600)
	cases := []struct {
		name string
		cfg  auth.Config
		want string
	}{
		{"a short secret", auth.Config{JWTSecret: []byte("short")}, "at least 32"},
		{"a secret file with a short secret", auth.Config{JWTSecretFile: short}, "secret of 5 bytes"},
		{"a missing secret file", auth.Config{JWTSecretFile: filepath.Join(dir, "none")}, "no such file"},
		{"a secret and a secret file", auth.Config{JWTSecret: secret, JWTSecretFile: short}, "give one of them"},
		{"a cookie source with nothing to verify", auth.Config{Sources: auth.Sources{Cookie: "sid"}}, "nothing verifies"},
		{"a missing JWKS file", auth.Config{JWKS: filepath.Join(dir, "none.json")}, "no such file"},
		{"a JWKS file that is not JSON", auth.Config{JWKS: bad}, "not a JSON key set"},
		{"a symmetric key in a JWKS", auth.Config{JWKS: oct}, "symmetric keys do not belong"},
		{"an http JWKS URL to another host", auth.Config{JWKS: "http://id.example/jwks.json"}, "loopback"},
		{"a JWKS URL of another scheme", auth.Config{JWKS: "ftp://id.example/jwks.json"}, `scheme "ftp"`},
		{"a wildcard request subject", auth.Config{Request: "auth.*"}, "not a valid NATS subject"},
		{"a template without a claim", auth.Config{JWTSecret: secret, RoomTemplates: []string{"lobby"}}, "no {claim}"},
		{"required with nothing to verify", auth.Config{Required: true}, "nothing verifies"},
		{"an audience with nothing to verify", auth.Config{Audience: "x"}, "no JWT secret or JWKS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Logger = quiet()
			_, err := auth.New(context.Background(), c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
		})
	}
	_, err := auth.New(context.Background(), auth.Config{JWTSecret: []byte("x"), Request: "a..b", MaxRooms: -1})
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Fatalf("want the three problems at once, got %d: %v", n, err)
	}
}

// FuzzVerify feeds arbitrary tokens to an authenticator: none passes but
// the one seed signed with the secret, and every refusal is a Refusal.
func FuzzVerify(f *testing.F) {
	good := hs(f, secret, valid("42"))
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")
	f.Add("a.b.c")
	f.Add("")
	a := mustNew(f, auth.Config{JWTSecret: secret})
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := a.Authenticate(context.Background(), nil, withToken(tok))
		if err == nil && tok != "" && tok != good {
			t.Fatalf("an unsigned token passed: %q -> %+v", tok, id)
		}
		if err != nil {
			codeOf(t, err)
		}
	})
}

// BenchmarkAuthenticate measures one handshake's verification: an HS256
// token with a room template, and an RS256 and an EdDSA token from a JWKS.
func BenchmarkAuthenticate(b *testing.B) {
	rsaKey, edKey := newRSA(b, "r"), newEd(b, "e")
	file := filepath.Join(b.TempDir(), "jwks.json")
	if err := os.WriteFile(file, jwks(b, rsaKey, edKey), 0o600); err != nil {
		b.Fatal(err)
	}
	a := mustNew(b, auth.Config{JWTSecret: secret, JWKS: file, RoomTemplates: []string{"user:{sub}"}})
	for _, c := range []struct {
		name  string
		token string
	}{
		{"HS256", hs(b, secret, valid("42"))},
		{"RS256", rsaKey.sign(b, valid("42"))},
		{"EdDSA", edKey.sign(b, valid("42"))},
	} {
		h := withToken(c.token)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(context.Background(), nil, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
