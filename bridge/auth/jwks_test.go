package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/internal/bridgetest"
)

// TestJWKSFileRotation rotates the keys of a JWKS file: a token of a new
// key passes as soon as the file holds it (its unknown kid makes natsock
// read the file again), and a token of a removed key stops passing once
// the file's change is seen.
func TestJWKSFileRotation(t *testing.T) {
	oldKey, newKey := newEd(t, "2026-11"), newEd(t, "2026-12")
	file := filepath.Join(t.TempDir(), "jwks.json")
	write := func(signers ...*signer) {
		// Write and rename, as a deployment does, so no read sees half a file.
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, jwks(t, signers...), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(oldKey)
	a := mustNew(t, auth.Config{JWKS: file, JWKSRefresh: time.Millisecond, JWKSMinRefresh: time.Millisecond})
	ctx := context.Background()
	check := func(s *signer) error {
		_, err := a.Authenticate(ctx, nil, withToken(s.sign(t, valid("u"))))
		return err
	}
	if err := check(oldKey); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	if err := check(newKey); codeOf(t, err) != auth.CodeUnknownKey {
		t.Fatalf("new key before rotation: %v, want unknown_key", err)
	}
	write(oldKey, newKey)
	bridgetest.Eventually(t, 5*time.Second, "the new key accepted", func() bool { return check(newKey) == nil })
	if err := check(oldKey); err != nil {
		t.Fatalf("old key during rotation: %v", err)
	}
	write(newKey)
	bridgetest.Eventually(t, 5*time.Second, "the old key refused", func() bool { return codeOf(t, check(oldKey)) == auth.CodeUnknownKey })
	if err := check(newKey); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	// A broken file keeps the keys in hand.
	if err := os.WriteFile(file, []byte(`{"keys": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := check(newKey); err != nil {
			t.Fatalf("a broken file dropped the keys: %v", err)
		}
	}
}

// TestJWKSKeysWithoutKid checks that a key without a kid verifies tokens
// with or without one, and that a token is still checked against its
// algorithm's keys only.
func TestJWKSKeysWithoutKid(t *testing.T) {
	ed, ec := newEd(t, ""), newEC(t, "")
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, jwks(t, ed, ec), 0o600); err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, auth.Config{JWKS: file})
	ctx := context.Background()
	for _, s := range []*signer{ed, ec} {
		if _, err := a.Authenticate(ctx, nil, withToken(s.sign(t, valid("u")))); err != nil {
			t.Fatalf("%s without kid: %v", s.method.Alg(), err)
		}
		s.kid = "any"
		if _, err := a.Authenticate(ctx, nil, withToken(s.sign(t, valid("u")))); err != nil {
			t.Fatalf("%s with a kid: %v", s.method.Alg(), err)
		}
	}
	other := newEd(t, "")
	if _, err := a.Authenticate(ctx, nil, withToken(other.sign(t, valid("u")))); codeOf(t, err) != auth.CodeBadSignature {
		t.Fatalf("another Ed25519 key: %v", err)
	}
}

// jwksServer serves a key set over TLS and counts its fetches.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	body    []byte
	cc      string
}

func newJWKSServer(t *testing.T, body []byte, cacheControl string) *jwksServer {
	s := &jwksServer{body: body, cc: cacheControl}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cc != "" {
			w.Header().Set("Cache-Control", s.cc)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) {
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

// TestJWKSURLRotation serves the key set over https: an unknown kid makes
// one early fetch, and a storm of forged kids makes no more than that
// until the minimum refresh interval has passed.
func TestJWKSURLRotation(t *testing.T) {
	k1, k2 := newRSA(t, "one"), newEC(t, "two")
	srv := newJWKSServer(t, jwks(t, k1), "max-age=3600")
	a := mustNew(t, auth.Config{JWKS: srv.URL + "/jwks.json", HTTPClient: srv.Client(), JWKSMinRefresh: time.Hour})
	ctx := context.Background()
	if srv.fetches.Load() != 1 {
		t.Fatalf("%d fetches at start, want 1", srv.fetches.Load())
	}
	if _, err := a.Authenticate(ctx, nil, withToken(k1.sign(t, valid("u")))); err != nil {
		t.Fatal(err)
	}
	srv.set(jwks(t, k1, k2))
	if _, err := a.Authenticate(ctx, nil, withToken(k2.sign(t, valid("u")))); err != nil {
		t.Fatalf("the new key after one early fetch: %v", err)
	}
	if srv.fetches.Load() != 2 {
		t.Fatalf("%d fetches, want 2", srv.fetches.Load())
	}
	for i := range 20 {
		forged := newEd(t, "forged-"+string(rune('a'+i)))
		if _, err := a.Authenticate(ctx, nil, withToken(forged.sign(t, valid("u")))); codeOf(t, err) != auth.CodeUnknownKey {
			t.Fatalf("forged kid: %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("forged kids caused %d fetches, want none past the rate limit", n-2)
	}
}

// TestJWKSURLRefreshesWhenStale checks the periodic refresh of a URL whose
// Cache-Control allows no caching: every handshake past the interval
// fetches, and a key removed upstream stops passing.
func TestJWKSURLRefreshesWhenStale(t *testing.T) {
	k1, k2 := newRSA(t, "one"), newRSA(t, "two")
	srv := newJWKSServer(t, jwks(t, k1, k2), "no-store")
	a := mustNew(t, auth.Config{JWKS: srv.URL, HTTPClient: srv.Client(), JWKSRefresh: time.Millisecond, JWKSMinRefresh: time.Hour})
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, nil, withToken(k1.sign(t, valid("u")))); err != nil {
		t.Fatal(err)
	}
	srv.set(jwks(t, k2))
	bridgetest.Eventually(t, 5*time.Second, "the removed key refused", func() bool {
		_, err := a.Authenticate(ctx, nil, withToken(k1.sign(t, valid("u"))))
		return codeOf(t, err) == auth.CodeUnknownKey
	})
}

// TestJWKSURLUnreachableAtStart checks that New names the cause.
func TestJWKSURLUnreachableAtStart(t *testing.T) {
	srv := newJWKSServer(t, []byte("{}"), "")
	srv.Close()
	_, err := auth.New(context.Background(), auth.Config{JWKS: srv.URL, HTTPClient: srv.Client(), JWKSFetchTimeout: 2 * time.Second, Logger: quiet()})
	if err == nil {
		t.Fatal("New succeeded with an unreachable JWKS URL")
	}
	t.Log(err)
}
