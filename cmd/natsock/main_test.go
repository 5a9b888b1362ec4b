package main

// These tests run the natsock binary as a user does: `natsock serve` with
// its embedded NATS server, and `natsock publish` from another process.
// The binary is built once, with the race detector when the tests have it.

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/natsock/natsock/internal/bridgetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Bounds on the waits of these tests; none is a timing assertion.
const (
	startBound    = 15 * time.Second // a process getting ready
	nodeTimeout   = "20000"          // interop.js's own deadline, in ms
	nodeBound     = 25 * time.Second
	shutdownLimit = 5 * time.Second // --shutdown-timeout given to serve
)

// TestNatsock builds the binary once and runs every scenario on it.
func TestNatsock(t *testing.T) {
	bin := buildNatsock(t)
	t.Run("serve with its embedded NATS emits what publish sends from another process", func(t *testing.T) {
		t.Parallel()
		testServeAndPublish(t, bin)
	})
	t.Run("publish to an unreachable NATS exits non-zero and says so", func(t *testing.T) {
		t.Parallel()
		testPublishUnreachable(t, bin)
	})
	t.Run("serve with --admin-ui admits the Admin UI's login and refuses a wrong password", func(t *testing.T) {
		t.Parallel()
		testServeAdminUI(t, bin)
	})
	t.Run("serve with a bad --map exits non-zero naming the flag value, the part and the reason", func(t *testing.T) {
		t.Parallel()
		testServeBadMap(t, bin)
	})
	t.Run("SIGTERM makes serve exit 0 in time, and its clients see a disconnect", func(t *testing.T) {
		t.Parallel()
		testServeSIGTERM(t, bin)
	})
	t.Run("SIGTERM while publishing: every client gets a close reason and serve exits 0 in time", func(t *testing.T) {
		t.Parallel()
		testServeSIGTERMUnderLoad(t, bin)
	})
	t.Run("serve with a bad flag value exits non-zero naming the flag and why", func(t *testing.T) {
		t.Parallel()
		testServeBadFlags(t, bin)
	})
	t.Run("serve --help shows every limit with its default and its environment variable", func(t *testing.T) {
		t.Parallel()
		testServeHelp(t, bin)
	})
	t.Run("check says ok for the example config file, named by --config or NATSOCK_CONFIG", func(t *testing.T) {
		t.Parallel()
		testCheckExample(t, bin)
	})
	t.Run("check exits 2 printing every problem, each naming its flag, variable or file line", func(t *testing.T) {
		t.Parallel()
		testCheckProblems(t, bin)
	})
	t.Run("serve takes its rules from a config file and a client gets what NATS publishes", func(t *testing.T) {
		t.Parallel()
		testServeConfigFile(t, bin)
	})
	t.Run("version and --version name the module version, the commit and Go's version", func(t *testing.T) {
		t.Parallel()
		testVersion(t, bin)
	})
	t.Run("the guide's page in Chromium shows a published notification and its button's emit", func(t *testing.T) {
		t.Parallel()
		testGuidePage(t, bin)
	})
}

// buildNatsock builds this package's binary into a temporary directory.
func buildNatsock(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "natsock")
	// -buildvcs=auto stamps the commit when building in a git work tree,
	// whatever GOFLAGS says, so that natsock version has one to show.
	args := []string{"build", "-buildvcs=auto", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is a running `natsock serve`, its log lines collected.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	exited chan struct{}
	read   chan struct{}

	mu    sync.Mutex
	lines []string
	grew  chan struct{} // closed and replaced whenever a line arrives
}

// startServe runs `natsock serve args...` with its embedded NATS server
// and socket.io on free loopback ports. It is killed at the test's end if
// it still runs.
func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--embedded-nats-listen", "127.0.0.1:0",
		"--shutdown-timeout", shutdownLimit.String()}, args...)
	p := &serveProc{t: t, exited: make(chan struct{}), read: make(chan struct{}), grew: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = cleanEnv()
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr // nothing is expected on stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting natsock serve: %v", err)
	}
	go func() {
		defer close(p.read)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.grew)
			p.grew = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	go func() {
		<-p.read
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("natsock %s\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

// cleanEnv is the test's environment without NATSOCK_ and NATS_ variables,
// so that a developer's settings do not change what the tests run.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NATSOCK_") && !strings.HasPrefix(kv, "NATS_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *serveProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLog waits for a log line matching re and returns its submatches.
func (p *serveProc) waitLog(re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.After(startBound)
	for i := 0; ; {
		p.mu.Lock()
		for ; i < len(p.lines); i++ {
			if m := re.FindStringSubmatch(p.lines[i]); m != nil {
				p.mu.Unlock()
				return m
			}
		}
		grew := p.grew
		p.mu.Unlock()
		select {
		case <-grew:
		case <-p.exited:
			if p.hasLine(re) {
				continue
			}
			p.t.Fatalf("natsock serve exited (%v) before logging %s:\n%s", p.cmd.ProcessState, re, p.output())
		case <-deadline:
			p.t.Fatalf("natsock serve did not log %s within %v:\n%s", re, startBound, p.output())
		}
	}
}

func (p *serveProc) hasLine(re *regexp.Regexp) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

var (
	natsURLLog = regexp.MustCompile(`msg="embedded NATS server started" url=(nats://127\.0\.0\.1:\d+)`)
	addrLog    = regexp.MustCompile(`msg="natsock serving socket.io" addr=(127\.0\.0\.1:\d+)`)
)

// ready waits until serve is ready and returns its NATS URL and its
// socket.io base URL.
func (p *serveProc) ready() (natsURL, httpURL string) {
	p.t.Helper()
	natsURL = p.waitLog(natsURLLog)[1]
	httpURL = "http://" + p.waitLog(addrLog)[1]
	client := &http.Client{Timeout: 2 * time.Second}
	bridgetest.Eventually(p.t, startBound, "natsock serve's /readyz answering 200", func() bool {
		resp, err := client.Get(httpURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return natsURL, httpURL
}

// waitExit waits for serve to exit within bound and returns its exit code.
func (p *serveProc) waitExit(bound time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(bound):
		p.t.Fatalf("natsock serve still running after %v:\n%s", bound, p.output())
		return -1
	}
}

// run runs the binary to completion (bounded) and returns its exit code
// and combined output.
func run(t *testing.T, bin string, stdin string, args ...string) (int, string) {
	t.Helper()
	return runEnv(t, bin, nil, stdin, args...)
}

// runEnv is run with env added to the cleaned environment.
func runEnv(t *testing.T, bin string, env []string, stdin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("natsock %s did not finish within %v:\n%s", strings.Join(args, " "), startBound, out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("natsock %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// interop starts a node socket.io client against serve.
func interop(t *testing.T, url, transports string, args ...string) *bridgetest.Client {
	t.Helper()
	return bridgetest.Interop(t, append([]string{"--url", url, "--client", "4.8.4", "--transports", transports,
		"--timeout", nodeTimeout}, args...)...)
}

func testServeAndPublish(t *testing.T, bin string) {
	bridgetest.RequireNode(t)
	serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned", "--inbound", "taskAssigned=tasks.assigned")
	natsURL, url := serve.ready()
	recv := interop(t, url, "polling,websocket", "--scenario", "receive", "--event", "newTaskAssigned", "--count", "2")
	recv.WaitReady(startBound)

	if code, out := run(t, bin, "", "publish", "--nats-url", natsURL, "tasks.assigned", `{"taskName":"x"}`); code != 0 {
		t.Fatalf("natsock publish exited %d:\n%s", code, out)
	}
	// DATA may also come on standard input.
	if code, out := run(t, bin, `{"taskName":"from stdin"}`, "publish", "--nats-url", natsURL,
		"--header", "Trace-Id: 42", "tasks.assigned"); code != 0 {
		t.Fatalf("natsock publish from standard input exited %d:\n%s", code, out)
	}
	r := recv.MustOK(nodeBound)
	want := []string{`{"taskName":"x"}`, `{"taskName":"from stdin"}`}
	if len(r.Events) != len(want) {
		t.Fatalf("the client got %s, want %d newTaskAssigned events", r.Raw, len(want))
	}
	for i, w := range want {
		if !bridgetest.JSONEqual(r.Events[i].Args[0], []byte(w)) {
			t.Errorf("event %d carried %s, want %s", i, r.Events[i].Args[0], w)
		}
	}
}

func testPublishUnreachable(t *testing.T, bin string) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + ln.Addr().String()
	ln.Close()
	code, out := run(t, bin, "", "publish", "--nats-url", url, "--timeout", "2s", "tasks.assigned", `{"taskName":"x"}`)
	if code == 0 {
		t.Fatalf("natsock publish to %s exited 0:\n%s", url, out)
	}
	if want := "natsock publish: cannot connect to NATS at " + url; !strings.Contains(out, want) {
		t.Errorf("natsock publish said %q; want it to say %q", out, want)
	}
}

func testServeBadMap(t *testing.T, bin string) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"a map with no '='", "bad", []string{`--map "bad"`, "SUBJECT=EVENT", "no '='"}},
		{"a map with an empty subject", "=newTaskAssigned", []string{`--map "=newTaskAssigned"`, "subject (left of '=')", "empty"}},
		{"a map with an invalid subject", "tasks..assigned=e", []string{`--map "tasks..assigned=e"`, `subject "tasks..assigned"`, "token 2 is empty"}},
		// The README quotes this one.
		{"a map with an unknown placeholder", "tasks.*=task:{3}", []string{
			`natsock: --map "tasks.*=task:{3}": `, `event "task:{3}": {3} names token 3, but the subject has 2`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out := run(t, bin, "", "serve", "--listen", "127.0.0.1:0", "--embedded-nats-listen", "127.0.0.1:0",
				"--map", "tasks.assigned=newTaskAssigned", "--map", tc.value)
			if code == 0 {
				t.Fatalf("natsock serve --map %q exited 0:\n%s", tc.value, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("natsock serve --map %q said %q; want it to say %q", tc.value, out, w)
				}
			}
			if strings.Contains(out, "natsock serving") {
				t.Errorf("natsock serve started serving with a bad map:\n%s", out)
			}
		})
	}
}

func testServeSIGTERM(t *testing.T, bin string) {
	bridgetest.RequireNode(t)
	serve := startServe(t, bin, "--map", "tasks.assigned=newTaskAssigned")
	_, url := serve.ready()
	var clients []*bridgetest.Client
	for _, transports := range []string{"websocket", "polling"} {
		c := interop(t, url, transports, "--scenario", "receive", "--event", "newTaskAssigned")
		c.WaitReady(startBound)
		clients = append(clients, c)
	}
	if err := serve.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The bound: the shutdown timeout, plus a margin for the process to
	// exit (under the race detector on a small machine).
	if code := serve.waitExit(shutdownLimit + 5*time.Second); code != 0 {
		t.Errorf("natsock serve exited %d after SIGTERM, want 0:\n%s", code, serve.output())
	}
	if !serve.hasLine(regexp.MustCompile(`msg="shutting down"`)) {
		t.Errorf("natsock serve did not log its shutdown:\n%s", serve.output())
	}
	// A receive client ends with {"ok":false,"error":"disconnected (REASON)
	// ..."}. REASON is "transport close": the engine closes the transport
	// without a socket.io DISCONNECT, so the guide's client, which keeps
	// socket.io's default reconnection, comes back once natsock does.
	for i, c := range clients {
		r := c.Result(nodeBound)
		if r.OK || !strings.Contains(r.Error, "disconnected (") {
			t.Errorf("client %d: %s; want it to report a disconnect", i, r.Raw)
		}
	}
}
