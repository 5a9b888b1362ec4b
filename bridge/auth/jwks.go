package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds a JWKS document read from a file or a URL.
const maxJWKSBytes = 1 << 20

// ErrJWKS is wrapped by every error reading a key set.
var ErrJWKS = errors.New("auth: JWKS")

// publicKey is one verification key of a JWKS, with the algorithms it may
// verify: a token whose alg is not among them is never checked with it,
// which is what refuses algorithm confusion.
type publicKey struct {
	kid  string
	key  crypto.PublicKey
	algs []string
}

func (k *publicKey) allows(alg string) bool {
	for _, a := range k.algs {
		if a == alg {
			return true
		}
	}
	return false
}

// ParseJWKS reads a JSON Web Key Set (RFC 7517) of public keys: RSA (for
// RS256/384/512 and PS256/384/512), EC on P-256, P-384 or P-521 (ES256,
// ES384, ES512, by curve) and OKP Ed25519 (EdDSA). A key's "alg", when
// present, narrows it to that algorithm; a key whose "use" is not "sig" is
// skipped. A symmetric ("oct") key is refused: HMAC secrets are given with
// the JWT secret, never published. A key that cannot be read is an error
// naming it, so that a broken rotation is noticed and the previous set
// kept.
func ParseJWKS(data []byte) ([]publicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: not a JSON key set: %v", ErrJWKS, err)
	}
	if doc.Keys == nil {
		return nil, fmt.Errorf(`%w: no "keys" array`, ErrJWKS)
	}
	keys := make([]publicKey, 0, len(doc.Keys))
	for i, raw := range doc.Keys {
		var head struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("%w: key %d: not a JSON object", ErrJWKS, i)
		}
		if head.Kty == "oct" {
			return nil, fmt.Errorf("%w: key %d (kid %q): symmetric keys do not belong in a JWKS; give HMAC secrets with the JWT secret", ErrJWKS, i, head.Kid)
		}
		if head.Use != "" && head.Use != "sig" {
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("%w: key %d (kid %q): %v", ErrJWKS, i, head.Kid, err)
		}
		pub := jwk.Public()
		if !pub.Valid() {
			return nil, fmt.Errorf("%w: key %d (kid %q): not a usable public key", ErrJWKS, i, head.Kid)
		}
		k := publicKey{kid: jwk.KeyID, key: pub.Key}
		switch key := pub.Key.(type) {
		case *rsa.PublicKey:
			if key.N.BitLen() < 2048 {
				return nil, fmt.Errorf("%w: key %d (kid %q): RSA keys under 2048 bits are refused", ErrJWKS, i, head.Kid)
			}
			k.algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
		case *ecdsa.PublicKey:
			switch key.Curve {
			case elliptic.P256():
				k.algs = []string{"ES256"}
			case elliptic.P384():
				k.algs = []string{"ES384"}
			case elliptic.P521():
				k.algs = []string{"ES512"}
			default:
				return nil, fmt.Errorf("%w: key %d (kid %q): unsupported curve", ErrJWKS, i, head.Kid)
			}
		case ed25519.PublicKey:
			k.algs = []string{"EdDSA"}
		default:
			return nil, fmt.Errorf("%w: key %d (kid %q): unsupported key type %q", ErrJWKS, i, head.Kid, head.Kty)
		}
		if jwk.Algorithm != "" {
			if !k.allows(jwk.Algorithm) {
				return nil, fmt.Errorf("%w: key %d (kid %q): alg %q does not fit a %s key", ErrJWKS, i, head.Kid, jwk.Algorithm, head.Kty)
			}
			k.algs = []string{jwk.Algorithm}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// keySet is a JWKS kept fresh: a file is checked every refresh interval
// (modification time and size) and read again when it changed; a URL is
// fetched again when the refresh interval and its Cache-Control max-age
// have passed. A token with an unknown kid causes one early refresh, at
// most once per minRefresh. A refresh that fails keeps the previous keys
// and is logged. Refreshes run on the handshake that finds the set stale,
// bounded by the fetch timeout; others meanwhile use the keys in hand.
type keySet struct {
	loc        string
	isURL      bool
	client     *http.Client
	refresh    time.Duration
	minRefresh time.Duration
	timeout    time.Duration
	log        *slog.Logger
	now        func() time.Time

	mu          sync.Mutex
	keys        []publicKey
	nextCheck   time.Time     // when the set is next stale
	lastForced  time.Time     // the last refresh an unknown kid caused
	modTime     time.Time     // the file's, when last read
	size        int64         // the file's, when last read
	refreshing  chan struct{} // closed when the refresh in flight ends; nil when none
	refreshErrs int           // failures in a row, for the log
}

func newKeySet(ctx context.Context, c *Config) (*keySet, error) {
	ks := &keySet{
		loc:        c.JWKS,
		isURL:      strings.Contains(c.JWKS, "://"),
		client:     c.HTTPClient,
		refresh:    c.JWKSRefresh,
		minRefresh: c.JWKSMinRefresh,
		timeout:    c.JWKSFetchTimeout,
		log:        c.Logger,
		now:        time.Now,
	}
	if err := ks.load(ctx); err != nil {
		return nil, err
	}
	return ks, nil
}

// load reads the set now and replaces the keys in hand if it parses.
func (ks *keySet) load(ctx context.Context) error {
	var (
		data    []byte
		maxAge  time.Duration
		modTime time.Time
		size    int64
		err     error
	)
	if ks.isURL {
		data, maxAge, err = ks.fetch(ctx)
	} else {
		data, modTime, size, err = readJWKSFile(ks.loc)
	}
	var keys []publicKey
	if err == nil {
		keys, err = ParseJWKS(data)
	}
	now := ks.now()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.nextCheck = now.Add(max(ks.refresh, maxAge))
	if err != nil {
		if !ks.isURL {
			// A half-written file is read again at the next check.
			ks.modTime, ks.size = time.Time{}, -1
		}
		return err
	}
	ks.keys = keys
	ks.modTime, ks.size = modTime, size
	return nil
}

func readJWKSFile(path string) ([]byte, time.Time, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, 0, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, 0, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxJWKSBytes+1))
	if err != nil {
		return nil, time.Time{}, 0, fmt.Errorf("%w: %s: %v", ErrJWKS, path, err)
	}
	if len(data) > maxJWKSBytes {
		return nil, time.Time{}, 0, fmt.Errorf("%w: %s is larger than 1 MiB", ErrJWKS, path)
	}
	return data, st.ModTime(), st.Size(), nil
}

// fetch GETs the set's URL within the fetch timeout and returns its body
// and its Cache-Control max-age (0 when none).
func (ks *keySet) fetch(ctx context.Context) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, ks.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.loc, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: fetching %s: %v", ErrJWKS, ks.loc, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%w: fetching %s: HTTP %s", ErrJWKS, ks.loc, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: fetching %s: %v", ErrJWKS, ks.loc, err)
	}
	if len(data) > maxJWKSBytes {
		return nil, 0, fmt.Errorf("%w: %s is larger than 1 MiB", ErrJWKS, ks.loc)
	}
	return data, maxAge(resp.Header.Get("Cache-Control")), nil
}

// maxAge reads max-age from a Cache-Control header, bounded to a day; 0
// when absent, malformed, or with no-store/no-cache.
func maxAge(cc string) time.Duration {
	var age time.Duration
	for dir := range strings.SplitSeq(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
			if err != nil || n <= 0 {
				return 0
			}
			age = time.Duration(min(n, 86400)) * time.Second
		}
	}
	return age
}

// candidates returns the keys that may verify a token with kid and alg,
// refreshing the set first when it is stale, and again (rate-limited) when
// no key has the token's kid.
func (ks *keySet) candidates(ctx context.Context, kid, alg string) ([]publicKey, bool) {
	if ks.stale() {
		ks.refreshNow(ctx, false)
	}
	found, kidKnown := ks.match(kid, alg)
	if kid != "" && !kidKnown && ks.refreshNow(ctx, true) {
		found, kidKnown = ks.match(kid, alg)
	}
	return found, kid == "" || kidKnown
}

func (ks *keySet) match(kid, alg string) (found []publicKey, kidKnown bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, k := range ks.keys {
		if kid != "" && k.kid != "" && k.kid != kid {
			continue // a key without a kid may verify any token
		}
		kidKnown = true
		if k.allows(alg) {
			found = append(found, k)
		}
	}
	return found, kidKnown
}

func (ks *keySet) stale() bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return !ks.now().Before(ks.nextCheck)
}

// refreshNow brings the set up to date, or waits for the refresh already
// in flight when forced (an unknown kid), which refreshes at most once
// per minRefresh. It reports whether a refresh ran or was waited for.
func (ks *keySet) refreshNow(ctx context.Context, forced bool) bool {
	ks.mu.Lock()
	if wait := ks.refreshing; wait != nil {
		ks.mu.Unlock()
		if !forced {
			return false // the keys in hand serve until it ends
		}
		select {
		case <-wait:
		case <-ctx.Done():
		}
		return true
	}
	now := ks.now()
	if forced {
		if !ks.lastForced.IsZero() && now.Sub(ks.lastForced) < ks.minRefresh {
			ks.mu.Unlock()
			return false
		}
		ks.lastForced = now
	} else if now.Before(ks.nextCheck) {
		ks.mu.Unlock()
		return false
	}
	done := make(chan struct{})
	ks.refreshing = done
	ks.mu.Unlock()

	err := ks.reload(ctx, forced)

	ks.mu.Lock()
	ks.refreshing = nil
	if err != nil {
		ks.refreshErrs++
	} else {
		ks.refreshErrs = 0
	}
	n := ks.refreshErrs
	ks.mu.Unlock()
	close(done)
	if err != nil {
		ks.log.Error("JWKS refresh failed; keeping the previous keys", "jwks", ks.loc, "failures", n, "err", err)
	}
	return true
}

// reload reads the set again: a URL always, a file when its modification
// time or size changed (or forced).
func (ks *keySet) reload(ctx context.Context, forced bool) error {
	if !ks.isURL && !forced {
		st, err := os.Stat(ks.loc)
		if err != nil {
			ks.mu.Lock()
			ks.nextCheck = ks.now().Add(ks.refresh)
			ks.mu.Unlock()
			return fmt.Errorf("%w: %v", ErrJWKS, err)
		}
		ks.mu.Lock()
		same := st.ModTime().Equal(ks.modTime) && st.Size() == ks.size
		if same {
			ks.nextCheck = ks.now().Add(ks.refresh)
		}
		ks.mu.Unlock()
		if same {
			return nil
		}
	}
	return ks.load(ctx)
}
