package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"os"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// Authenticator decides who a handshake is: it finds the token, verifies
// it, asks the authorization service, and makes the rooms. It is safe for
// concurrent use.
type Authenticator struct {
	cfg       Config
	log       *slog.Logger
	verifier  *verifier // nil when no secret or JWKS is set
	asker     *asker    // nil without Config.Request
	templates []*Template
}

// New checks cfg and builds an Authenticator. It reads the JWKS file or
// fetches the JWKS URL once (within the fetch timeout), so that an
// unreadable or malformed key set stops natsock at start with its cause.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	headers := make([]string, len(cfg.RequestHeaders))
	for i, h := range cfg.RequestHeaders {
		headers[i] = textproto.CanonicalMIMEHeaderKey(h)
	}
	cfg.RequestHeaders = headers
	cfg.setDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.JWTSecretFile != "" {
		secret, err := readSecret(cfg.JWTSecretFile)
		if err != nil {
			return nil, &FieldError{Field: "JWTSecretFile", Err: err}
		}
		cfg.JWTSecret = secret
	}
	a := &Authenticator{cfg: cfg, log: cfg.Logger}
	var keys *keySet
	if cfg.JWKS != "" {
		var err error
		if keys, err = newKeySet(ctx, &a.cfg); err != nil {
			return nil, &FieldError{Field: "JWKS", Err: err}
		}
	}
	if len(cfg.JWTSecret) > 0 || keys != nil {
		a.verifier = newVerifier(&a.cfg, keys)
	}
	if cfg.Request != "" {
		a.asker = &asker{subject: cfg.Request, timeout: cfg.RequestTimeout, headers: cfg.RequestHeaders}
		if cfg.CacheTTL > 0 {
			a.asker.cache = newReplyCache(cfg.CacheTTL, cfg.CacheSize)
		}
	}
	for _, src := range cfg.RoomTemplates {
		t, _ := ParseTemplate(src) // Validate parsed them
		a.templates = append(a.templates, t)
	}
	return a, nil
}

// Authenticate decides a handshake. It returns the socket's Identity, nil
// (and no error) for an anonymous socket, or a *Refusal that says why the
// socket may not connect. nc carries authorization requests; it may be nil
// when Config.Request is empty.
//
// The steps: the token is taken from the first enabled source that holds
// one (a malformed source refuses). With a JWT secret or JWKS, a token
// must be a valid JWT. With Config.Request, the service is asked next
// (with the verified claims) and its answer is final. Without a token,
// Config.Required refuses; otherwise the service, if any, decides, and
// with none the socket is anonymous.
func (a *Authenticator) Authenticate(ctx context.Context, nc *nats.Conn, h Handshake) (*Identity, error) {
	tok, src, err := ExtractToken(h, a.cfg.Sources)
	if err != nil {
		return nil, refuse(CodeMalformed, "the credential is malformed: "+err.Error(), err)
	}
	if tok == "" && a.cfg.Required {
		return nil, refuse(CodeNoToken, "authentication is required and no token was given", nil)
	}
	var claims map[string]any
	if tok != "" {
		switch {
		case a.verifier != nil:
			var r *Refusal
			if claims, r = a.verifier.verify(ctx, tok); r != nil {
				return nil, r
			}
		case a.asker == nil:
			// Nothing could vouch for it: taking it as anonymous would
			// silently downgrade a client that meant to log in.
			return nil, refuse(CodeNoJWTVerifier, "this server does not accept tokens", nil)
		}
	}
	id := &Identity{Claims: claims}
	if sub, ok := claims["sub"].(string); ok {
		id.Subject = sub
	}
	if a.asker != nil {
		req := &Request{
			V: RequestVersion, Namespace: h.Namespace, Remote: h.RemoteAddr,
			Token: tok, Source: src, Claims: claims, Auth: h.Auth,
			Headers: pickHeaders(a.cfg.RequestHeaders, func(n string) []string {
				return h.Header[textproto.CanonicalMIMEHeaderKey(n)]
			}),
		}
		reply, r := a.asker.ask(ctx, nc, req)
		if r != nil {
			if r.Code == CodeServiceBadReply {
				a.log.Error("authorization service sent a malformed reply; the socket is refused",
					"subject", a.cfg.Request, "namespace", h.Namespace, "remote", h.RemoteAddr, "err", r.Err)
			}
			return nil, r
		}
		if !*reply.Allow {
			return nil, refuse(CodeRefused, reasonFor(reply), nil)
		}
		if len(reply.Claims) > 0 {
			merged := make(map[string]any, len(claims)+len(reply.Claims))
			for k, v := range claims {
				merged[k] = v
			}
			for k, v := range reply.Claims {
				merged[k] = v
			}
			id.Claims = merged
		}
		if reply.User != "" {
			id.Subject = reply.User
		}
		id.Rooms = append(id.Rooms, reply.Rooms...)
		if reply.Emit != nil {
			id.Emit = append([]string{}, reply.Emit...)
		}
		id.Data = reply.Data
	} else if tok == "" {
		return nil, nil // anonymous
	}
	if id.Claims == nil {
		id.Claims = map[string]any{}
	}
	if r := a.addTemplateRooms(id); r != nil {
		return nil, r
	}
	return id, nil
}

// addTemplateRooms adds the rooms of the claim templates to id's, drops
// duplicates and enforces the room limits.
func (a *Authenticator) addTemplateRooms(id *Identity) *Refusal {
	max := a.cfg.MaxRooms
	for _, t := range a.templates {
		rooms, truncated := t.Rooms(id.Claims, max+1)
		if truncated {
			return refuse(CodeTooManyRooms, fmt.Sprintf("the credential names more than %d rooms", max), nil)
		}
		id.Rooms = append(id.Rooms, rooms...)
	}
	seen := make(map[string]struct{}, len(id.Rooms))
	out := id.Rooms[:0:0]
	for _, r := range id.Rooms {
		if _, dup := seen[r]; dup {
			continue
		}
		seen[r] = struct{}{}
		if len(r) > a.cfg.MaxRoomLength || !utf8.ValidString(r) {
			return refuse(CodeRoomTooLong, fmt.Sprintf("a room name is longer than %d bytes or not UTF-8", a.cfg.MaxRoomLength), nil)
		}
		out = append(out, r)
	}
	if len(out) > max {
		return refuse(CodeTooManyRooms, fmt.Sprintf("the credential names more than %d rooms", max), nil)
	}
	id.Rooms = out
	return nil
}

// readSecret reads a JWT secret from a file, less one trailing newline, and
// checks its length.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if len(b) < MinSecretBytes {
		return nil, fmt.Errorf("holds a secret of %d bytes; at least %d are needed (HS256's hash length, RFC 7518 section 3.2)", len(b), MinSecretBytes)
	}
	return b, nil
}
