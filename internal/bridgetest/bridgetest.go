// Package bridgetest runs the real clients kept in the module's testdata
// directory for natsock's tests: socket.io-client from npm driven by
// testdata/interop.js, and the guide's page in headless Chromium driven by
// testdata/browser.js. Both print JSON lines on standard output: a
// {"ready":true,...} line once connected, then one final {"ok":...} line.
//
// Every wait is bounded, and each client process is stopped (with the
// processes it started, such as Chromium) when its test ends.
//
// [StartCluster] starts a NATS cluster in-process (routes and clustered
// JetStream on loopback) for the tests of several natsock nodes.
package bridgetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InstallHint is how to install what the real-client tests need.
const InstallHint = "run the README's test command from the repository root, which installs them first: " +
	"`npm ci --prefix testdata --no-audit --no-fund && go test -race -count=1 ./...`"

// Testdata returns the module's testdata directory, found by walking up
// from the working directory to go.mod.
func Testdata(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("bridgetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// RequireNode fails the test (it never skips) unless node is installed and
// testdata/node_modules holds the packages the client scripts load.
func RequireNode(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed (%v): install Node.js, then %s", err, InstallHint)
	}
	modules := filepath.Join(Testdata(t), "node_modules")
	for _, pkg := range []string{"sio-client-4.3.1", "sio-client-4.8.4", "playwright-core"} {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed in %s: %s", pkg, modules, InstallHint)
		}
	}
}

// Client is one running node script.
type Client struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd

	ready  chan string   // the first {"ready":true} line
	exited chan struct{} // closed once the process has exited
	read   chan struct{} // closed once standard output is read

	mu      sync.Mutex
	stdout  []string
	final   string
	stderr  bytes.Buffer
	waitErr error
}

// Interop starts testdata/interop.js with args (see its header comment).
func Interop(t testing.TB, args ...string) *Client {
	t.Helper()
	return Start(t, "interop.js", args...)
}

// Start runs `node testdata/<script> args...`. The process, and its own
// children, are killed when the test ends if it is still running.
func Start(t testing.TB, script string, args ...string) *Client {
	t.Helper()
	RequireNode(t)
	c := &Client{
		t:      t,
		name:   script + " " + strings.Join(args, " "),
		ready:  make(chan string, 1),
		exited: make(chan struct{}),
		read:   make(chan struct{}),
	}
	c.cmd = exec.Command("node", append([]string{filepath.Join(Testdata(t), script)}, args...)...)
	c.cmd.Dir = Testdata(t)
	// Its own process group, so that a kill reaches Chromium too.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild holding the output pipes open must not hold Wait.
	c.cmd.WaitDelay = 2 * time.Second
	pr, pw := io.Pipe()
	c.cmd.Stdout = pw
	c.cmd.Stderr = lockedWriter{&c.mu, &c.stderr}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", c.name, err)
	}
	go c.readLines(pr)
	go func() {
		err := c.cmd.Wait()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		_ = pw.Close()
		close(c.exited)
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *Client) readLines(r io.Reader) {
	defer close(c.read)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		var fields map[string]json.RawMessage
		isJSON := json.Unmarshal([]byte(line), &fields) == nil
		c.mu.Lock()
		c.stdout = append(c.stdout, line)
		if _, ok := fields["ok"]; isJSON && ok && c.final == "" {
			c.final = line
		}
		c.mu.Unlock()
		if _, ok := fields["ready"]; isJSON && ok {
			select {
			case c.ready <- line:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// stop kills the process group if it still runs and waits for it.
func (c *Client) stop() {
	select {
	case <-c.exited:
	default:
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.t.Errorf("%s did not exit after SIGKILL", c.name)
	}
	<-c.read
}

// Running reports whether the process has not exited yet.
func (c *Client) Running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Output returns what the process printed so far, to explain a failure.
func (c *Client) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "node " + c.name + "\nstdout:\n  " + strings.Join(c.stdout, "\n  ") + "\nstderr:\n  " +
		strings.ReplaceAll(strings.TrimSpace(c.stderr.String()), "\n", "\n  ")
}

// WaitReady waits for the {"ready":true,...} line and returns it.
func (c *Client) WaitReady(timeout time.Duration) string {
	c.t.Helper()
	select {
	case line := <-c.ready:
		return line
	case <-c.exited:
		<-c.read
		select {
		case line := <-c.ready:
			return line
		default:
		}
		c.t.Fatalf("exited before its ready line: %s", c.Output())
	case <-time.After(timeout):
		c.t.Fatalf("no ready line within %v: %s", timeout, c.Output())
	}
	return ""
}

// Result waits for the process to exit and returns its final line, decoded.
// A run without a final line fails the test; a final line with ok false is
// returned for the caller to judge.
func (c *Client) Result(timeout time.Duration) Result {
	c.t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		c.t.Fatalf("still running after %v: %s", timeout, c.Output())
	}
	<-c.read
	c.mu.Lock()
	final := c.final
	c.mu.Unlock()
	if final == "" {
		c.t.Fatalf("exited (%v) without a final line: %s", c.waitErr, c.Output())
	}
	var r Result
	if err := json.Unmarshal([]byte(final), &r); err != nil {
		c.t.Fatalf("final line %q: %v", final, err)
	}
	r.Raw = final
	return r
}

// MustOK is Result, failing the test unless the run reported ok.
func (c *Client) MustOK(timeout time.Duration) Result {
	c.t.Helper()
	r := c.Result(timeout)
	if !r.OK {
		c.t.Fatalf("run failed: %s\n%s", r.Error, c.Output())
	}
	return r
}

// ExitCode is the process's exit code once it has exited, or -1.
func (c *Client) ExitCode() int {
	select {
	case <-c.exited:
		return c.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Result is a client script's final line. Fields a scenario does not
// report stay zero.
type Result struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	Transport        string `json:"transport"`
	InitialTransport string `json:"initialTransport"`
	Upgraded         bool   `json:"upgraded"`
	ID               string `json:"id"`

	// receive
	Events []Event `json:"events"`
	// emit
	Ack           []json.RawMessage `json:"ack"`
	AckTypes      []string          `json:"ackTypes"`
	AckError      string            `json:"ackError"`
	Received      []json.RawMessage `json:"received"`
	ReceivedTypes []string          `json:"receivedTypes"`
	// browser.js
	Notifications []string `json:"notifications"`

	Raw string `json:"-"` // the line as printed
}

// Event is one event a receive client got. Binary arguments read
// {"$binary":"<base64>"}; Types names each argument's JavaScript type, with
// "binary", "array" and "null" told apart.
type Event struct {
	Event        string            `json:"event"`
	Args         []json.RawMessage `json:"args"`
	Types        []string          `json:"types"`
	AckRequested bool              `json:"ackRequested"`
}

// JSONEqual reports whether a and b are the same JSON value, spacing and
// key order aside.
func JSONEqual(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// Eventually polls cond every 10ms until it holds, failing the test with
// what after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ErrTimeout is what Poll returns when its condition never held.
var ErrTimeout = errors.New("bridgetest: condition not met in time")

// Poll polls cond every 10ms until it holds or timeout passes.
func Poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		<-tick.C
	}
	return nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
