package main

import (
	"bytes"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/internal/bridgetest"
)

// updateScreenshot makes the demo test write the README's screenshot,
// docs/demo.png, instead of a temporary file.
var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/demo.png from the demo page in Chromium")

var metricsLog = regexp.MustCompile(`msg="serving metrics" addr=(127\.0\.0\.1:\d+)`)

// get fetches url with accept as its Accept header and returns the
// status, the Content-Type and the body.
func get(t *testing.T, url, accept string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	client.CloseIdleConnections()
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// TestPagesAndMetrics runs natsock serve and looks at what it serves
// beside socket.io: the page at /, /metrics, and the demo in Chromium.
func TestPagesAndMetrics(t *testing.T) {
	bin := buildNatsock(t)
	t.Run("without --demo, / tells curl and a browser what natsock is and where to look", func(t *testing.T) {
		t.Parallel()
		testLandingPage(t, bin)
	})
	t.Run("--metrics-listen serves /metrics on its own port and not on --listen", func(t *testing.T) {
		t.Parallel()
		testMetricsListen(t, bin)
	})
	t.Run("a bad --metrics-listen stops serve with an error naming the flag and why", func(t *testing.T) {
		t.Parallel()
		testBadMetricsListen(t, bin)
	})
	t.Run("the demo page in Chromium connects, toasts a published message, emits to NATS and charts", func(t *testing.T) {
		t.Parallel()
		testDemoPage(t, bin)
	})
}

func testLandingPage(t *testing.T, bin string) {
	serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned", "--inbound", "taskAssigned=tasks.assigned")
	_, url := serve.ready()
	code, ct, body := get(t, url+"/", "")
	if code != http.StatusOK || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET / for curl: %d %s", code, ct)
	}
	// The served binary's version, as it reports it (a binary built in a git
	// work tree has a pseudo-version; this test binary has none).
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	binVersion := strings.TrimPrefix(strings.TrimSpace(string(out)), "natsock version ")
	for _, want := range []string{"natsock " + binVersion, "/socket.io/", "/healthz", "/readyz", "/metrics",
		"1 --map, 1 --inbound", "natsock serve --demo", "https://github.com/natsock/natsock#readme"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / for curl does not say %q:\n%s", want, body)
		}
	}
	code, ct, body = get(t, url+"/", "text/html,application/xhtml+xml")
	if code != http.StatusOK || !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, "<h1>natsock</h1>") ||
		!strings.Contains(body, `href="/metrics"`) {
		t.Errorf("GET / for a browser: %d %s:\n%s", code, ct, body)
	}
	if code, _, _ := get(t, url+"/nothing-here", ""); code != http.StatusNotFound {
		t.Errorf("GET /nothing-here: %d, want 404", code)
	}
	if code, _, _ := get(t, url+"/demo/config.json", ""); code != http.StatusNotFound {
		t.Errorf("GET /demo/config.json without --demo: %d, want 404", code)
	}
	code, _, body = get(t, url+"/metrics", "")
	if code != http.StatusOK || !strings.Contains(body, `natsock_map_messages_total{map="tasks.assigned=newTaskAssigned"} 0`) ||
		!strings.Contains(body, "natsock_nats_connected 1") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics: %d:\n%s", code, body)
	}
}

func testMetricsListen(t *testing.T, bin string) {
	serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned", "--metrics-listen", "127.0.0.1:0")
	natsURL, url := serve.ready()
	metricsURL := "http://" + serve.waitLog(metricsLog)[1] + "/metrics"
	if code, _, _ := get(t, url+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("GET /metrics on --listen with --metrics-listen: %d, want 404", code)
	}
	if _, _, body := get(t, url+"/", ""); !strings.Contains(body, metricsURL) {
		t.Errorf("GET / does not name the metrics' place %s:\n%s", metricsURL, body)
	}
	// A message from natsock publish, stamped by it, is counted and timed
	// from its publisher.
	if code, out := run(t, bin, "", "publish", "--nats-url", natsURL, "tasks.assigned", `{"taskName":"counted"}`); code != 0 {
		t.Fatalf("natsock publish exited %d:\n%s", code, out)
	}
	bridgetest.Eventually(t, 10*time.Second, "the published message in /metrics", func() bool {
		code, _, body := get(t, metricsURL, "")
		return code == http.StatusOK &&
			strings.Contains(body, `natsock_map_messages_total{map="tasks.assigned=newTaskAssigned"} 1`) &&
			strings.Contains(body, `natsock_emit_latency_seconds_count{from="publisher"} 1`)
	})
	if code, _, _ := get(t, strings.TrimSuffix(metricsURL, "/metrics")+"/", ""); code != http.StatusNotFound {
		t.Errorf("the metrics listener serves / too (%d); it serves only /metrics", code)
	}
}

func testBadMetricsListen(t *testing.T, bin string) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	for _, tc := range []struct {
		name  string
		value string
		code  int
		want  []string
	}{
		{"an address without a port", "localhost", 2, []string{`--metrics-listen "localhost": want host:port`}},
		{"a port out of range", "127.0.0.1:99999", 2, []string{`--metrics-listen "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`}},
		{"a port in use", taken.Addr().String(), 1, []string{`--metrics-listen "` + taken.Addr().String() + `": metrics: cannot listen`, "address already in use"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := run(t, bin, "", "serve", "--listen", "127.0.0.1:0", "--embedded-nats-listen", "127.0.0.1:0",
				"--map", "tasks.assigned=newTaskAssigned", "--metrics-listen", tc.value)
			if code != tc.code {
				t.Errorf("exit code %d, want %d:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("serve said %q; want it to say %q", out, w)
				}
			}
			if strings.Contains(out, "natsock serving") {
				t.Errorf("serve started serving with a bad --metrics-listen:\n%s", out)
			}
		})
	}
}

// testDemoPage is the demo as a person uses it, with the guide's rules:
// the page connects, `natsock publish` makes a toast, the form's
// taskAssigned reaches NATS (and comes back), the chart fills. It saves a
// screenshot: docs/demo.png with -update-screenshot.
func testDemoPage(t *testing.T, bin string) {
	if _, err := os.Stat(chromium()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is missing at %s (%v); CI must have it: apt-get install chromium", chromium(), err)
		}
		t.Skipf("Chromium is missing at %s (%v): install Debian's chromium (or set CHROMIUM)", chromium(), err)
	}
	bridgetest.RequireNode(t)
	serve := startServe(t, bin, "--demo", "--map", "tasks.assigned=newTaskAssigned",
		"--inbound", "taskAssigned=tasks.assigned")
	natsURL, url := serve.ready()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync("tasks.assigned")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	shot := filepath.Join(t.TempDir(), "demo.png")
	if *updateScreenshot {
		shot, err = filepath.Abs(filepath.Join("..", "..", "docs", "demo.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const fromNATS, fromForm = "Write the quarterly report", "Review pull request 42"
	browser := bridgetest.Start(t, "demo.js", "--page", url+"/", "--expect-toast", fromNATS, "--emit", fromForm,
		"--screenshot", shot, "--timeout", browserTimeout)
	browser.WaitReady(browserBound)
	for _, task := range []string{"Deploy natsock to staging", fromNATS} {
		if code, out := run(t, bin, "", "publish", "--nats-url", natsURL, "tasks.assigned",
			`{"taskName":"`+task+`","assignee":"ana"}`); code != 0 {
			t.Fatalf("natsock publish exited %d:\n%s", code, out)
		}
	}
	browser.MustOK(browserBound)
	// On NATS: the two publishes, then the form's emit.
	var got []string
	for range 3 {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(m.Data))
	}
	if !strings.Contains(got[2], `"taskName":"`+fromForm+`"`) || !strings.Contains(got[2], `"assignee":"alice"`) {
		t.Errorf("the form's emit reached NATS as %q, want taskName %q and assignee alice", got[2], fromForm)
	}
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10_000 {
		t.Errorf("%s is not a screenshot (%d bytes)", shot, len(png))
	}
}
