package socketio_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/socketio"
)

// recoveryJS drives a real socket.io-client 4.8.4 line by line.
var recoveryJS = filepath.Join(testdataDir, "recovery.js")

// nodeLine is one line recovery.js printed.
type nodeLine struct {
	Type      string            `json:"type"`
	ID        string            `json:"id"`
	Recovered bool              `json:"recovered"`
	Transport string            `json:"transport"`
	Event     string            `json:"event"`
	Args      []json.RawMessage `json:"args"`
	Reason    string            `json:"reason"`
	Message   string            `json:"message"`
	Error     string            `json:"error"`
}

// nodeClient is one running recovery.js.
type nodeClient struct {
	t      *testing.T
	stdin  io.WriteCloser
	lines  chan nodeLine
	seen   []string // every line, for failure reports
	stderr bytes.Buffer
}

func startNodeClient(t *testing.T, url, transports, auth string) *nodeClient {
	t.Helper()
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), nodeDeadline)
	cmd := exec.CommandContext(ctx, node, recoveryJS, "--url", url, "--transports", transports,
		"--auth", auth, "--timeout", fmt.Sprint(nodeTimeout.Milliseconds()))
	cmd.WaitDelay = 2 * time.Second
	nc := &nodeClient{t: t, lines: make(chan nodeLine, 256)}
	cmd.Stderr = &nc.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	nc.stdin = stdin
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(nc.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l nodeLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = nodeLine{Type: "error", Error: fmt.Sprintf("not a JSON line: %q", sc.Text())}
			}
			nc.lines <- l
		}
	}()
	t.Cleanup(func() {
		_, _ = io.WriteString(stdin, "quit\n")
		_ = stdin.Close()
		for range nc.lines { // drain, so the reader ends
		}
		<-readerDone
		if err := cmd.Wait(); err != nil && !t.Failed() {
			t.Errorf("recovery.js: %v\nstderr:\n%s", err, nc.stderr.String())
		}
		cancel()
	})
	return nc
}

func (nc *nodeClient) send(cmd string) {
	nc.t.Helper()
	if _, err := io.WriteString(nc.stdin, cmd+"\n"); err != nil {
		nc.t.Fatalf("telling node %q: %v", cmd, err)
	}
}

// next returns the next line of type typ, failing on any other line and
// after nodeTimeout.
func (nc *nodeClient) next(typ string) nodeLine {
	nc.t.Helper()
	return nc.nextOf(typ)
}

// nextOf returns the next line, which must be of one of types, failing
// otherwise and after nodeTimeout.
func (nc *nodeClient) nextOf(types ...string) nodeLine {
	nc.t.Helper()
	typ := strings.Join(types, " or ")
	timeout := time.After(nodeTimeout)
	for {
		select {
		case l, ok := <-nc.lines:
			if !ok {
				nc.t.Fatalf("node ended while we waited for %q; it printed:\n%s\nstderr:\n%s", typ, strings.Join(nc.seen, "\n"), nc.stderr.String())
			}
			b, _ := json.Marshal(l)
			nc.seen = append(nc.seen, string(b))
			if l.Type == "error" || !contains(types, l.Type) {
				nc.t.Fatalf("node printed %s while we waited for %q; it printed:\n%s", b, typ, strings.Join(nc.seen, "\n"))
			}
			return l
		case <-timeout:
			nc.t.Fatalf("no %q from node within %v; it printed:\n%s", typ, nodeTimeout, strings.Join(nc.seen, "\n"))
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

// seqEvent reads the next event, which must be "n" with the arguments
// [seq, offset] the test published (seq as a number, its offset as a
// string), and returns seq.
func (nc *nodeClient) seqEvent() uint64 {
	nc.t.Helper()
	l := nc.next("event")
	if l.Event != "n" || len(l.Args) != 2 {
		nc.t.Fatalf("event %s %s, want n with a seq and its offset", l.Event, l.Args)
	}
	var seq uint64
	var offset string
	if json.Unmarshal(l.Args[0], &seq) != nil || json.Unmarshal(l.Args[1], &offset) != nil || offset != strconv.FormatUint(seq, 10) {
		nc.t.Fatalf("event n %s: want [seq, \"seq\"]", l.Args)
	}
	return seq
}

// TestRecoveryWithSocketIOClient: the real socket.io-client 4.8.4, which
// resumes with its pid and last offset on its own, sees
// socket.recovered and exactly the events it missed, in order, without
// duplicates, though live events keep coming during the replay; with an
// unknown pid it sees recovered false and nothing of what it missed.
func TestRecoveryWithSocketIOClient(t *testing.T) {
	for _, transports := range []string{"websocket", "polling"} {
		t.Run("over "+transports+" the client recovers every missed event once, in order", func(t *testing.T) {
			srv, rec, url := recoveryServer(t, socketio.Config{})
			ns := srv.Of("/")
			nc := startNodeClient(t, url, transports, `{"user":"ann"}`)
			if c := nc.next("connect"); c.Recovered {
				t.Fatalf("first connect: recovered = true")
			}
			var got []uint64
			for i := range 3 {
				rec.publish(t, "user:ann", "n", i+1)
				got = append(got, nc.seqEvent())
			}
			nc.send("drop")
			nc.next("disconnect")
			waitUntil(t, "the server to see the client gone", func() bool { return ns.Len() == 0 })
			for i := range 3 {
				rec.publish(t, "user:ann", "n", 4+i) // missed
			}
			rec.publish(t, "user:bob", "n", "not ann's")

			gate := make(chan struct{})
			rec.mu.Lock()
			rec.gate = gate
			rec.mu.Unlock()
			nc.send("reconnect")
			c := nc.next("connect")
			if !c.Recovered {
				t.Fatalf("reconnect: socket.recovered = false, want true")
			}
			recv(t, rec.paused, "the replay to pause")
			rec.publish(t, "user:ann", "n", 8) // live while the replay waits
			rec.publish(t, "user:ann", "n", 9)
			close(gate)
			for len(got) < 8 { // 4, 5, 6 replayed; 7 is bob's; 8, 9 held
				got = append(got, nc.seqEvent())
			}
			rec.publish(t, "user:ann", "n", 10)
			got = append(got, nc.seqEvent())
			want := []uint64{1, 2, 3, 4, 5, 6, 8, 9, 10}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("the client got seqs %v, want %v", got, want)
			}
			socks := ns.Sockets()
			if len(socks) != 1 || socks[0].ID() != c.ID || !socks[0].Recovered() {
				t.Errorf("server sockets %v, want %s recovered", socks, c.ID)
			}
		})
	}

	t.Run("past the hold bound the connection closes and the client resumes with nothing lost", func(t *testing.T) {
		srv, rec, url := recoveryServer(t, socketio.Config{RecoveryHold: 2})
		ns := srv.Of("/")
		nc := startNodeClient(t, url, "websocket", `{"user":"ann"}`)
		nc.next("connect")
		rec.publish(t, "user:ann", "n", 1)
		got := []uint64{nc.seqEvent()}
		nc.send("drop")
		nc.next("disconnect")
		waitUntil(t, "the server to see the client gone", func() bool { return ns.Len() == 0 })
		rec.publish(t, "user:ann", "n", 2)
		rec.publish(t, "user:ann", "n", 3)

		gate := make(chan struct{})
		defer close(gate)
		rec.mu.Lock()
		rec.gate = gate
		rec.mu.Unlock()
		nc.send("reconnect")
		if c := nc.next("connect"); !c.Recovered {
			t.Fatal("reconnect: socket.recovered = false, want true")
		}
		recv(t, rec.paused, "the replay to pause")
		for i := range 3 { // the third passes the bound of 2
			rec.publish(t, "user:ann", "n", 4+i)
		}
		// The client may or may not have got the replayed 2 before the
		// cut; either way it resumes from what it got.
		for {
			l := nc.nextOf("disconnect", "event")
			if l.Type == "disconnect" {
				break
			}
			var seq uint64
			_ = json.Unmarshal(l.Args[0], &seq)
			got = append(got, seq)
		}
		waitUntil(t, "the server to see the client gone", func() bool { return ns.Len() == 0 })
		rec.mu.Lock()
		rec.gate = nil
		rec.mu.Unlock()
		nc.send("reconnect")
		if c := nc.next("connect"); !c.Recovered {
			t.Fatal("second reconnect: socket.recovered = false, want true")
		}
		for len(got) < 6 {
			got = append(got, nc.seqEvent())
		}
		if want := []uint64{1, 2, 3, 4, 5, 6}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the client got seqs %v, want %v", got, want)
		}
	})

	t.Run("an unknown pid connects afresh and replays nothing", func(t *testing.T) {
		srv, rec, url := recoveryServer(t, socketio.Config{})
		ns := srv.Of("/")
		nc := startNodeClient(t, url, "websocket", `{"user":"ann"}`)
		first := nc.next("connect")
		rec.publish(t, "user:ann", "n", 1)
		if seq := nc.seqEvent(); seq != 1 {
			t.Fatalf("got seq %d, want 1", seq)
		}
		nc.send("drop")
		nc.next("disconnect")
		waitUntil(t, "the server to see the client gone", func() bool { return ns.Len() == 0 })
		rec.publish(t, "user:ann", "n", 2)
		rec.forget()
		nc.send("reconnect")
		c := nc.next("connect")
		if c.Recovered || c.ID == first.ID {
			t.Fatalf("reconnect with a forgotten pid: recovered=%v id %s (first %s), want a fresh socket", c.Recovered, c.ID, first.ID)
		}
		rec.publish(t, "user:ann", "n", 3)
		if seq := nc.seqEvent(); seq != 3 {
			t.Errorf("got seq %d after a refused resume, want 3 (2 was missed, not replayed)", seq)
		}
	})

	t.Run("without Recovery events carry no offset and nothing recovers", func(t *testing.T) {
		srv, url := startRawServer(t, socketio.Config{})
		ns := srv.Of("/")
		nc := startNodeClient(t, url, "websocket", `{"user":"ann"}`)
		nc.next("connect")
		d, _ := socketio.Args(1)
		ns.EmitOffset("n", d, 1)
		if l := nc.next("event"); l.Event != "n" || len(l.Args) != 1 || string(l.Args[0]) != "1" {
			t.Fatalf("event %s %s, want n [1]", l.Event, l.Args)
		}
		nc.send("drop")
		nc.next("disconnect")
		nc.send("reconnect")
		if c := nc.next("connect"); c.Recovered {
			t.Errorf("reconnect without Recovery: recovered = true")
		}
	})
}
