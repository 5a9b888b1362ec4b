package bridge

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/protocol/socketio"
)

// AuthStats count the handshakes authentication decided.
type AuthStats struct {
	Authenticated atomic.Uint64 // sockets admitted with an identity
	Anonymous     atomic.Uint64 // sockets admitted without one (no credential, not required)
	Refused       atomic.Uint64 // sockets refused (bad credential, none when required, service said no or failed)

	byCode refusalCounts // Refused by auth.Code (see RefusedByCode)
}

// AuthStats returns the authentication counters.
func (b *Bridge) AuthStats() *AuthStats { return &b.authStats }

// newAuthenticator builds the authenticator of cfg.Auth, or nil when
// authentication is off. It reads the JWKS now, so that a bad one stops
// New with its cause.
func newAuthenticator(cfg *Config) (*auth.Authenticator, error) {
	if !cfg.Auth.Enabled() {
		return nil, nil
	}
	ac := cfg.Auth
	if ac.Logger == nil {
		ac.Logger = cfg.Logger
	}
	if cfg.SocketIO.Engine.AllowEIO3 && ac.Sources.Query == "" {
		ac.Sources.Query = "token" // socket.io v2 clients send no auth payload
	}
	a, err := auth.New(context.Background(), ac) // a JWKS fetch is bounded by its own timeout
	if err != nil {
		return nil, errors.Join(nest("Auth", err)...)
	}
	return a, nil
}

// useAuth installs authentication on a namespace the bridge serves. Every
// namespace gets it: one left out would admit anyone.
func (b *Bridge) useAuth(ns *socketio.Namespace) {
	if b.auth != nil {
		ns.Use(b.authenticate)
	}
}

// authenticate is the middleware: it decides the handshake, keeps the
// Identity as the socket's Data and joins the rooms it names. A refusal
// becomes the client's connect_error: {message, data: {code}}.
func (b *Bridge) authenticate(s *socketio.Socket) error {
	hs := s.Handshake()
	h := auth.Handshake{
		Namespace:  s.Namespace().Name(),
		Auth:       s.Auth(),
		Header:     hs.Header,
		Query:      hs.Query,
		RemoteAddr: hs.RemoteAddr,
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HandshakeTimeout)
	defer cancel()
	id, err := b.auth.Authenticate(ctx, b.conn.Load(), h)
	if err != nil {
		b.authStats.Refused.Add(1)
		var r *auth.Refusal
		if !errors.As(err, &r) {
			r = &auth.Refusal{Code: auth.CodeMalformed, Message: "authentication failed", Err: err}
		}
		b.authStats.byCode.add(r.Code)
		level := b.log.Debug // the client's doing: expired, forged, ...
		switch r.Code {
		case auth.CodeServiceUnavailable, auth.CodeServiceTimeout, auth.CodeServiceBadReply:
			level = b.log.Warn // the server side's
		}
		level("refused a socket.io handshake", "code", string(r.Code), "namespace", h.Namespace,
			"remote", h.RemoteAddr, "reason", r.Message, "err", r.Err)
		return &socketio.ConnectError{Message: r.Message, Data: r.Data()}
	}
	if id == nil {
		b.authStats.Anonymous.Add(1)
		return nil
	}
	b.authStats.Authenticated.Add(1)
	s.SetData(id)
	if len(id.Rooms) > 0 {
		s.Join(id.Rooms...)
	}
	return nil
}
