package bridge_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
	"github.com/natsock/natsock/protocol/admin"
)

const (
	adminUser     = "ops"
	adminPassword = "natsock admin test password"
)

// adminHash is adminPassword's bcrypt hash, at bcrypt's least cost so that
// the logins are quick.
func adminHash(t *testing.T) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// TestAdminUIWatchesNatsock serves the Admin UI's own page (npm
// @socket.io/admin-ui's ui/dist) from a loopback file server and drives it
// in headless Chromium against natsock: a wrong password is refused, the
// right one shows two users' sockets (one on websocket, one on polling)
// with their transports, their rooms from claims and their users, and the UI's
// disconnect button disconnects a socket, which the UI then drops; a
// reload gets back in with the UI's session id.
func TestAdminUIWatchesNatsock(t *testing.T) {
	if _, err := os.Stat(chromiumPath()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is missing at %s (%v); CI must have it: apt-get install chromium", chromiumPath(), err)
		}
		t.Skipf("Chromium is missing at %s (%v): install Debian's chromium (or set CHROMIUM)", chromiumPath(), err)
	}
	bridgetest.RequireNode(t)
	dist := filepath.Join(bridgetest.Testdata(t), "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("the Admin UI's page is missing (%v): %s", err, bridgetest.InstallHint)
	}
	ui := httptest.NewServer(http.FileServer(http.Dir(dist)))
	t.Cleanup(ui.Close)

	s := startNATS(t)
	cfg := userTokenConfig(s.ClientURL())
	cfg.AdminUI = true
	cfg.Admin = admin.Config{Username: adminUser, PasswordHash: adminHash(t)}
	cfg.AdminUIOrigins = []string{ui.URL}
	tb := startBridge(t, cfg)

	token := func(sub string) string { return signHS(t, authSecret, jwt.MapClaims{"sub": sub}) }
	shot := filepath.Join(t.TempDir(), "admin-ui.png")
	browser := bridgetest.Start(t, "admin-ui.js", "--ui", ui.URL+"/", "--server", tb.URL,
		"--user", adminUser, "--password", adminPassword,
		"--client", "alice:websocket:"+token("alice"), "--client", "bob:polling:"+token("bob"),
		"--disconnect", "bob", "--screenshot", shot, "--timeout", "60000")
	raw := browser.MustOK(70 * time.Second).Raw
	var r struct {
		WrongPassword string `json:"wrongPassword"`
		Sockets       map[string]struct {
			ID        string `json:"id"`
			Transport string `json:"transport"`
		} `json:"sockets"`
		Rooms        map[string][]string          `json:"rooms"`
		Data         map[string]map[string]string `json:"data"`
		Disconnected map[string]string            `json:"disconnected"`
		StillThere   map[string]bool              `json:"stillThere"`
		ReloadAsked  bool                         `json:"reloadAsked"`
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("final line %q: %v", raw, err)
	}
	if r.WrongPassword != "Invalid credentials" {
		t.Errorf("the wrong password got %q on the page, want the UI's \"Invalid credentials\"", r.WrongPassword)
	}
	if got := r.Sockets["alice"].Transport; got != "websocket" {
		t.Errorf("alice's transport on the page: %q, want websocket", got)
	}
	if got := r.Sockets["bob"].Transport; got != "polling" {
		t.Errorf("bob's transport on the page: %q, want polling", got)
	}
	if got := r.Rooms["alice"]; !slices.Contains(got, "user:alice") || !slices.Contains(got, r.Sockets["alice"].ID) {
		t.Errorf("alice's rooms on the page: %q, want user:alice and her private room", got)
	}
	if got := r.Data["alice"]["user"]; got != "alice" {
		t.Errorf("alice's data on the page: %v, want her user", r.Data["alice"])
	}
	if got := r.Disconnected["bob"]; got != "io server disconnect" {
		t.Errorf("bob's socket saw %q after the UI's disconnect, want io server disconnect", got)
	}
	if !r.StillThere["alice"] {
		t.Error("alice was disconnected too, or dropped from the page")
	}
	if r.ReloadAsked {
		t.Error("after a reload the page asked for the password again; its session id should do")
	}
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Errorf("no screenshot of the page: %v", err)
	}
	logs := tb.logs.String()
	for _, want := range []string{"admin UI login refused: wrong username or password", "admin UI logged in",
		"admin UI: _disconnect", "admin UI connected with a session"} {
		if !strings.Contains(logs, want) {
			t.Errorf("natsock's logs do not say %q", want)
		}
	}
}

// TestAdminUIIsOffByDefault: without AdminUI, /admin is no namespace, so a
// login is refused as socket.io refuses any unknown namespace.
func TestAdminUIIsOffByDefault(t *testing.T) {
	s := startNATS(t)
	tb := startBridge(t, bridge.Config{NATSURL: s.ClientURL(), Maps: []string{"a.b=ev"}})
	res := bridgetest.Interop(t, "--url", tb.URL+"/admin", "--client", "4.8.4", "--transports", "websocket",
		"--scenario", "connect-error", "--auth", `{"username":"admin","password":"x"}`).MustOK(20 * time.Second)
	var r struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(res.Raw), &r); err != nil || r.Message != "Invalid namespace" {
		t.Errorf("a login to /admin with the Admin UI off: %s, want connect_error Invalid namespace", res.Raw)
	}
}

// TestAdminUIConfig: a plain password where its hash belongs, a --map rule
// on the admin namespace, "*" as the UI's origin, and Admin UI settings
// with the UI off are each refused, naming the field.
func TestAdminUIConfig(t *testing.T) {
	base := func() bridge.Config {
		return bridge.Config{Maps: []string{"a.b=ev"}, AdminUI: true, Admin: admin.Config{PasswordHash: adminHash(t)}}
	}
	for _, c := range []struct {
		name  string
		mod   func(*bridge.Config)
		field string
		is    error
	}{
		{"a plain password", func(c *bridge.Config) { c.Admin.PasswordHash = adminPassword }, "Admin.PasswordHash", admin.ErrNotHash},
		{"no password hash", func(c *bridge.Config) { c.Admin.PasswordHash = "" }, "Admin.PasswordHash", nil},
		{"a map rule serving /admin", func(c *bridge.Config) { c.Maps = []string{"a.b=ev@/admin"} }, "Admin.Namespace", nil},
		{"any origin for the UI", func(c *bridge.Config) { c.AdminUIOrigins = []string{"*"} }, "AdminUIOrigins[0]", nil},
		{"settings with the UI off", func(c *bridge.Config) { c.AdminUI = false }, "AdminUI", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base()
			c.mod(&cfg)
			err := cfg.Validate()
			var fe *bridge.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("Validate: %v, want a problem with %s", err, c.field)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("Validate: %v, want %v", err, c.is)
			}
		})
	}
	if err := base().Validate(); err != nil {
		t.Errorf("a good Admin UI config: %v", err)
	}
}
