package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/natsock/natsock/bridge/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// secret is a 32-byte HS secret.
var secret = []byte("0123456789abcdef0123456789abcdef")

// signer is a key that signs test tokens, with its JWK.
type signer struct {
	kid    string
	method jwt.SigningMethod
	priv   any
	pub    any
}

func newRSA(t testing.TB, kid string) *signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{kid: kid, method: jwt.SigningMethodRS256, priv: k, pub: &k.PublicKey}
}

func newEC(t testing.TB, kid string) *signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{kid: kid, method: jwt.SigningMethodES256, priv: k, pub: &k.PublicKey}
}

func newEd(t testing.TB, kid string) *signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{kid: kid, method: jwt.SigningMethodEdDSA, priv: priv, pub: pub}
}

func (s *signer) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: s.pub, KeyID: s.kid, Use: "sig"}
}

func (s *signer) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	if s.kid != "" {
		tok.Header["kid"] = s.kid
	}
	out, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func jwks(t testing.TB, signers ...*signer) []byte {
	t.Helper()
	set := jose.JSONWebKeySet{}
	for _, s := range signers {
		set.Keys = append(set.Keys, s.jwk())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hs signs claims with HS256 and secret.
func hs(t testing.TB, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	out, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// valid are claims good for an hour.
func valid(sub string, extra ...any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustNew(t testing.TB, cfg auth.Config) *auth.Authenticator {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	a, err := auth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// withToken is a handshake carrying tok in its auth payload.
func withToken(tok string) auth.Handshake {
	b, _ := json.Marshal(map[string]string{"token": tok})
	return auth.Handshake{Namespace: "/", Auth: b, RemoteAddr: "127.0.0.1:5555"}
}

// codeOf returns the refusal code of err, or "" for nil; it fails on an
// error that is not a refusal.
func codeOf(t testing.TB, err error) auth.Code {
	t.Helper()
	if err == nil {
		return ""
	}
	var r *auth.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v is not a *auth.Refusal", err)
	}
	return r.Code
}

// logger writes text logs to w.
func logger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
