package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/natsock/natsock/internal/bridgetest"
)

// browserBound bounds browser.js: Chromium's start is the slow part.
const (
	browserTimeout = "40000" // browser.js's own deadline, in ms
	browserBound   = 45 * time.Second
)

// chromium is the browser browser.js drives: $CHROMIUM, as browser.js
// reads it, or Debian's /usr/bin/chromium.
func chromium() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

// testGuidePage is the guide's story in a real browser: its page, with only
// the script URL changed to a local copy of socket.io-client 4.3.1, talks
// to `natsock serve` (another origin, allowed by --cors-origin); `natsock
// publish` makes a notification appear, and the page's button emits
// taskAssigned, which comes back through NATS as a second notification.
func testGuidePage(t *testing.T, bin string) {
	if _, err := os.Stat(chromium()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is missing at %s (%v); CI must have it: apt-get install chromium", chromium(), err)
		}
		t.Skipf("Chromium is missing at %s (%v): install Debian's chromium (or set CHROMIUM) to run the guide's page", chromium(), err)
	}
	bridgetest.RequireNode(t)
	testdata := bridgetest.Testdata(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(testdata, "guide", "index.html"))
	})
	mux.HandleFunc("GET /socket.io.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(testdata, "node_modules", "sio-client-4.3.1", "dist", "socket.io.js"))
	})
	page := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(page.Close)

	serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned", "--inbound", "taskAssigned=tasks.assigned",
		"--cors-origin", page.URL)
	natsURL, server := serve.ready()

	browser := bridgetest.Start(t, "browser.js", "--page", page.URL+"/?server="+url.QueryEscape(server),
		"--timeout", browserTimeout)
	browser.WaitReady(browserBound)
	if code, out := run(t, bin, "", "publish", "--nats-url", natsURL, "tasks.assigned", `{"taskName":"From NATS"}`); code != 0 {
		t.Fatalf("natsock publish exited %d:\n%s", code, out)
	}
	r := browser.MustOK(browserBound)
	if want := []string{"From NATS", "New Task"}; !slices.Equal(r.Notifications, want) {
		t.Errorf("the page shows notifications %q, want %q", r.Notifications, want)
	}
}
