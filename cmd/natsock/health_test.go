package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthURL(t *testing.T) {
	for _, tc := range []struct{ listen, want string }{
		{":3000", "http://127.0.0.1:3000/readyz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/readyz"},
		{"[::]:3000", "http://127.0.0.1:3000/readyz"},
		{"127.0.0.2:3000", "http://127.0.0.2:3000/readyz"},
		{"[::1]:3000", "http://[::1]:3000/readyz"},
		{"localhost:3000", "http://localhost:3000/readyz"},
	} {
		if got := healthURL(tc.listen); got != tc.want {
			t.Errorf("healthURL(%q) = %q, want %q", tc.listen, got, tc.want)
		}
	}
}

func TestHealth(t *testing.T) {
	var ready bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: NATS not connected or subscriptions not registered\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}))
	defer srv.Close()

	t.Run("a 2xx answer exits 0 and prints the status", func(t *testing.T) {
		ready = true
		code, out := runApp(t, "health", "--url", srv.URL+"/readyz")
		if code != 0 || !strings.Contains(out, "200 OK: ready") {
			t.Errorf("exited %d:\n%s", code, out)
		}
	})
	t.Run("a 503 exits 1 with the status and the body's first line", func(t *testing.T) {
		ready = false
		code, out := runApp(t, "health", "--url", srv.URL+"/readyz")
		if code != 1 || !strings.Contains(out, "503 Service Unavailable: not ready: NATS not connected") {
			t.Errorf("exited %d:\n%s", code, out)
		}
	})
	t.Run("without --url it probes /readyz on NATSOCK_LISTEN's address", func(t *testing.T) {
		ready = true
		t.Setenv("NATSOCK_HEALTH_URL", "")
		t.Setenv("NATSOCK_LISTEN", srv.Listener.Addr().String())
		code, out := runApp(t, "health")
		if code != 0 || !strings.Contains(out, "http://"+srv.Listener.Addr().String()+"/readyz: 200 OK") {
			t.Errorf("exited %d:\n%s", code, out)
		}
	})
	t.Run("nothing listening exits 1, saying there was no answer", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		code, out := runApp(t, "health", "--url", "http://"+addr+"/readyz")
		if code != 1 || !strings.Contains(out, "no answer") {
			t.Errorf("exited %d:\n%s", code, out)
		}
	})
	for _, tc := range []struct{ name, want string }{
		{"--url=ftp://127.0.0.1/readyz", "want an http:// or https:// URL"},
		{"--timeout=0s", "--timeout must be positive"},
		{"extra", "takes no arguments"},
	} {
		t.Run("a bad "+tc.name+" exits 2 naming it", func(t *testing.T) {
			code, out := runApp(t, "health", tc.name)
			if code != 2 || !strings.Contains(out, tc.want) {
				t.Errorf("exited %d, want 2 and %q:\n%s", code, tc.want, out)
			}
		})
	}
}

// TestHealthAgainstServe probes a real natsock serve: ready with its
// embedded NATS, not ready while its NATS is unreachable.
func TestHealthAgainstServe(t *testing.T) {
	bin := buildNatsock(t)
	t.Run("ready once NATS is connected", func(t *testing.T) {
		t.Parallel()
		serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned")
		_, httpURL := serve.ready()
		if code, out := run(t, bin, "", "health", "--url", httpURL+"/readyz"); code != 0 {
			t.Errorf("natsock health against a ready serve exited %d:\n%s", code, out)
		}
		if code, out := runEnv(t, bin, []string{"NATSOCK_LISTEN=" + strings.TrimPrefix(httpURL, "http://")}, "", "health"); code != 0 {
			t.Errorf("natsock health with NATSOCK_LISTEN exited %d:\n%s", code, out)
		}
	})
	t.Run("not ready while NATS is unreachable", func(t *testing.T) {
		t.Parallel()
		// Port 1 on loopback: nothing listens, every connect is refused.
		serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned", "--nats-url", "nats://127.0.0.1:1")
		httpURL := "http://" + serve.waitLog(addrLog)[1]
		code, out := run(t, bin, "", "health", "--url", httpURL+"/readyz")
		if code != 1 || !strings.Contains(out, "503") {
			t.Errorf("natsock health against a serve without NATS exited %d, want 1 and a 503:\n%s", code, out)
		}
	})
}
