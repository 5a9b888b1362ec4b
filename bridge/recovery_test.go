package bridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/internal/bridgetest"
)

// recoveryBound bounds every wait of the recovery tests.
const recoveryBound = 20 * time.Second

// runJetStream runs an in-process NATS server with JetStream, its store in
// dir, on port (-1: a free one).
func runJetStream(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = port
	opts.JetStream = true
	opts.StoreDir = dir
	s := natstest.RunServer(&opts)
	t.Cleanup(s.Shutdown)
	return s
}

// recoveryConfig maps news.* to every socket of "/" and
// notify.user.<name> to that user's room, with recovery on.
func recoveryConfig(natsURL string) bridge.Config {
	return bridge.Config{
		NATSURL:  natsURL,
		Maps:     []string{"news.*=news", "notify.user.*=notification@user:{3}"},
		Recovery: true,
	}
}

// recoveryClient is one testdata/recovery.js process.
type recoveryClient struct {
	t     *testing.T
	name  string
	stdin io.WriteCloser

	mu    sync.Mutex
	lines []map[string]json.RawMessage
	seen  int // lines before this were consumed by next
	out   []string
}

func startRecoveryClient(t *testing.T, name, url string, authPayload map[string]any) *recoveryClient {
	t.Helper()
	return startRecoveryClientOn(t, name, url, "websocket", authPayload)
}

// startRecoveryClientOn is startRecoveryClient on the transports given
// (socket.io-client's transports option, comma-separated).
func startRecoveryClientOn(t *testing.T, name, url, transports string, authPayload map[string]any) *recoveryClient {
	t.Helper()
	bridgetest.RequireNode(t)
	args := []string{filepath.Join(bridgetest.Testdata(t), "recovery.js"), "--url", url, "--transports", transports,
		"--timeout", strconv.Itoa(int((2 * recoveryBound).Milliseconds()))}
	if authPayload != nil {
		raw, _ := json.Marshal(authPayload)
		args = append(args, "--auth", string(raw))
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = bridgetest.Testdata(t)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &recoveryClient{t: t, name: name, stdin: stdin}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("node recovery.js: %v", err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var line map[string]json.RawMessage
			_ = json.Unmarshal(sc.Bytes(), &line)
			c.mu.Lock()
			c.out = append(c.out, sc.Text())
			if line != nil {
				c.lines = append(c.lines, line)
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		<-read
		if t.Failed() {
			c.mu.Lock()
			t.Logf("%s (recovery.js) printed:\n  %s\nstderr: %s", name, strings.Join(c.out, "\n  "), stderr.String())
			c.mu.Unlock()
		}
	})
	return c
}

func (c *recoveryClient) send(cmd string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		c.t.Fatalf("%s: sending %q: %v", c.name, cmd, err)
	}
}

// next returns the next line of type typ, skipping nothing else: a line
// of another type first fails the test (events must not come early or
// twice). Lines of the types in ignore are passed over.
func (c *recoveryClient) next(typ string, ignore ...string) map[string]json.RawMessage {
	c.t.Helper()
	var got map[string]json.RawMessage
	err := bridgetest.Poll(recoveryBound, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for c.seen < len(c.lines) {
			line := c.lines[c.seen]
			c.seen++
			var lt string
			_ = json.Unmarshal(line["type"], &lt)
			if lt == typ {
				got = line
				return true
			}
			if !contains(ignore, lt) {
				c.t.Errorf("%s: wanted a %q line, got %s", c.name, typ, mustJSON(line))
				got = line
				return true
			}
		}
		return false
	})
	if err != nil {
		c.t.Fatalf("%s: no %q line within %v", c.name, typ, recoveryBound)
	}
	if c.t.Failed() {
		c.t.FailNow()
	}
	return got
}

// connected waits for the next connect line and returns socket.recovered
// and the pid.
func (c *recoveryClient) connected() (recovered bool, pid string) {
	c.t.Helper()
	line := c.next("connect", "disconnect")
	_ = json.Unmarshal(line["recovered"], &recovered)
	_ = json.Unmarshal(line["pid"], &pid)
	return recovered, pid
}

// recvEvent is one event a client got: its name, its first argument, and its
// offset (the last argument).
type recvEvent struct {
	name, arg string
	offset    uint64
}

// events reads the next n event lines, with nothing else between them.
func (c *recoveryClient) events(n int) []recvEvent {
	c.t.Helper()
	var out []recvEvent
	for range n {
		line := c.next("event")
		var name string
		var args []json.RawMessage
		_ = json.Unmarshal(line["event"], &name)
		_ = json.Unmarshal(line["args"], &args)
		if len(args) != 2 {
			c.t.Fatalf("%s: event %s: want the payload and the offset, got %s", c.name, name, mustJSON(line))
		}
		var offset string
		if err := json.Unmarshal(args[1], &offset); err != nil {
			c.t.Fatalf("%s: event %s: the last argument is not an offset string: %s", c.name, name, args[1])
		}
		seq, err := strconv.ParseUint(offset, 10, 64)
		if err != nil {
			c.t.Fatalf("%s: event %s: offset %q: %v", c.name, name, offset, err)
		}
		out = append(out, recvEvent{name: name, arg: string(args[0]), offset: seq})
	}
	return out
}

// quiet fails the test if an event line is waiting: it must have come
// after all that was expected (a duplicate, or another user's event).
// Only what has arrived can be checked: the callers publish a marker
// after what must not arrive and read up to it first.
func (c *recoveryClient) quiet() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range c.lines[c.seen:] {
		var lt string
		_ = json.Unmarshal(line["type"], &lt)
		if lt == "event" {
			c.t.Errorf("%s: an unexpected event: %s", c.name, mustJSON(line))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// publishAll publishes each of payloads to subject and flushes.
func publishAll(t *testing.T, nc *nats.Conn, subject string, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		if err := nc.Publish(subject, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// checkEvents compares what a client got with what it should have, in
// order, and checks the offsets grow.
func checkEvents(t *testing.T, who string, got []recvEvent, want ...string) {
	t.Helper()
	var names []string
	for i, e := range got {
		names = append(names, e.name+":"+e.arg)
		if i > 0 && e.offset <= got[i-1].offset {
			t.Errorf("%s: offsets do not grow: %d after %d", who, e.offset, got[i-1].offset)
		}
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("%s got\n  %s\nwant\n  %s", who, strings.Join(names, " "), strings.Join(want, " "))
	}
}

// TestRecoveryReplaysWhatADroppedClientMissed: a real socket.io-client
// loses its transport (websocket, then HTTP long-polling), five messages
// are published meanwhile, and when it reconnects it gets exactly those
// five, in order, once, with socket.recovered true; live delivery then
// goes on. The embedded NATS server runs JetStream in the store directory
// given.
func TestRecoveryReplaysWhatADroppedClientMissed(t *testing.T) {
	t.Parallel()
	cfg := recoveryConfig("")
	cfg.EmbeddedNATSListen = "127.0.0.1:0"
	cfg.EmbeddedNATSStoreDir = t.TempDir()
	tb := startBridge(t, cfg)
	nc := connect(t, tb.NATSURL())

	for i, transports := range []string{"websocket", "polling"} {
		t.Run(transports, func(t *testing.T) {
			c := startRecoveryClientOn(t, transports, tb.URL, transports, nil)
			if recovered, pid := c.connected(); recovered || pid == "" {
				t.Fatalf("first connect: recovered %v, pid %q; want false and a pid", recovered, pid)
			}
			publishAll(t, nc, "news.a", `"n1"`, `"n2"`)
			before := c.events(2)
			checkEvents(t, "before the drop", before, `news:"n1"`, `news:"n2"`)

			c.send("drop")
			c.next("disconnect")
			publishAll(t, nc, "news.a", `"m1"`, `"m2"`, `"m3"`, `"m4"`, `"m5"`)
			// Every message is in the stream before the client comes back.
			waitDelivered(t, tb, before[1].offset+5)

			c.send("reconnect")
			if recovered, _ := c.connected(); !recovered {
				t.Fatal("socket.recovered is false after a resume within the window")
			}
			missed := c.events(5)
			checkEvents(t, "the replay", missed, `news:"m1"`, `news:"m2"`, `news:"m3"`, `news:"m4"`, `news:"m5"`)
			if missed[0].offset != before[1].offset+1 {
				t.Errorf("the replay starts at offset %d, want %d", missed[0].offset, before[1].offset+1)
			}
			publishAll(t, nc, "news.a", `"live"`)
			checkEvents(t, "after the replay", c.events(1), `news:"live"`)
			c.quiet()
			if s := tb.RecoveryStats(); s.Recovered.Load() != uint64(i+1) || s.Replayed.Load() != uint64(5*(i+1)) {
				t.Errorf("recovery stats: recovered %d replayed %d; want %d and %d", s.Recovered.Load(), s.Replayed.Load(), i+1, 5*(i+1))
			}
			c.send("quit")
			c.next("disconnect")
		})
	}
}

// waitDelivered waits until the bridge has delivered a message at or past
// seq live (so it is in the stream).
func waitDelivered(t *testing.T, tb *testBridge, seq uint64) {
	t.Helper()
	bridgetest.Eventually(t, recoveryBound, fmt.Sprintf("stream sequence %d delivered", seq), func() bool {
		return bridge.RecoveryDelivered(tb.Bridge) >= seq
	})
}

// TestRecoveryKeepsEachUserToTheirOwnRooms: alice and bob, each with a
// JWT whose subject names a room, drop together; each one's notifications
// and a broadcast are published; each gets back only their own and the
// broadcast. Then bob presents alice's pid and offset with his own
// token, as an attacker that stole them would: he recovers nothing and
// gets none of alice's events.
func TestRecoveryKeepsEachUserToTheirOwnRooms(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	cfg := recoveryConfig(js.ClientURL())
	cfg.Auth = auth.Config{JWTSecret: authSecret, Issuer: "https://id.test", Audience: "natsock",
		RoomTemplates: []string{"user:{sub}"}, Required: true}
	tb := startBridge(t, cfg)
	nc := connect(t, js.ClientURL())

	alice := startRecoveryClient(t, "alice", tb.URL, map[string]any{"token": signHS(t, authSecret, jwt.MapClaims{"sub": "alice"})})
	bob := startRecoveryClient(t, "bob", tb.URL, map[string]any{"token": signHS(t, authSecret, jwt.MapClaims{"sub": "bob"})})
	_, alicePID := alice.connected()
	bob.connected()
	publishAll(t, nc, "news.x", `"hello"`)
	a0, b0 := alice.events(1), bob.events(1)
	checkEvents(t, "alice", a0, `news:"hello"`)
	checkEvents(t, "bob", b0, `news:"hello"`)

	alice.send("drop")
	bob.send("drop")
	alice.next("disconnect")
	bob.next("disconnect")
	publishAll(t, nc, "notify.user.alice", `"a1"`)
	publishAll(t, nc, "notify.user.bob", `"b1"`)
	publishAll(t, nc, "news.x", `"both"`)
	publishAll(t, nc, "notify.user.alice", `"a2"`)
	waitDelivered(t, tb, a0[0].offset+4)

	alice.send("reconnect")
	bob.send("reconnect")
	if r, _ := alice.connected(); !r {
		t.Fatal("alice: not recovered")
	}
	if r, _ := bob.connected(); !r {
		t.Fatal("bob: not recovered")
	}
	checkEvents(t, "alice's replay", alice.events(3), `notification:"a1"`, `news:"both"`, `notification:"a2"`)
	checkEvents(t, "bob's replay", bob.events(2), `notification:"b1"`, `news:"both"`)

	// Bob with alice's pid and her first offset, his own token.
	bob.send("drop")
	bob.next("disconnect")
	bob.send("resume " + alicePID + " " + strconv.FormatUint(a0[0].offset, 10))
	if r, _ := bob.connected(); r {
		t.Fatal("bob recovered with alice's pid")
	}
	publishAll(t, nc, "news.x", `"marker"`)
	checkEvents(t, "bob after presenting alice's pid", bob.events(1), `news:"marker"`)
	checkEvents(t, "alice live", alice.events(1), `news:"marker"`)
	bob.quiet()
	alice.send("quit")
	bob.send("quit")
}

// TestRecoveryRefusals: each resume that must not be honoured gets a
// normal connect, socket.recovered false, a new pid, and no replay: an
// unknown pid, a forged one (one byte of a real pid changed), a resume
// whose missed messages left the stream with the window, and an offset
// from before the pid was issued.
func TestRecoveryRefusals(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	cfg := recoveryConfig(js.ClientURL())
	cfg.RecoveryWindow = bridge.MinRecoveryWindow
	tb := startBridge(t, cfg)
	nc := connect(t, js.ClientURL())
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	// A message before the client connects: its pid starts after it.
	publishAll(t, nc, "news.a", `"before"`)
	waitDelivered(t, tb, 1)
	c := startRecoveryClient(t, "client", tb.URL, nil)
	_, pid := c.connected()
	publishAll(t, nc, "news.a", `"first"`)
	first := c.events(1)[0]

	// One character of the MAC changed, to another base64url one.
	forged := []byte(pid)
	i := len(forged) - 5
	if forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	for _, tc := range []struct {
		name, resume string
	}{
		{"an unknown pid", "resume bm90LWEtcGlk " + strconv.FormatUint(first.offset, 10)},
		{"a forged pid", "resume " + string(forged) + " " + strconv.FormatUint(first.offset, 10)},
		{"an offset before the pid's start", "resume " + pid + " 0"}, // "before" is 1
	} {
		c.send("drop")
		c.next("disconnect")
		c.send(tc.resume)
		r, newPID := c.connected()
		if r || newPID == "" || newPID == pid {
			t.Errorf("%s: recovered %v, pid %q; want false and a new pid", tc.name, r, newPID)
		}
	}

	// Past the window: what the client missed expires from the stream.
	c.send("drop")
	c.next("disconnect")
	publishAll(t, nc, "news.a", `"expires"`)
	bridgetest.Eventually(t, recoveryBound, "the missed message expired from the stream", func() bool {
		st, err := jsc.Stream(context.Background(), bridge.DefaultRecoveryStream)
		return err == nil && st.CachedInfo().State.FirstSeq > first.offset+1
	})
	c.send("resume " + pid + " " + strconv.FormatUint(first.offset, 10))
	if r, _ := c.connected(); r {
		t.Error("past the window: recovered")
	}
	publishAll(t, nc, "news.a", `"marker"`)
	checkEvents(t, "after the refusals", c.events(1), `news:"marker"`)
	c.quiet()
	if got := tb.RecoveryStats().Refused.Load(); got != 4 {
		t.Errorf("%d resumes refused, want 4", got)
	}
	c.send("quit")
}

// TestRecoverySurvivesANATSRestart restarts the JetStream server (same
// port, same store) under a connected client and a dropped one: the
// connected one gets, once each, the messages published before and after
// the restart, and the dropped one recovers them all.
func TestRecoverySurvivesANATSRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	js := runJetStream(t, -1, dir)
	p := js.Addr().(*net.TCPAddr).Port
	cfg := recoveryConfig(js.ClientURL())
	tb := startBridge(t, cfg)
	nc := connect(t, js.ClientURL())

	stay := startRecoveryClient(t, "stays", tb.URL, nil)
	gone := startRecoveryClient(t, "dropped", tb.URL, nil)
	stay.connected()
	gone.connected()
	publishAll(t, nc, "news.a", `"1"`)
	stay.events(1)
	first := gone.events(1)[0]
	gone.send("drop")
	gone.next("disconnect")
	publishAll(t, nc, "news.a", `"2"`)
	checkEvents(t, "before the restart", stay.events(1), `news:"2"`)

	js.Shutdown()
	js.WaitForShutdown()
	js = runJetStream(t, p, dir)
	waitReadyz(t, tb.URL, 200)
	nc2 := connect(t, js.ClientURL())
	publishAll(t, nc2, "news.a", `"3"`, `"4"`)
	checkEvents(t, "after the restart", stay.events(2), `news:"3"`, `news:"4"`)
	waitDelivered(t, tb, first.offset+3)

	gone.send("reconnect")
	if r, _ := gone.connected(); !r {
		t.Fatal("not recovered across the NATS restart")
	}
	checkEvents(t, "the replay across the restart", gone.events(3), `news:"2"`, `news:"3"`, `news:"4"`)
	stay.quiet()
	stay.send("quit")
	gone.send("quit")
}

// TestRecoveryOnAnotherNode: a client of node A drops, A stops, 300
// messages are published, and node B starts: none of them passed through
// B's live delivery, so B reads them from the stream (in batches) and the
// client, resuming on B with A's pid, gets all 300 in order, once.
func TestRecoveryOnAnotherNode(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	nc := connect(t, js.ClientURL())
	a := startBridge(t, recoveryConfig(js.ClientURL()))
	c := startRecoveryClient(t, "client", a.URL, nil)
	c.connected()
	publishAll(t, nc, "news.a", `"on A"`)
	checkEvents(t, "on A", c.events(1), `news:"on A"`)
	c.send("drop")
	c.next("disconnect")
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}

	var want []string
	for i := range 300 {
		p := strconv.Quote(fmt.Sprint("m", i))
		publishAll(t, nc, "news.a", p)
		want = append(want, "news:"+p)
	}
	b := startBridge(t, recoveryConfig(js.ClientURL()))
	c.send("move " + b.URL)
	c.send("reconnect")
	if r, _ := c.connected(); !r {
		t.Fatal("not recovered on node B")
	}
	checkEvents(t, "the replay on B", c.events(300), want...)
	publishAll(t, nc, "news.a", `"live on B"`)
	checkEvents(t, "live on B", c.events(1), `news:"live on B"`)
	c.quiet()
	c.send("quit")
}

// TestRecoveryCountsWhatExpiredWhileNATSWasAway: when the bridge's own
// NATS connection is away longer than the window while messages are
// published, they expire before its consumer reads them: the consumer
// resumes after them, the log says how many its sockets missed, and
// RecoveryStats.Skipped counts them. Nothing after them is lost.
func TestRecoveryCountsWhatExpiredWhileNATSWasAway(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	gate := make(chan struct{})
	var opened sync.Once
	openGate := func() { opened.Do(func() { close(gate) }) }
	cfg := recoveryConfig(js.ClientURL())
	cfg.RecoveryWindow = bridge.MinRecoveryWindow
	tb := startBridge(t, cfg, func(b *bridge.Bridge) {
		bridge.SetReconnectDelay(b, func(int) time.Duration {
			select {
			case <-gate:
			case <-time.After(recoveryBound):
			}
			return 10 * time.Millisecond
		})
	})
	t.Cleanup(openGate)
	nc := connect(t, js.ClientURL())
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c := startRecoveryClient(t, "client", tb.URL, nil)
	c.connected()
	publishAll(t, nc, "news.a", `"before"`)
	checkEvents(t, "before", c.events(1), `news:"before"`)

	// Cut the bridge's NATS connection; its reconnect waits at the gate.
	connz, err := js.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cid uint64
	for _, ci := range connz.Conns {
		if ci.Name == "natsock" {
			cid = ci.Cid
		}
	}
	if cid == 0 {
		t.Fatal("the bridge's NATS connection is not in connz")
	}
	if err := js.DisconnectClientByID(cid); err != nil {
		t.Fatal(err)
	}
	publishAll(t, nc, "news.a", `"gone1"`, `"gone2"`, `"gone3"`)
	bridgetest.Eventually(t, recoveryBound, "the three messages expired", func() bool {
		st, err := jsc.Stream(context.Background(), bridge.DefaultRecoveryStream)
		return err == nil && st.CachedInfo().State.Msgs == 0 && st.CachedInfo().State.LastSeq == 4
	})
	openGate()
	waitReadyz(t, tb.URL, 200)
	publishAll(t, nc, "news.a", `"after"`)
	checkEvents(t, "after the outage", c.events(1), `news:"after"`)
	if got := tb.RecoveryStats().Skipped.Load(); got != 3 {
		t.Errorf("Skipped = %d, want 3", got)
	}
	if !strings.Contains(tb.logs.String(), "missed=3") {
		t.Errorf("the log does not say 3 were missed:\n%s", tb.logs)
	}
	c.quiet()
	c.send("quit")
}
