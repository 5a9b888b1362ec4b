package engine

import (
	"net/http"
	"net/url"
	"strings"
)

// cors applies the origin policy to r and sets the CORS response headers.
// It reports false when the request's origin is refused.
func (srv *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-origin request
	}
	h := w.Header()
	allowed, any := false, false
	for _, o := range srv.cfg.AllowOrigins {
		if o == "*" {
			any = true
			break
		}
		if strings.EqualFold(o, origin) {
			allowed = true
			break
		}
	}
	switch {
	case any:
		h.Set("Access-Control-Allow-Origin", "*")
	case allowed:
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	case sameOrigin(origin, r.Host):
		return true
	default:
		if f := srv.cfg.OnOriginRefused; f != nil {
			f(origin, r)
		}
		return false
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "600")
	}
	return true
}

// sameOrigin reports whether origin (scheme://host[:port]) names host.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	// An origin leaves out the scheme's default port; Host may not.
	def := map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	return def != "" && strings.EqualFold(u.Host+def, host)
}

// headerHasToken reports whether header name holds token in its
// comma-separated list, case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
