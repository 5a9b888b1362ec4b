package engine

import (
	"errors"
	"net/http"
)

// Serving beside the engine: a long-lived endpoint of the layer above
// (natsock's server-sent events) that must obey the same origin policy
// and share the same connection bounds as the engine's sessions.

// Errors of Admit. Their text is what a refused client may be told.
var (
	ErrTooManyConnections      = errors.New(msgTooManyConnections)
	ErrTooManyConnectionsForIP = errors.New(msgTooManyConnectionsForIP)
)

// Admit takes a place under Config.MaxConnections and
// MaxConnectionsPerIP for a connection from remoteAddr ("ip:port") that
// the layer above serves itself, so that one bound covers it and the
// sessions: a session's handshake counts it, and it counts them. It
// returns ErrTooManyConnections or ErrTooManyConnectionsForIP (and counts
// the refusal in Stats) past a bound; otherwise release, which gives the
// place back (only its first call does).
func (srv *Server) Admit(remoteAddr string) (release func(), err error) {
	ip := remoteIP(remoteAddr)
	if err := srv.take(ip); err != nil {
		return nil, err
	}
	done := false
	return func() {
		if !done {
			done = true
			srv.release(ip)
		}
	}, nil
}

// AllowOrigin applies Config.AllowOrigins to r as the engine does to its
// own requests: it sets the CORS response headers (and answers a
// preflight's) and reports false when r's origin is refused, after
// calling Config.OnOriginRefused. It writes no body.
func (srv *Server) AllowOrigin(w http.ResponseWriter, r *http.Request) bool { return srv.cors(w, r) }
