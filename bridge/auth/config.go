package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config is how natsock authenticates handshakes. The zero Config turns
// authentication off: every socket is anonymous. Zero fields take the
// default their comment names; Validate reports every problem at once.
type Config struct {
	// JWTSecret verifies HS256, HS384 and HS512 tokens. It must be at least
	// MinSecretBytes long (RFC 7518 section 3.2 asks for a key as long as
	// the hash: 32 bytes for HS256). Empty means no HMAC tokens.
	JWTSecret []byte
	// JWTSecretFile names a file holding the JWT secret (one trailing
	// newline dropped), so that it need not be on a command line; New
	// reads it. Set at most one of JWTSecret and JWTSecretFile.
	JWTSecretFile string
	// JWKS is a JSON Web Key Set holding the public keys that verify RS*,
	// PS*, ES* and EdDSA tokens: a file path, or an https:// URL (http://
	// only for a loopback host). Empty means no public-key tokens.
	JWKS string
	// JWKSRefresh is how often a JWKS is checked for changes: a file's
	// modification time and size are compared (a changed file is read
	// again), a URL is fetched again when its Cache-Control max-age (if
	// longer) has also passed. Zero means DefaultJWKSRefresh.
	JWKSRefresh time.Duration
	// JWKSMinRefresh is the least time between two fetches that a token
	// with an unknown "kid" may cause, so that forged kids cannot make
	// natsock hammer the key server. Zero means DefaultJWKSMinRefresh.
	JWKSMinRefresh time.Duration
	// JWKSFetchTimeout bounds one fetch of a JWKS URL. Zero means
	// DefaultJWKSFetchTimeout.
	JWKSFetchTimeout time.Duration
	// HTTPClient fetches a JWKS URL. Nil means http.DefaultClient
	// (JWKSFetchTimeout bounds each fetch).
	HTTPClient *http.Client
	// Issuer, when set, must equal the token's "iss" claim.
	Issuer string
	// Audience, when set, must be one of the token's "aud" values.
	Audience string
	// Leeway is the clock skew tolerated on "exp", "nbf" and "iat". Zero
	// means DefaultLeeway; a negative value means none.
	Leeway time.Duration

	// Required refuses sockets that bring no credential (see the package
	// doc: a socket with a bad credential is refused whatever Required
	// says).
	Required bool
	// Sources are where a token is looked for. Zero means the auth payload
	// and the Authorization header.
	Sources Sources

	// Request, when set, is the NATS subject each handshake is sent to as
	// an authorization request (see [Request] and [Reply]).
	Request string
	// RequestTimeout bounds one authorization request. Zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// RequestHeaders are the HTTP headers of the handshake copied into the
	// authorization request. Empty means none.
	RequestHeaders []string
	// CacheTTL is how long an authorization reply is reused for the same
	// credential and namespace. Zero means DefaultCacheTTL; a negative
	// value turns the cache off.
	CacheTTL time.Duration
	// CacheSize bounds the cached replies. Zero means DefaultCacheSize.
	CacheSize int

	// RoomTemplates are the --room-from-claim templates, such as
	// "user:{sub}" and "team:{teams}" (see [Template]).
	RoomTemplates []string
	// MaxRooms bounds the rooms one socket joins on connect (templates and
	// the authorization service together); past it the handshake is
	// refused. Zero means DefaultMaxRooms.
	MaxRooms int
	// MaxRoomLength bounds a room name, in bytes; a longer one refuses the
	// handshake. Zero means DefaultMaxRoomLength.
	MaxRoomLength int

	// Logger receives what a client is not told (the detail of a refusal,
	// JWKS refresh failures, malformed service replies). Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Sources says where the token of a handshake may come from: the auth
// payload and the Authorization header unless turned off, a cookie and a
// query parameter when named. When several hold one, the first in the
// order of the fields wins.
type Sources struct {
	// SkipPayload turns off reading the "token" string of the CONNECT
	// packet's auth payload (socket.io-client's `auth: {token}`), read by
	// default.
	SkipPayload bool
	// SkipHeader turns off reading an "Authorization: Bearer TOKEN"
	// request header (node clients' extraHeaders; browsers cannot set it on
	// a websocket), read by default.
	SkipHeader bool
	// Cookie, when not empty, names a cookie holding the token (an
	// HttpOnly session cookie set by the application's login).
	Cookie string
	// Query, when not empty, names a query-string parameter holding the
	// token, for socket.io v2 (EIO3) clients that cannot send an auth
	// payload. URLs are logged by proxies: enable it only for them.
	Query string
}

// Defaults of the settings whose zero value is not "off".
const (
	DefaultJWKSRefresh      = 5 * time.Minute
	DefaultJWKSMinRefresh   = 30 * time.Second
	DefaultJWKSFetchTimeout = 5 * time.Second
	DefaultLeeway           = 30 * time.Second
	DefaultRequestTimeout   = 2 * time.Second
	DefaultCacheTTL         = 30 * time.Second
	DefaultCacheSize        = 10000
	DefaultMaxRooms         = 64
	DefaultMaxRoomLength    = 256
	// MinSecretBytes is the shortest HS secret accepted.
	MinSecretBytes = 32
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("auth: invalid config")

// Enabled reports whether c authenticates anything: with it false, every
// socket is anonymous and no middleware is needed.
func (c *Config) Enabled() bool {
	return len(c.JWTSecret) > 0 || c.JWTSecretFile != "" || c.JWKS != "" || c.Request != "" || c.Required || len(c.RoomTemplates) > 0
}

// FieldError is a problem with one field of a Config. Field is the field's
// path from Config ("JWTSecret", "RoomTemplates[1]", "Sources.Cookie");
// Err says what is wrong without naming the field, so that a caller can
// name it in its own terms (a flag, a file key). It wraps ErrConfig and Err.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	return ErrConfig.Error() + ": " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns ErrConfig and the reason.
func (e *FieldError) Unwrap() []error { return []error{ErrConfig, e.Err} }

// ConfigField returns the field and the reason, for a layer above that
// names the field by its own path (bridge.Config puts this Config at
// "Auth").
func (e *FieldError) ConfigField() (field string, reason error) { return e.Field, e.Err }

// WithDefaults returns c with every zero field that has a default set to
// it (Logger and HTTPClient are left to New).
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

// Validate reports every problem of c at once, each a *FieldError. It
// reads no file and fetches nothing: New does.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if n := len(c.JWTSecret); n > 0 && n < MinSecretBytes {
		bad("JWTSecret", "is %d bytes; at least %d are needed (HS256's hash length, RFC 7518 section 3.2)", n, MinSecretBytes)
	}
	if len(c.JWTSecret) > 0 && c.JWTSecretFile != "" {
		bad("JWTSecretFile", "is set with a JWT secret too: give one of them")
	}
	if c.JWKS != "" {
		if err := checkJWKSLocation(c.JWKS); err != nil {
			bad("JWKS", "%v", err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"JWKSRefresh", c.JWKSRefresh}, {"JWKSMinRefresh", c.JWKSMinRefresh},
		{"JWKSFetchTimeout", c.JWKSFetchTimeout}, {"RequestTimeout", c.RequestTimeout},
	} {
		if d.v < 0 {
			bad(d.name, "must not be negative")
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"CacheSize", c.CacheSize}, {"MaxRooms", c.MaxRooms}, {"MaxRoomLength", c.MaxRoomLength}} {
		if n.v < 0 {
			bad(n.name, "must not be negative")
		}
	}
	verifies := len(c.JWTSecret) > 0 || c.JWTSecretFile != "" || c.JWKS != ""
	if c.Issuer != "" && !verifies {
		bad("Issuer", "is set but no JWT secret or JWKS verifies tokens")
	}
	if c.Audience != "" && !verifies {
		bad("Audience", "is set but no JWT secret or JWKS verifies tokens")
	}
	if c.Request != "" && !validSubject(c.Request) {
		bad("Request", "is not a valid NATS subject (no wildcards, spaces or empty tokens)")
	}
	for i, h := range c.RequestHeaders {
		if h == "" || strings.ContainsAny(h, " \t\r\n:") {
			bad(fmt.Sprintf("RequestHeaders[%d]", i), "is not a header name")
		}
	}
	if c.Sources.Cookie != "" && strings.ContainsAny(c.Sources.Cookie, " \t\r\n;=,") {
		bad("Sources.Cookie", "is not a cookie name")
	}
	if c.Sources.Query != "" && strings.ContainsAny(c.Sources.Query, " \t\r\n&=#?") {
		bad("Sources.Query", "is not a query parameter name")
	}
	for i, t := range c.RoomTemplates {
		if _, err := ParseTemplate(t); err != nil {
			bad(fmt.Sprintf("RoomTemplates[%d]", i), "%w", err)
		}
	}
	if c.Required && !verifies && c.Request == "" {
		bad("Required", "is set but nothing verifies a credential: set a JWT secret, a JWKS or an auth request subject")
	}
	if (c.Sources.Cookie != "" || c.Sources.Query != "") && !verifies && c.Request == "" {
		bad("Sources", "name a token source but nothing verifies a credential: set a JWT secret, a JWKS or an auth request subject")
	}
	if len(c.RoomTemplates) > 0 && !verifies && c.Request == "" {
		bad("RoomTemplates", "need claims: set a JWT secret, a JWKS or an auth request subject")
	}
	return errors.Join(errs...)
}

// setDefaults fills the zero fields that have a default. It may run more
// than once: a negative Leeway or CacheTTL (none, off) stays negative.
func (c *Config) setDefaults() {
	if c.JWKSRefresh == 0 {
		c.JWKSRefresh = DefaultJWKSRefresh
	}
	if c.JWKSMinRefresh == 0 {
		c.JWKSMinRefresh = DefaultJWKSMinRefresh
	}
	if c.JWKSFetchTimeout == 0 {
		c.JWKSFetchTimeout = DefaultJWKSFetchTimeout
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.MaxRooms == 0 {
		c.MaxRooms = DefaultMaxRooms
	}
	if c.MaxRoomLength == 0 {
		c.MaxRoomLength = DefaultMaxRoomLength
	}
}

// checkJWKSLocation accepts a file path, an https URL, or an http URL to a
// loopback host.
func checkJWKSLocation(loc string) error {
	if !strings.Contains(loc, "://") {
		return nil // a file; New reads it
	}
	u, err := url.Parse(loc)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return errors.New("http:// is allowed only for a loopback host; use https://")
		}
	default:
		return fmt.Errorf("scheme %q: use https:// or a file path", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("the URL has no host")
	}
	return nil
}

// validSubject reports whether s is a NATS subject one can publish to.
func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}
