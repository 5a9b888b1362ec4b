package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// TestMain checks that no test leaves a goroutine behind: the bridge's,
// the in-process NATS servers' and the NATS clients' goroutines must all
// be gone once each test's cleanup has run.
//
// The real-client tests wait mostly on node processes, so unless -parallel
// is given they run 4 at a time rather than GOMAXPROCS (2 on a small CI
// machine) at a time.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "4")
	}
	goleak.VerifyTestMain(m)
}

// Bounds on the waits of these tests; none is a timing assertion.
const (
	startBound  = 10 * time.Second // a server or client getting ready
	nodeTimeout = 20 * time.Second // interop.js's own hard deadline
	nodeBound   = nodeTimeout + 5*time.Second
)

// startNATS runs an in-process NATS server on a free loopback port.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	return runNATS(t, -1)
}

func runNATS(t *testing.T, port int) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = port
	s := natstest.RunServer(&opts)
	t.Cleanup(s.Shutdown)
	return s
}

// connect is a NATS client for the test's own publishing and responding.
func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name("natsock-test"))
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// testBridge is a running bridge with its logs.
type testBridge struct {
	*bridge.Bridge
	URL  string // http://127.0.0.1:PORT
	logs *logBuffer

	cancel  context.CancelFunc
	done    chan error
	stopErr error
	stopped sync.Once
}

// stop ends Run and returns its error; after the first call it returns
// the same error at once.
func (tb *testBridge) stop(t *testing.T) error {
	t.Helper()
	tb.stopped.Do(func() {
		tb.cancel()
		select {
		case tb.stopErr = <-tb.done:
		case <-time.After(15 * time.Second):
			tb.stopErr = fmt.Errorf("bridge did not shut down within 15s")
		}
	})
	return tb.stopErr
}

// guideConfig is the guide's server through NATS, plus the rules the
// real-client scenarios use: test.<event> is emitted as <event>, and three
// acknowledged events go to a responder, to no responder and to a responder
// that never answers.
func guideConfig(natsURL string) bridge.Config {
	return bridge.Config{
		NATSURL: natsURL,
		Maps:    []string{"tasks.assigned=newTaskAssigned", "test.>={2}"},
		Inbound: []string{
			"taskAssigned=tasks.assigned",
			"ask=svc.echo",
			"askNobody=svc.nobody",
			"askSlow=svc.slow",
		},
		RequestTimeout: 300 * time.Millisecond,
	}
}

// startBridge runs a bridge on a free loopback port until the test ends,
// and waits until it is ready.
func startBridge(t *testing.T, cfg bridge.Config, before ...func(*bridge.Bridge)) *testBridge {
	t.Helper()
	tb := startBridgeUnready(t, cfg, before...)
	waitReadyz(t, tb.URL, http.StatusOK)
	return tb
}

// startBridgeUnready runs a bridge without waiting for it to be ready;
// each of before is called on the bridge before Run.
func startBridgeUnready(t *testing.T, cfg bridge.Config, before ...func(*bridge.Bridge)) *testBridge {
	t.Helper()
	logs := &logBuffer{}
	cfg.Listen = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := bridge.New(cfg)
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	for _, fn := range before {
		fn(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb := &testBridge{Bridge: b, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { tb.done <- b.Run(ctx) }()
	t.Cleanup(func() {
		if err := tb.stop(t); err != nil {
			t.Errorf("bridge.Run: %v", err)
		}
		if t.Failed() {
			t.Logf("bridge logs:\n%s", logs)
		}
	})
	addr := b.Addr()
	if addr == nil {
		t.Fatalf("bridge did not start: %v\n%s", tb.stop(t), logs)
	}
	tb.URL = "http://" + addr.String()
	return tb
}

// interop starts testdata/interop.js against url with one client version
// and transport set.
func interop(t *testing.T, url, client, transports, scenario string, args ...string) *bridgetest.Client {
	t.Helper()
	return bridgetest.Interop(t, append([]string{
		"--url", url, "--client", client, "--transports", transports, "--scenario", scenario,
		"--timeout", strconv.Itoa(int(nodeTimeout.Milliseconds())),
	}, args...)...)
}

func waitReadyz(t *testing.T, base string, want int) {
	t.Helper()
	bridgetest.Eventually(t, startBound, fmt.Sprintf("GET /readyz answering %d", want), func() bool {
		code, _ := get(t, base+"/readyz")
		return code == want
	})
}

// get returns a GET's status and body; 0 when the request failed.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestHealthAndReadiness restarts NATS on the port it had. It does not run
// in parallel with this package's other tests, which take free ports too.
func TestHealthAndReadiness(t *testing.T) {
	ns := startNATS(t)
	b := startBridge(t, guideConfig(ns.ClientURL()))

	if code, body := get(t, b.URL+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}
	if code, body := get(t, b.URL+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("GET /readyz = %d %q, want 200 \"ready\\n\"", code, body)
	}

	// A client connects, then NATS goes away: the bridge is alive but not
	// ready, and the client stays connected.
	client := interop(t, b.URL, "4.8.4", "websocket", "receive", "--event", "back")
	client.WaitReady(startBound)
	port := ns.Addr().(*net.TCPAddr).Port
	ns.Shutdown()
	waitReadyz(t, b.URL, http.StatusServiceUnavailable)
	if code, body := get(t, b.URL+"/readyz"); !strings.Contains(body, "NATS") {
		t.Errorf("GET /readyz without NATS = %d %q; want it to name NATS", code, body)
	}
	if code, _ := get(t, b.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz without NATS = %d, want 200", code)
	}
	if !client.Running() {
		t.Fatalf("the client lost its connection with NATS: %s", client.Output())
	}

	// NATS comes back on the same port: the bridge reconnects, is ready
	// again, and the client, still on the same socket, gets the next message.
	ns2 := runNATS(t, port)
	waitReadyz(t, b.URL, http.StatusOK)
	nc := connect(t, ns2.ClientURL())
	if err := nc.Publish("test.back", []byte(`{"back":true}`)); err != nil {
		t.Fatal(err)
	}
	r := client.MustOK(nodeBound)
	if len(r.Events) != 1 || !bridgetest.JSONEqual(r.Events[0].Args[0], []byte(`{"back":true}`)) {
		t.Errorf("after NATS came back the client got %s", r.Raw)
	}
}

// The socket.io clients and transport sets every real-client scenario runs
// with.
var (
	clientVersions = []string{"4.3.1", "4.8.4"}
	transportSets  = []string{"websocket", "polling", "polling,websocket"}
)

// clientEnv is one scenario's world: its own NATS server and bridge (so
// that scenarios running in parallel never see each other's messages), a
// NATS connection for the test, and the client version and transports.
type clientEnv struct {
	nc         *nats.Conn
	b          *testBridge
	client     string
	transports string
}

func (e *clientEnv) interop(t *testing.T, scenario string, args ...string) *bridgetest.Client {
	t.Helper()
	return interop(t, e.b.URL, e.client, e.transports, scenario, args...)
}

func (e *clientEnv) publish(t *testing.T, subject string, data []byte) {
	t.Helper()
	if err := e.nc.Publish(subject, data); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
}

func TestRealClients(t *testing.T) {
	bridgetest.RequireNode(t)
	scenarios := []struct {
		name string
		run  func(t *testing.T, e *clientEnv)
	}{
		{"a published JSON object arrives intact", testObjectArrives},
		{"an emitted taskAssigned reaches every client as newTaskAssigned", testGuideBroadcast},
		{"200 messages published in a burst arrive in order with none lost", testBurstInOrder},
		{"a non-JSON payload arrives as a string and a binary one as binary", testTextAndBinary},
		{"an ack returns the NATS reply, or an error naming the cause", testAcks},
	}
	for _, client := range clientVersions {
		for _, transports := range transportSets {
			t.Run("socket.io-client "+client+" on "+transports, func(t *testing.T) {
				for _, sc := range scenarios {
					t.Run(sc.name, func(t *testing.T) {
						t.Parallel()
						ns := startNATS(t)
						e := &clientEnv{
							nc:         connect(t, ns.ClientURL()),
							b:          startBridge(t, guideConfig(ns.ClientURL())),
							client:     client,
							transports: transports,
						}
						sc.run(t, e)
					})
				}
			})
		}
	}
}

// testObjectArrives: the guide's client gets a published object as that
// object, over the transports it asked for.
func testObjectArrives(t *testing.T, e *clientEnv) {
	recv := e.interop(t, "receive", "--event", "object")
	recv.WaitReady(startBound)
	obj := `{"taskName":"Write the tests","id":42,"done":false,"tags":["go","nats"],` +
		`"owner":{"name":"Zo\u00eb \u20ac","manager":null},"ratio":0.25}`
	e.publish(t, "test.object", []byte(obj))
	r := recv.MustOK(nodeBound)
	if len(r.Events) != 1 || r.Events[0].Event != "object" {
		t.Fatalf("got %s, want one \"object\" event", r.Raw)
	}
	ev := r.Events[0]
	if len(ev.Args) != 1 || !bridgetest.JSONEqual(ev.Args[0], []byte(obj)) || ev.Types[0] != "object" {
		t.Errorf("got args %s (types %v), want the object %s", ev.Args, ev.Types, obj)
	}
	wantFinal := map[string]string{"websocket": "websocket", "polling": "polling", "polling,websocket": "websocket"}[e.transports]
	if r.Transport != wantFinal {
		t.Errorf("transport %q (initial %q, upgraded %v), want %q", r.Transport, r.InitialTransport, r.Upgraded, wantFinal)
	}
	if e.transports == "polling,websocket" && (r.InitialTransport != "polling" || !r.Upgraded) {
		t.Errorf("the default transports did not upgrade from polling: %s", r.Raw)
	}
}

// testGuideBroadcast: one client's emit goes through NATS and comes back
// to every connected client, the emitter included, as the guide's server
// does with io.emit.
func testGuideBroadcast(t *testing.T, e *clientEnv) {
	seen, err := e.nc.SubscribeSync("tasks.assigned")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	receivers := []*bridgetest.Client{
		e.interop(t, "receive", "--event", "newTaskAssigned"),
		e.interop(t, "receive", "--event", "newTaskAssigned"),
	}
	for _, r := range receivers {
		r.WaitReady(startBound)
	}
	want := `{"taskName":"New Task"}`
	emitter := e.interop(t, "emit", "--event", "taskAssigned", "--data", want, "--expect", "newTaskAssigned")
	er := emitter.MustOK(nodeBound)
	if len(er.Received) != 1 || !bridgetest.JSONEqual(er.Received[0], []byte(want)) {
		t.Errorf("the emitter got back %s, want [%s]", er.Raw, want)
	}
	for i, c := range receivers {
		r := c.MustOK(nodeBound)
		if len(r.Events) != 1 || !bridgetest.JSONEqual(r.Events[0].Args[0], []byte(want)) {
			t.Errorf("receiver %d got %s, want newTaskAssigned %s", i, r.Raw, want)
		}
	}
	msg, err := seen.NextMsg(startBound)
	if err != nil {
		t.Fatalf("no message on tasks.assigned: %v", err)
	}
	if string(msg.Data) != want {
		t.Errorf("tasks.assigned carried %q, want %q", msg.Data, want)
	}
	if got := msg.Header.Get(bridge.HeaderEvent); got != "taskAssigned" {
		t.Errorf("header %s = %q, want taskAssigned", bridge.HeaderEvent, got)
	}
	if got := msg.Header.Get(bridge.HeaderSocket); got != er.ID {
		t.Errorf("header %s = %q, want the emitter's socket id %q", bridge.HeaderSocket, got, er.ID)
	}
}

// testBurstInOrder: a burst of 200 messages reaches the client complete and
// in publishing order.
func testBurstInOrder(t *testing.T, e *clientEnv) {
	const n = 200
	recv := e.interop(t, "receive", "--event", "seq", "--count", strconv.Itoa(n))
	recv.WaitReady(startBound)
	for i := range n {
		e.publish(t, "test.seq", fmt.Appendf(nil, `{"seq":%d,"pad":"%s"}`, i, strings.Repeat("x", i)))
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r := recv.MustOK(nodeBound)
	if len(r.Events) != n {
		t.Fatalf("got %d events, want %d", len(r.Events), n)
	}
	for i, ev := range r.Events {
		var got struct{ Seq int }
		if err := json.Unmarshal(ev.Args[0], &got); err != nil || got.Seq != i {
			t.Fatalf("event %d is %s, want seq %d", i, ev.Args[0], i)
		}
	}
}

// testTextAndBinary: a body that is not JSON arrives as a string; one that
// is not UTF-8 as binary (a Buffer in node), JSON-shaped or not. (A JSON
// string holding invalid UTF-8, passed on as JSON, once broke every
// websocket client's connection: a text frame must be UTF-8.)
func testTextAndBinary(t *testing.T, e *clientEnv) {
	recv := e.interop(t, "receive", "--event", "text,binary", "--count", "3")
	recv.WaitReady(startBound)
	text := `hello, "world" {not JSON`
	bins := [][]byte{{0xff, 0x00, 0x01, 0xfe, 0x80, 'a'}, []byte("{\"a\":\"\xff\"}")}
	e.publish(t, "test.text", []byte(text))
	for _, bin := range bins {
		e.publish(t, "test.binary", bin)
	}
	r := recv.MustOK(nodeBound)
	if len(r.Events) != 3 {
		t.Fatalf("got %s, want three events", r.Raw)
	}
	wantText, _ := json.Marshal(text)
	if ev := r.Events[0]; ev.Event != "text" || ev.Types[0] != "string" || string(ev.Args[0]) != string(wantText) {
		t.Errorf("text event = %+v (%s), want the string %s", ev, ev.Args, wantText)
	}
	for i, bin := range bins {
		wantBin := fmt.Sprintf(`{"$binary":%q}`, base64.StdEncoding.EncodeToString(bin))
		if ev := r.Events[1+i]; ev.Event != "binary" || ev.Types[0] != "binary" || !bridgetest.JSONEqual(ev.Args[0], []byte(wantBin)) {
			t.Errorf("binary event %d = %+v (%s), want binary %s", i, ev, ev.Args, wantBin)
		}
	}
}

// testAcks: an emit with an acknowledgement is a NATS request; the ack is
// the reply, or {"error": ...} naming why there is none.
func testAcks(t *testing.T, e *clientEnv) {
	if _, err := e.nc.Subscribe("svc.echo", func(m *nats.Msg) {
		reply := fmt.Appendf(nil, `{"echo":%s,"event":%q}`, m.Data, m.Header.Get(bridge.HeaderEvent))
		_ = m.Respond(reply)
	}); err != nil {
		t.Fatal(err)
	}
	// The slow responder answers only once the test has seen the timeout:
	// a late reply must be dropped quietly.
	late := make(chan *nats.Msg, 1)
	if _, err := e.nc.Subscribe("svc.slow", func(m *nats.Msg) { late <- m }); err != nil {
		t.Fatal(err)
	}
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The four clients run at once.
	echo := e.interop(t, "emit", "--event", "ask", "--data", `[{"q":"ping","n":12345678901234567890}]`, "--ack")
	nobody := e.interop(t, "emit", "--event", "askNobody", "--data", `[1]`, "--ack")
	slow := e.interop(t, "emit", "--event", "askSlow", "--data", `[1]`, "--ack")
	unmapped := e.interop(t, "emit", "--event", "notMapped", "--data", `[1]`, "--ack")

	r := echo.MustOK(nodeBound)
	// JavaScript rounds the large integer when it parses the ack; what the
	// test checks is that the reply came back whole.
	if len(r.Ack) != 1 || !bridgetest.JSONEqual(r.Ack[0], []byte(`{"echo":{"q":"ping","n":12345678901234567890},"event":"ask"}`)) {
		t.Errorf("ask: ack %s, want the responder's reply", r.Raw)
	}
	for _, tc := range []struct {
		name   string
		client *bridgetest.Client
		want   []string
	}{
		{"no responder", nobody, []string{"no responders", `\"svc.nobody\"`}},
		{"a slow responder", slow, []string{"timed out", `\"svc.slow\"`, "300ms"}},
		{"an event with no --inbound rule", unmapped, []string{`\"notMapped\"`, "not mapped"}},
	} {
		r := tc.client.MustOK(nodeBound)
		var ack struct{ Error string }
		if len(r.Ack) != 1 || json.Unmarshal(r.Ack[0], &ack) != nil || ack.Error == "" {
			t.Errorf("%s: ack %s, want [{\"error\": ...}]", tc.name, r.Raw)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(string(r.Ack[0]), w) {
				t.Errorf("%s: ack %s does not say %s", tc.name, r.Ack[0], w)
			}
		}
	}
	select {
	case m := <-late:
		_ = m.Respond([]byte(`"too late"`))
	case <-time.After(startBound):
		t.Error("the slow responder never got the request")
	}
}

// NATS may be away when the bridge is told to stop (both restarting at
// once): the shutdown has nothing to drain and ends cleanly, in time.
func TestShutdownWhileNATSIsAway(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	b := startBridge(t, guideConfig(ns.ClientURL()))
	ns.Shutdown()
	waitReadyz(t, b.URL, http.StatusServiceUnavailable)
	if err := b.stop(t); err != nil {
		t.Errorf("Run returned %v after a shutdown without NATS, want nil", err)
	}
}

// A placeholder can make a reserved name out of a subject (x.connect with
// --map 'x.*={2}'); that message is dropped, the others of the rule pass.
func TestReservedEventNamesAreNotEmitted(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"x.*={2}"}})
	for _, subject := range []string{"x.connect", "x.connect", "x.disconnect", "x.fine"} {
		if err := nc.Publish(subject, []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	// One subscription delivers in order: once x.fine is counted, the
	// three before it have been handled.
	bridgetest.Eventually(t, startBound, "x.fine received", func() bool { return b.Stats().Received.Load() == 1 })
	if got := b.Stats().Reserved.Load(); got != 3 {
		t.Errorf("Stats().Reserved = %d, want 3", got)
	}
	if logs := b.logs.String(); strings.Count(logs, "reserves") != 2 {
		t.Errorf("want one log line for each reserved name:\n%s", logs)
	}
}
