package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/natsock/natsock/protocol/engine"
)

// TestAdmitSharesTheConnectionBounds: a place taken beside the engine
// counts against the sessions' bounds, and theirs against it.
func TestAdmitSharesTheConnectionBounds(t *testing.T) {
	srv, _, url := startServer(t, engine.Config{MaxConnections: 3, MaxConnectionsPerIP: 2})
	release, err := srv.Admit("127.0.0.1:1000")
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	if code, _, _ := handshakeStatus(t, url); code != http.StatusOK {
		t.Fatalf("handshake with one place taken beside: %d", code)
	}
	if code, _, _ := handshakeStatus(t, url); code != http.StatusTooManyRequests {
		t.Fatalf("handshake past the per-address bound: %d, want 429", code)
	}
	if _, err := srv.Admit("127.0.0.1:1001"); !errors.Is(err, engine.ErrTooManyConnectionsForIP) {
		t.Fatalf("Admit past the per-address bound: %v", err)
	}
	third, err := srv.Admit("192.0.2.1:1")
	if err != nil {
		t.Fatalf("Admit of the third place: %v", err)
	}
	if _, err := srv.Admit("192.0.2.2:1"); !errors.Is(err, engine.ErrTooManyConnections) {
		t.Fatalf("Admit past the bound: %v", err)
	}
	release()
	release() // only the first call gives the place back
	other, err := srv.Admit("192.0.2.2:1")
	if err != nil {
		t.Fatalf("Admit after a release: %v", err)
	}
	if _, err := srv.Admit("192.0.2.3:1"); !errors.Is(err, engine.ErrTooManyConnections) {
		t.Fatalf("Admit past the bound after a double release: %v", err)
	}
	other()
	third()
	if st := srv.Stats(); st.RefusedMax != 2 || st.RefusedPerIP != 2 {
		t.Fatalf("refusals counted %d and %d per IP, want 2 and 2", st.RefusedMax, st.RefusedPerIP)
	}
}

func TestAllowOrigin(t *testing.T) {
	var refused []string
	srv, err := engine.NewServer(engine.Config{
		AllowOrigins:    []string{"https://app.example"},
		OnOriginRefused: func(origin string, r *http.Request) { refused = append(refused, origin) },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	for _, tc := range []struct {
		origin string
		ok     bool
		allow  string
	}{
		{"https://app.example", true, "https://app.example"},
		{"https://evil.example", false, ""},
		{"", true, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://natsock.example/events", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		w := httptest.NewRecorder()
		if ok := srv.AllowOrigin(w, r); ok != tc.ok || w.Header().Get("Access-Control-Allow-Origin") != tc.allow {
			t.Errorf("origin %q: allowed %v with header %q, want %v and %q", tc.origin, ok,
				w.Header().Get("Access-Control-Allow-Origin"), tc.ok, tc.allow)
		}
	}
	if len(refused) != 1 || refused[0] != "https://evil.example" {
		t.Fatalf("OnOriginRefused saw %q", refused)
	}
}
