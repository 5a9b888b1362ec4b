package engine

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
)

// admission counts the open sessions, in all and per remote IP, for
// Config.MaxConnections and Config.MaxConnectionsPerIP. A handshake takes a
// place before its session exists (a websocket must be refused before the
// connection is hijacked); the session gives it back when it leaves the
// server's table, and a handshake that fails on the way gives it back
// itself.
type admission struct {
	total int
	perIP map[string]int // only with MaxConnectionsPerIP
}

// Refusals of a handshake for a connection limit. The messages are what
// the client reads in the JSON error; they name the limit, not the flag
// that sets it (the engine knows nothing of flags).
const (
	msgTooManyConnections      = "Server is at its connection limit; try again later"
	msgTooManyConnectionsForIP = "Too many connections from this address; try again later"
	// retryAfter is the Retry-After header of those refusals, in seconds.
	retryAfter = 5
)

// remoteIP is the host part of r.RemoteAddr (the whole of it when it has
// no port).
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// admit takes a place for a new session from ip, or answers the request
// with a refusal and returns false.
func (srv *Server) admit(w http.ResponseWriter, ip string) bool {
	switch err := srv.take(ip); err {
	case nil:
		return true
	case ErrTooManyConnectionsForIP:
		writeRefusal(w, http.StatusTooManyRequests, msgTooManyConnectionsForIP)
	default:
		writeRefusal(w, http.StatusServiceUnavailable, msgTooManyConnections)
	}
	return false
}

// take takes a place from ip, or counts the refusal and returns
// ErrTooManyConnections or ErrTooManyConnectionsForIP.
func (srv *Server) take(ip string) error {
	max, maxIP := srv.cfg.MaxConnections, srv.cfg.MaxConnectionsPerIP
	srv.admitMu.Lock()
	defer srv.admitMu.Unlock()
	a := &srv.admitted
	switch {
	case max > 0 && a.total >= max:
		srv.stats.refusedMax.Add(1)
		return ErrTooManyConnections
	case maxIP > 0 && a.perIP[ip] >= maxIP:
		srv.stats.refusedIP.Add(1)
		return ErrTooManyConnectionsForIP
	}
	a.total++
	if maxIP > 0 {
		if a.perIP == nil {
			a.perIP = make(map[string]int)
		}
		a.perIP[ip]++
	}
	return nil
}

// release gives back a place taken by admit.
func (srv *Server) release(ip string) {
	srv.admitMu.Lock()
	a := &srv.admitted
	a.total--
	if srv.cfg.MaxConnectionsPerIP > 0 {
		if n := a.perIP[ip] - 1; n > 0 {
			a.perIP[ip] = n
		} else {
			delete(a.perIP, ip)
		}
	}
	srv.admitMu.Unlock()
}

// writeRefusal answers a handshake refused for a limit: the status, a
// Retry-After and a JSON error in the Engine.IO shape ({"code","message"}),
// with code 3 ("Bad request"), the code Engine.IO uses for refusals it has
// no code of its own for.
func writeRefusal(w http.ResponseWriter, status int, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Retry-After", strconv.Itoa(retryAfter))
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{codeBadRequest, message})
	_, _ = w.Write(b)
}
