package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/natsock/natsock/protocol/socketio"
)

// The defaults of Config, applied to its zero fields.
const (
	// DefaultNamespace is the Admin UI's own default namespace.
	DefaultNamespace = "/admin"
	// DefaultUsername is the username when none is set.
	DefaultUsername = "admin"
	// DefaultStatsInterval is how often server_stats goes out, as in
	// socket.io's admin server.
	DefaultStatsInterval = 2 * time.Second
	// DefaultSessionTTL is how long a login's session id lets the UI
	// reconnect without the password (socket.io's RedisStore keeps them a
	// day too).
	DefaultSessionTTL = 24 * time.Hour
	// DefaultMaxFailures is how many failed logins one IP address may make
	// within FailureWindow before its logins are refused unchecked.
	DefaultMaxFailures = 5
	// DefaultFailureWindow is the window MaxFailures counts in.
	DefaultFailureWindow = time.Minute
	// DefaultLoginRate bounds the password checks (bcrypt, deliberately
	// slow) of all addresses together, a second.
	DefaultLoginRate = 5.0
	// DefaultLoginBurst is how many password checks may run at once above
	// LoginRate.
	DefaultLoginBurst = 10
	// DefaultMaxTracked bounds the session ids kept and the addresses whose
	// failures are counted.
	DefaultMaxTracked = 10000
)

// Config configures the Admin UI server side. PasswordHash is required;
// every other zero field takes the default named.
type Config struct {
	// Namespace is where the Admin UI connects (its "namespace" advanced
	// option). It must not be one the application serves. Zero means
	// DefaultNamespace ("/admin").
	Namespace string
	// Username is the login's username. Zero means DefaultUsername
	// ("admin").
	Username string
	// PasswordHash is the bcrypt hash ($2a$, $2b$ or $2y$) of the login's
	// password; a plain password is refused. The UI sends the password
	// itself in its CONNECT, so serve it over TLS.
	PasswordHash string
	// ReadOnly advertises no actions (join, leave, disconnect, emit) and
	// ignores them: the UI only watches.
	ReadOnly bool
	// ServerID names this server in the UI's Servers view. Zero means the
	// host name.
	ServerID string
	// StatsInterval is how often server_stats goes out. Zero means
	// DefaultStatsInterval (2s).
	StatsInterval time.Duration
	// SessionTTL is how long a session id from a login stays valid. Zero
	// means DefaultSessionTTL (24h).
	SessionTTL time.Duration
	// MaxFailures and FailureWindow: an IP address that failed MaxFailures
	// logins within FailureWindow is refused ("too many failed logins")
	// until the window ends. Zero means DefaultMaxFailures (5) and
	// DefaultFailureWindow (1m).
	MaxFailures   int
	FailureWindow time.Duration
	// LoginRate and LoginBurst bound the password checks of all addresses
	// together (a token bucket); past it a login is refused as too many.
	// Zero means DefaultLoginRate (5/s) and DefaultLoginBurst (10).
	LoginRate  float64
	LoginBurst int
	// MaxTracked bounds the session ids kept and the addresses whose
	// failures are counted. Zero means DefaultMaxTracked (10000).
	MaxTracked int
	// SocketData is what the UI shows as a socket's data (socket.data in
	// socket.io), such as the user it belongs to; it must encode as a JSON
	// object ({} is shown otherwise). socketio calls it while the socket's
	// namespace is locked (see socketio.Observer): it may only read the
	// socket. Nil shows {} for every socket.
	SocketData func(s *socketio.Socket) any
	// RedactQuery names handshake query parameters whose values the UI is
	// not shown (a token in the URL, say). The Authorization, Cookie and
	// Proxy-Authorization headers are always hidden.
	RedactQuery []string
	// Logger receives logins refused and actions taken. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("admin: invalid config")

// FieldError is a problem with one field of a Config: Field names it,
// Err says what is wrong. It wraps ErrConfig and Err.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return ErrConfig.Error() + ": " + e.Field + ": " + e.Err.Error() }

// Unwrap returns ErrConfig and the reason.
func (e *FieldError) Unwrap() []error { return []error{ErrConfig, e.Err} }

// ConfigField returns the field and the reason, for a layer above that
// names the field by its own path.
func (e *FieldError) ConfigField() (field string, reason error) { return e.Field, e.Err }

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if c.Namespace != "" && (!strings.HasPrefix(c.Namespace, "/") || strings.ContainsAny(c.Namespace, "?,")) {
		bad("Namespace", "want a namespace such as /admin (a leading '/', no '?' or ',')")
	}
	if err := CheckHash(c.PasswordHash); err != nil {
		bad("PasswordHash", "%w", err)
	}
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"StatsInterval", c.StatsInterval < 0},
		{"SessionTTL", c.SessionTTL < 0},
		{"MaxFailures", c.MaxFailures < 0},
		{"FailureWindow", c.FailureWindow < 0},
		{"LoginBurst", c.LoginBurst < 0},
		{"MaxTracked", c.MaxTracked < 0},
	} {
		if f.negative {
			bad(f.name, "must not be negative")
		}
	}
	if math.IsNaN(c.LoginRate) || math.IsInf(c.LoginRate, 0) || c.LoginRate < 0 {
		bad("LoginRate", "want password checks a second (0: the default)")
	}
	return errors.Join(errs...)
}

// ErrNotHash says a password was given where its bcrypt hash belongs.
var ErrNotHash = errors.New("is not a bcrypt hash: give the hash of the password ($2a$, $2b$ or $2y$, 60 characters), never the password itself")

// CheckHash reports whether hash is a usable bcrypt hash.
func CheckHash(hash string) error {
	if hash == "" {
		return errors.New("is required: the bcrypt hash of the Admin UI's password")
	}
	if _, err := bcrypt.Cost([]byte(hash)); err != nil || len(hash) != 60 {
		return ErrNotHash
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.ServerID == "" {
		c.ServerID, _ = os.Hostname()
		if c.ServerID == "" {
			c.ServerID = "natsock"
		}
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = DefaultStatsInterval
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.FailureWindow == 0 {
		c.FailureWindow = DefaultFailureWindow
	}
	if c.LoginRate == 0 {
		c.LoginRate = DefaultLoginRate
	}
	if c.LoginBurst == 0 {
		c.LoginBurst = DefaultLoginBurst
	}
	if c.MaxTracked == 0 {
		c.MaxTracked = DefaultMaxTracked
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
