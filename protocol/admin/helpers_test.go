package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/natsock/natsock/protocol/admin"
	"github.com/natsock/natsock/protocol/socketio"
)

// The test login. The hash has bcrypt's least cost, so that each login
// is quick; the cost is the hash's business, not the code's.
const (
	testUser     = "ops"
	testPassword = "correct horse battery staple"
)

var testHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// wait bounds every wait for a client's line.
const wait = 20 * time.Second

const readmeTestCommand = "npm ci --prefix testdata --no-audit --no-fund && go test -race -count=1 ./..."

// testdataDir is the module's testdata, from this package's directory.
var testdataDir = filepath.Join("..", "..", "testdata")

// logBuffer collects a server's logs for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testServer is a socket.io server with the Admin UI on it.
type testServer struct {
	srv   *socketio.Server
	admin *admin.Admin
	url   string
	logs  *logBuffer
}

// startServer serves socket.io with namespaces "/" and "/chat" and, unless
// cfg is nil, the Admin UI configured by cfg (its PasswordHash and Username
// filled with the test login when empty).
func startServer(t *testing.T, cfg *admin.Config) *testServer {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := socketio.NewServer(socketio.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv.Of("/chat")
	ts := &testServer{srv: srv, logs: logs}
	if cfg != nil {
		c := *cfg
		if c.PasswordHash == "" {
			c.PasswordHash = testHash
		}
		if c.Username == "" {
			c.Username = testUser
		}
		c.Logger = log
		if ts.admin, err = admin.New(srv, c); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv)
	ts.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		hs.Close()
		if ts.admin != nil {
			ts.admin.Close()
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs)
		}
	})
	return ts
}

// line is one line admin-client.js printed.
type line struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	ID        string            `json:"id"`
	Engine    string            `json:"engine"` // a connect's Engine.IO session id
	Transport string            `json:"transport"`
	Message   string            `json:"message"`
	Reason    string            `json:"reason"`
	Event     string            `json:"event"`
	Args      []json.RawMessage `json:"args"`
	Error     string            `json:"error"`
	raw       string
}

// clients is one run of testdata/admin-client.js: real socket.io-client
// 4.8.4 sockets the test opens, drives and watches by name.
type clients struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu    sync.Mutex
	lines []line
	next  map[string]int // per client: how far expect has read
	cond  chan struct{}  // closed and replaced on each new line
}

// startClients runs admin-client.js; it is stopped when the test ends.
func startClients(t *testing.T) *clients {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (%v): install Node.js, then run the README's test command from the repository root: %s", err, readmeTestCommand)
	}
	for _, pkg := range []string{"sio-client-4.8.4", "@socket.io/admin-ui"} {
		if _, err := os.Stat(filepath.Join(testdataDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed (%v): run the README's test command from the repository root: %s", pkg, err, readmeTestCommand)
		}
	}
	c := &clients{t: t, done: make(chan struct{}), next: make(map[string]int), cond: make(chan struct{})}
	c.cmd = exec.Command(node, "admin-client.js", "--timeout", "90000")
	c.cmd.Dir = testdataDir
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.cmd.Stderr = os.Stderr
	c.cmd.WaitDelay = 2 * time.Second
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		first := true
		for sc.Scan() {
			if first {
				first = false
				close(ready)
				continue
			}
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = line{Type: "error", Error: "not JSON: " + sc.Text()}
			}
			l.raw = sc.Text()
			c.mu.Lock()
			c.lines = append(c.lines, l)
			close(c.cond)
			c.cond = make(chan struct{})
			c.mu.Unlock()
		}
		if first {
			close(ready)
		}
		_ = c.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = c.stdin.Close() // the script exits when stdin closes
		select {
		case <-c.done:
		case <-time.After(wait):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
		if t.Failed() {
			t.Logf("client lines:\n%s", c.dump())
		}
	})
	select {
	case <-ready:
	case <-time.After(wait):
		t.Fatal("admin-client.js did not start")
	}
	return c
}

func (c *clients) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, l := range c.lines {
		b.WriteString(l.raw + "\n")
	}
	return b.String()
}

func (c *clients) send(cmd map[string]any) {
	c.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.stdin.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("writing to admin-client.js: %v", err)
	}
}

// connect opens client name on url (a namespace's URL) with auth.
func (c *clients) connect(name, url string, auth any, transports ...string) {
	c.t.Helper()
	cmd := map[string]any{"op": "connect", "name": name, "url": url, "auth": auth}
	if len(transports) > 0 {
		cmd["transports"] = transports
	}
	c.send(cmd)
}

func (c *clients) emit(name, event string, args ...any) {
	c.t.Helper()
	if args == nil {
		args = []any{}
	}
	c.send(map[string]any{"op": "emit", "name": name, "event": event, "args": args})
}

func (c *clients) close(name string) {
	c.t.Helper()
	c.send(map[string]any{"op": "close", "name": name})
}

// expect waits for client name's next line that match accepts, skipping
// the lines before it, and returns it.
func (c *clients) expect(name, what string, match func(line) bool) line {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		for i := c.next[name]; i < len(c.lines); i++ {
			l := c.lines[i]
			if l.Type == "error" && l.Name == "" {
				c.mu.Unlock()
				c.t.Fatalf("admin-client.js: %s", l.Error)
			}
			if l.Name == name && match(l) {
				c.next[name] = i + 1
				c.mu.Unlock()
				return l
			}
		}
		cond := c.cond
		c.mu.Unlock()
		select {
		case <-cond:
		case <-c.done:
			c.t.Fatalf("admin-client.js exited while %s waited for %s", name, what)
		case <-deadline:
			c.t.Fatalf("%s: no %s within %v", name, what, wait)
		}
	}
}

// expectEvent waits for client name's next event called event for which
// match (given its arguments) is true.
func (c *clients) expectEvent(name, event string, match func(args []json.RawMessage) bool) []json.RawMessage {
	c.t.Helper()
	return c.expect(name, "event "+event, func(l line) bool {
		return l.Type == "event" && l.Event == event && (match == nil || match(l.Args))
	}).Args
}

// connected waits for client name's connect and returns its socket id.
func (c *clients) connected(name string) line {
	c.t.Helper()
	return c.expect(name, "connect", func(l line) bool {
		if l.Type == "connect_error" {
			c.t.Fatalf("%s refused: %s", name, l.raw)
		}
		return l.Type == "connect"
	})
}

// refused waits for client name's connect_error and returns its message.
func (c *clients) refused(name string) string {
	c.t.Helper()
	return c.expect(name, "connect_error", func(l line) bool {
		if l.Type == "connect" {
			c.t.Fatalf("%s was admitted, want a connect_error", name)
		}
		return l.Type == "connect_error"
	}).Message
}

// login is the Admin UI's auth payload.
func login(user, password string) map[string]string {
	return map[string]string{"username": user, "password": password}
}

// str decodes a JSON string argument.
func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("argument %s is not a string: %v", raw, err)
	}
	return s
}

// socketView is the part of a listed socket the tests read.
type socketView struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId"`
	Transport string          `json:"transport"`
	NSP       string          `json:"nsp"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Query   map[string]string `json:"query"`
		Issued  int64             `json:"issued"`
	} `json:"handshake"`
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

// eventually polls cond until it holds, for at most wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fmtRooms(rooms []string) string { return fmt.Sprintf("%q", rooms) }
