package bridge_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/natsock/natsock/internal/bridgetest"
)

// chromiumPath is the browser the browser scripts drive: $CHROMIUM, as they
// read it, or Debian's /usr/bin/chromium.
func chromiumPath() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

// TestAuthTwoUsersInTwoBrowsers is the README's worked example: two
// headless Chromium pages, each in its own browser context, connect with
// tokens for two users (--room-from-claim 'user:{sub}'), and with --map
// 'notify.user.*=notification@user:{3}' each gets only its own user's
// notifications.
func TestAuthTwoUsersInTwoBrowsers(t *testing.T) {
	if _, err := os.Stat(chromiumPath()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is missing at %s (%v); CI must have it: apt-get install chromium", chromiumPath(), err)
		}
		t.Skipf("Chromium is missing at %s (%v): install Debian's chromium (or set CHROMIUM)", chromiumPath(), err)
	}
	bridgetest.RequireNode(t)
	testdata := bridgetest.Testdata(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>notifications</title><script src="/socket.io.js"></script>`))
	})
	mux.HandleFunc("GET /socket.io.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(testdata, "node_modules", "sio-client-4.8.4", "dist", "socket.io.js"))
	})
	page := httptest.NewServer(mux)
	t.Cleanup(page.Close)

	s := startNATS(t)
	cfg := userTokenConfig(s.ClientURL())
	cfg.Auth.Required = true
	cfg.SocketIO.Engine.AllowOrigins = []string{page.URL}
	tb := startBridge(t, cfg)
	nc := connect(t, s.ClientURL())

	token := func(sub string) string { return signHS(t, authSecret, jwt.MapClaims{"sub": sub}) }
	browser := bridgetest.Start(t, "auth-browser.js", "--page", page.URL+"/", "--server", tb.URL,
		"--user", "alice="+token("alice"), "--user", "bob="+token("bob"), "--timeout", "40000")
	browser.WaitReady(45 * time.Second)
	// One subscription carries them all, in order: a notification that went
	// to the wrong page would arrive there before that page's "last-".
	for _, m := range [][2]string{
		{"notify.user.bob", "task 1 for bob"}, {"notify.user.alice", "task 2 for alice"},
		{"notify.user.carol", "task 3 for carol"}, {"notify.user.bob", "task 4 for bob"},
		{"notify.user.alice", "last-alice"}, {"notify.user.bob", "last-bob"},
	} {
		publishString(t, nc, m[0], m[1])
	}
	raw := browser.MustOK(45 * time.Second).Raw
	var r struct {
		Pages map[string][]string `json:"pages"`
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("final line %q: %v", raw, err)
	}
	want := map[string][]string{
		"alice": {"task 2 for alice", "last-alice"},
		"bob":   {"task 1 for bob", "task 4 for bob", "last-bob"},
	}
	for name, w := range want {
		if got := r.Pages[name]; !slices.Equal(got, w) {
			t.Errorf("%s's page got %q, want %q", name, got, w)
		}
	}
}
