package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// Refusal messages, the connect_error a refused login gets. The Admin UI
// shows its own text for MessageInvalidCredentials (and asks for the
// password again), and "Error: <message>" for any other.
const (
	MessageInvalidCredentials = "invalid credentials"
	MessageTooManyAttempts    = "too many failed logins, retry later"
)

// credentials is what the Admin UI sends as its CONNECT auth payload: a
// session id from an earlier login, or a username and password.
type credentials struct {
	SessionID string
	Username  string
	Password  string
	HasLogin  bool // username and password are both strings
}

// parseCredentials reads the auth payload. Fields of the wrong type count
// as absent.
func parseCredentials(auth json.RawMessage) credentials {
	var raw struct {
		SessionID json.RawMessage `json:"sessionId"`
		Username  json.RawMessage `json:"username"`
		Password  json.RawMessage `json:"password"`
	}
	if json.Unmarshal(auth, &raw) != nil {
		return credentials{}
	}
	var c credentials
	c.SessionID, _ = jsonString(raw.SessionID)
	u, okU := jsonString(raw.Username)
	p, okP := jsonString(raw.Password)
	if okU && okP {
		c.Username, c.Password, c.HasLogin = u, p, true
	}
	return c
}

// guard decides logins: the bcrypt check, the sessions it hands out, and
// the limits on failed attempts.
type guard struct {
	username []byte
	hash     []byte
	ttl      time.Duration
	window   time.Duration
	maxFails int
	maxKeys  int
	checks   *rate.Limiter // bcrypt comparisons, all addresses together
	now      func() time.Time

	mu       sync.Mutex
	sessions map[string]time.Time    // session id -> expiry
	failures map[string]*failureSpan // remote IP -> its recent failures
}

type failureSpan struct {
	start time.Time
	count int
}

// verdict is what guard.check decided.
type verdict int

const (
	admitSession  verdict = iota // a valid session id
	admitLogin                   // a good username and password: a new session
	refuseMissing                // no login, and no valid session id
	refuseBad                    // a wrong username or password
	refuseLimited                // too many failures from this address, or logins in all
)

func newGuard(c *Config, now func() time.Time) *guard {
	return &guard{
		username: []byte(c.Username),
		hash:     []byte(c.PasswordHash),
		ttl:      c.SessionTTL,
		window:   c.FailureWindow,
		maxFails: c.MaxFailures,
		maxKeys:  c.MaxTracked,
		checks:   rate.NewLimiter(rate.Limit(c.LoginRate), c.LoginBurst),
		now:      now,
		sessions: make(map[string]time.Time),
		failures: make(map[string]*failureSpan),
	}
}

// check decides a login from remote (an IP, or "ip:port") with cred. On
// admitLogin it returns the new session's id.
func (g *guard) check(remote string, cred credentials) (verdict, string) {
	if cred.SessionID != "" && g.validSession(cred.SessionID) {
		return admitSession, ""
	}
	if !cred.HasLogin {
		// A stale session id (natsock restarted, or it expired) is no
		// guess worth counting: ids have 128 random bits.
		return refuseMissing, ""
	}
	ip := hostOf(remote)
	if g.limited(ip) || !g.checks.Allow() {
		return refuseLimited, ""
	}
	// The hash is compared whatever the username, so that the time taken
	// does not tell a right username from a wrong one.
	userOK := subtle.ConstantTimeCompare([]byte(cred.Username), g.username) == 1
	passOK := bcrypt.CompareHashAndPassword(g.hash, []byte(cred.Password)) == nil
	if !userOK || !passOK {
		g.fail(ip)
		return refuseBad, ""
	}
	return admitLogin, g.newSession()
}

func (g *guard) validSession(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	exp, ok := g.sessions[id]
	if ok && g.now().After(exp) {
		delete(g.sessions, id)
		return false
	}
	return ok
}

// newSession remembers a new session id. Past MaxTracked sessions the
// expired ones go, then the one closest to expiry.
func (g *guard) newSession() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	id := hex.EncodeToString(b[:])
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.sessions) >= g.maxKeys {
		oldest, oldestExp := "", time.Time{}
		for k, exp := range g.sessions {
			if now.After(exp) {
				delete(g.sessions, k)
				continue
			}
			if oldest == "" || exp.Before(oldestExp) {
				oldest, oldestExp = k, exp
			}
		}
		if len(g.sessions) >= g.maxKeys && oldest != "" {
			delete(g.sessions, oldest)
		}
	}
	g.sessions[id] = now.Add(g.ttl)
	return id
}

// limited reports whether ip has failed MaxFailures times within the
// current window.
func (g *guard) limited(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[ip]
	if f == nil {
		return false
	}
	if g.now().Sub(f.start) >= g.window {
		delete(g.failures, ip)
		return false
	}
	return f.count >= g.maxFails
}

// fail counts a failed login from ip. Past MaxTracked addresses, those
// whose window has ended are forgotten, and if none has, the new address
// is not tracked (the global LoginRate still bounds it).
func (g *guard) fail(ip string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[ip]
	if f == nil || now.Sub(f.start) >= g.window {
		if f == nil && len(g.failures) >= g.maxKeys {
			for k, v := range g.failures {
				if now.Sub(v.start) >= g.window {
					delete(g.failures, k)
				}
			}
			if len(g.failures) >= g.maxKeys {
				return
			}
		}
		f = &failureSpan{start: now}
		g.failures[ip] = f
	}
	f.count++
}

// hostOf is the IP of a "host:port" remote address, or remote itself.
func hostOf(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}
