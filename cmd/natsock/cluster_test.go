package main

// Scale-out: several `natsock serve` processes, each on a different member
// of one NATS cluster (three in-process servers with routes on loopback
// and clustered JetStream). Every node subscribes on its own (no queue
// group) and fans out to its own sockets; a client's emit is published by
// its node alone. The nodes are processes, so that killing one is what a
// crash is.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsock/natsock/bench"
	"github.com/natsock/natsock/internal/bridgetest"
)

// clusterBound bounds each wait of the cluster tests (a node or client
// getting ready, a reconnect, the stream reaching a client).
const clusterBound = 30 * time.Second

// TestCluster runs the scale-out scenarios on their own build of the
// binary (cached: only the link is new), beside TestNatsock.
func TestCluster(t *testing.T) {
	t.Parallel()
	bridgetest.RequireNode(t)
	bin := buildNatsock(t)
	t.Run("three nodes on three NATS servers: each client gets every message once, each emit is published once, and a node whose NATS server dies carries on through another", func(t *testing.T) {
		t.Parallel()
		testClusterFanOutAndNATSKill(t, bin, false)
	})
	t.Run("the same with recovery: the node whose NATS server dies resumes the stream, and its client misses nothing", func(t *testing.T) {
		t.Parallel()
		testClusterFanOutAndNATSKill(t, bin, true)
	})
	t.Run("a natsock node is SIGKILLed mid-stream: its client resumes on another node with every message once, in order, recovered", func(t *testing.T) {
		t.Parallel()
		testClusterNodeKill(t, bin, false)
	})
	t.Run("the same for a server-sent events client: it resumes on another node from its Last-Event-ID", func(t *testing.T) {
		t.Parallel()
		testClusterNodeKill(t, bin, true)
	})
	t.Run("natsock bench --scenario storm: node A is SIGKILLed and node B recovers every client, nothing lost", func(t *testing.T) {
		t.Parallel()
		testClusterStorm(t, bin)
	})
}

// clusterNode is one `natsock serve` on a cluster member.
type clusterNode struct {
	*serveProc
	url string // its socket.io base URL
}

// startNode runs natsock serve against natsURL and waits until it is
// ready.
func startNode(t *testing.T, bin, natsURL string, args ...string) *clusterNode {
	t.Helper()
	p := startServe(t, bin, append([]string{"--nats-url", natsURL}, args...)...)
	n := &clusterNode{serveProc: p, url: "http://" + p.waitLog(addrLog)[1]}
	n.waitReady()
	return n
}

// waitReady waits until the node's /readyz answers 200: NATS connected
// and every subscription registered on the server.
func (n *clusterNode) waitReady() {
	n.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	bridgetest.Eventually(n.t, clusterBound, "natsock node's /readyz answering 200", func() bool {
		resp, err := client.Get(n.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

var (
	natsConnectedLog   = regexp.MustCompile(`msg="NATS connected" url=(nats://\S+)`)
	natsReconnectedLog = regexp.MustCompile(`msg="NATS reconnected; subscriptions resumed" url=(nats://\S+)`)
)

// streamClient is testdata/cluster.js: one socket.io-client 4.8.4 counting
// the numbered "load" events.
func streamClient(t *testing.T, url string, last int, args ...string) *bridgetest.Client {
	t.Helper()
	return bridgetest.Start(t, "cluster.js", append([]string{"--url", url, "--event", "load",
		"--last", strconv.Itoa(last), "--timeout", strconv.Itoa(int(clusterBound / time.Millisecond)),
		"--progress", "true"}, args...)...)
}

// sseClient is testdata/cluster-sse.js: a server-sent events reader with
// EventSource's semantics counting the numbered "load" events.
func sseClient(t *testing.T, url string, last int) *bridgetest.Client {
	t.Helper()
	return bridgetest.Start(t, "cluster-sse.js", "--url", url, "--event", "load",
		"--last", strconv.Itoa(last), "--timeout", strconv.Itoa(int(clusterBound/time.Millisecond)),
		"--progress", "true")
}

// streamResult is cluster.js's and cluster-sse.js's final line.
type streamResult struct {
	OK       bool    `json:"ok"`
	Error    string  `json:"error"`
	Seqs     []int64 `json:"seqs"`
	Connects []struct {
		ID        string `json:"id"`
		Recovered bool   `json:"recovered"`
		// cluster-sse.js's: the HTTP status, and the Last-Event-ID the
		// stream was opened with.
		Status      int     `json:"status"`
		LastEventID *string `json:"lastEventId"`
	} `json:"connects"`
	Resets      []json.RawMessage `json:"resets"` // cluster-sse.js: natsock:reset events
	Disconnects []string          `json:"disconnects"`
	Foreign     int               `json:"foreign"`
	LastOffset  *string           `json:"lastOffset"`
}

func finalStream(t *testing.T, c *bridgetest.Client) streamResult {
	t.Helper()
	r := c.Result(clusterBound + 5*time.Second)
	var s streamResult
	if err := json.Unmarshal([]byte(r.Raw), &s); err != nil {
		t.Fatalf("cluster.js's final line %q: %v", r.Raw, err)
	}
	if !s.OK {
		t.Fatalf("cluster.js failed: %s\n%s", s.Error, c.Output())
	}
	return s
}

// waitGot waits until c has received n events.
func waitGot(t *testing.T, c *bridgetest.Client, n int64, what string) {
	t.Helper()
	c.WaitLine(clusterBound, what, func(l map[string]json.RawMessage) bool { return bridgetest.Int(l, "got") >= n })
}

// tally checks a stream of sequence numbers: strictly increasing means in
// order with no duplicate. It returns the duplicates and the numbers of
// want that are missing.
func tally(seqs []int64, want func(int64) bool, upTo int64) (dups int, missing []int64, inOrder bool) {
	seen := map[int64]bool{}
	inOrder = true
	for i, s := range seqs {
		if seen[s] {
			dups++
		}
		seen[s] = true
		if i > 0 && s <= seqs[i-1] {
			inOrder = false
		}
	}
	for s := int64(0); s <= upTo; s++ {
		if want(s) && !seen[s] {
			missing = append(missing, s)
		}
	}
	return dups, missing, inOrder
}

// publishRange publishes "load" messages from..to-1 (the body is the
// number) and flushes.
func publishRange(t *testing.T, nc *nats.Conn, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		if err := nc.Publish("load", strconv.AppendInt(nil, int64(n), 10)); err != nil {
			t.Fatalf("publishing load %d: %v", n, err)
		}
	}
	if err := nc.FlushTimeout(clusterBound); err != nil {
		t.Fatal(err)
	}
}

// testClusterFanOutAndNATSKill: three nodes, node i on NATS server i, each
// with one client. Every client gets each message once, in order; each
// client's emit is published once. Then NATS server 0 dies: node 0
// reconnects to another member (learned from the cluster, since it was
// given only server 0's URL), and what is published from then on reaches
// its client as before; the other nodes' clients miss nothing.
//
// What was published while node 0 had no NATS connection: without
// recovery it may be lost to node 0's client (core NATS keeps nothing for
// an absent subscriber; the log says how much was). With recovery the
// node reads the stream (three replicas) through an ordered consumer,
// which resumes after the reconnect from the sequence after the last it
// delivered: node 0's client gets everything too. The stream answers no
// publish (natsock makes it NoAck), so a core publish made while it elects
// a new leader would be stored by no one: the test moves the stream's
// leadership off server 0 before killing it, as an operator drains a
// server before taking it down.
func testClusterFanOutAndNATSKill(t *testing.T, bin string, recovery bool) {
	const (
		before = 100 // published before the kill
		during = 50  // published right after it, while node 0 may still be away
		after  = 150 // published once node 0 is back
		last   = before + during + after - 1
	)
	cluster := bridgetest.StartCluster(t, 3)
	args := []string{"--map", "load=load", "--inbound", "say=chat.said"}
	if recovery {
		args = append(args, "--recovery", "--recovery-stream", "NATSOCK_CLUSTER_TEST", "--recovery-replicas", "3")
	}
	var nodes []*clusterNode
	for i := range 3 {
		n := startNode(t, bin, cluster.URL(i), args...)
		if got := n.waitLog(natsConnectedLog)[1]; got != cluster.URL(i) {
			t.Fatalf("node %d connected to %s, want %s", i, got, cluster.URL(i))
		}
		nodes = append(nodes, n)
	}
	// The test's own connection is on server 2, which lives throughout.
	nc, err := nats.Connect(cluster.URL(2), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var said atomic.Int64
	saidBy := make(chan string, 16)
	sub, err := nc.Subscribe("chat.said", func(m *nats.Msg) {
		said.Add(1)
		saidBy <- string(m.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.FlushTimeout(clusterBound); err != nil {
		t.Fatal(err)
	}
	// The subscription must reach every server before the clients emit.
	bridgetest.Eventually(t, clusterBound, "chat.said's interest on every server", func() bool {
		for _, s := range cluster.Servers {
			if !s.GlobalAccount().SubscriptionInterest("chat.said") {
				return false
			}
		}
		return true
	})

	var clients []*bridgetest.Client
	for i, n := range nodes {
		c := streamClient(t, n.url, last, "--emit", "say", "--data", fmt.Sprintf(`[{"from":%d}]`, i))
		c.WaitReady(clusterBound)
		clients = append(clients, c)
	}
	bridgetest.Eventually(t, clusterBound, "each client's emit on NATS", func() bool { return said.Load() >= 3 })

	publish := func(from, to int) { publishRange(t, nc, from, to) }
	publish(0, before)
	for i, c := range clients {
		waitGot(t, c, before, fmt.Sprintf("client of node %d receiving the first %d messages", i, before))
	}

	if recovery {
		moveStreamLeader(t, nc, "NATSOCK_CLUSTER_TEST", cluster.Servers[0].Name())
	}
	cluster.Kill(0)
	publish(before, before+during)
	url := nodes[0].waitLog(natsReconnectedLog)[1]
	if url == cluster.URL(0) {
		t.Fatalf("node 0 reconnected to the server that was killed, %s", url)
	}
	// Ready means the subscriptions are registered on the new server;
	// servers 1 and 2 already route "load" (nodes 1 and 2 subscribe), so
	// what is published from now on reaches node 0.
	nodes[0].waitReady()
	publish(before+during, last+1)

	for i, c := range clients {
		r := finalStream(t, c)
		all := func(int64) bool { return true }
		if i == 0 && !recovery {
			all = func(s int64) bool { return s < before || s >= before+during }
		}
		dups, missing, inOrder := tally(r.Seqs, all, last)
		if dups != 0 || len(missing) != 0 || !inOrder || r.Foreign != 0 {
			t.Errorf("client of node %d: %d events, %d duplicated, missing %v, in order %v, %d foreign",
				i, len(r.Seqs), dups, missing, inOrder, r.Foreign)
		}
		if len(r.Connects) != 1 {
			t.Log(c.Output())
			t.Errorf("client of node %d connected %d times (disconnects %q), want once (a NATS outage leaves the sockets connected)", i, len(r.Connects), r.Disconnects)
		}
		if i == 0 {
			_, lost, _ := tally(r.Seqs, func(s int64) bool { return s >= before && s < before+during }, last)
			t.Logf("NATS server 0 killed (recovery %v): node 0 reconnected to %s; of %d messages published right after the kill, its client got %d; %d before and %d after, each once, in order",
				recovery, url, during, during-len(lost), before, after)
		}
	}
	if n := said.Load(); n != 3 {
		t.Errorf("3 clients emitted once each; chat.said got %d messages", n)
	}
	from := map[string]bool{}
	for range 3 {
		from[<-saidBy] = true
	}
	for i := range 3 {
		if w := fmt.Sprintf(`{"from":%d}`, i); !from[w] {
			t.Errorf("chat.said never got %s; got %v", w, from)
		}
	}
}

// moveStreamLeader makes sure the stream's leader is not the server
// named from, asking the leader to step down while it is.
func moveStreamLeader(t *testing.T, nc *nats.Conn, stream, from string) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	leader := ""
	bridgetest.Eventually(t, clusterBound, "stream "+stream+" led by a server other than "+from, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
			return false
		}
		if leader = info.Cluster.Leader; leader != from {
			return true
		}
		_, _ = nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil, 2*time.Second)
		return false
	})
	t.Logf("stream %s is led by %s", stream, leader)
}

// testClusterNodeKill: two nodes with recovery on, A and B, on different
// members of the cluster, behind a load balancer (failoverProxy) that
// sends every connection to A while A lives. A client on A counts a
// stream published every 2ms; A is SIGKILLed mid-stream. While the client
// has no node (the proxy holds its reconnects) at least 50 more messages
// go out; then the proxy lets it through to B, where it resumes with its
// {pid, offset}. It must get every message exactly once, in order, and
// socket.recovered must be true. With sse, the client is a server-sent
// events reader instead, which resumes with its Last-Event-ID.
func testClusterNodeKill(t *testing.T, bin string, sse bool) {
	const (
		total      = 600 // messages published, one every 2ms
		beforeKill = 100 // the client has these when A is killed
		outage     = 50  // published while the client has no node, at least
	)
	cluster := bridgetest.StartCluster(t, 3)
	recovery := []string{"--map", "load=load", "--recovery", "--recovery-stream", "NATSOCK_CLUSTER_TEST",
		"--recovery-window", "1m"}
	a := startNode(t, bin, cluster.URL(0), recovery...)
	b := startNode(t, bin, cluster.URL(1), recovery...)
	proxy := startProxy(t, strings.TrimPrefix(a.url, "http://"), strings.TrimPrefix(b.url, "http://"))

	var client *bridgetest.Client
	if sse {
		client = sseClient(t, proxy.URL(), total-1)
	} else {
		client = streamClient(t, proxy.URL(), total-1)
	}
	client.WaitReady(clusterBound)

	nc, err := nats.Connect(cluster.URL(2), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var published atomic.Int64
	pubErr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for n := range total {
			<-tick.C
			if err := nc.Publish("load", strconv.AppendInt(nil, int64(n), 10)); err != nil {
				pubErr <- err
				return
			}
			if err := nc.Flush(); err != nil {
				pubErr <- err
				return
			}
			published.Add(1)
		}
		pubErr <- nil
	}()

	waitGot(t, client, beforeKill, "the client on node A receiving the stream")
	proxy.hold()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.waitExit(clusterBound)
	atKill := published.Load()
	bridgetest.Eventually(t, clusterBound, "messages published while the client has no node", func() bool {
		return published.Load() >= min(atKill+outage, total)
	})
	atRelease := published.Load()
	proxy.release()
	client.WaitLine(clusterBound, "the client connecting again, through the proxy to node B", func(l map[string]json.RawMessage) bool {
		return bridgetest.Int(l, "connect") == 2
	})
	atReconnect := published.Load()
	if err := <-pubErr; err != nil {
		t.Fatalf("publishing: %v", err)
	}

	r := finalStream(t, client)
	dups, missing, inOrder := tally(r.Seqs, func(int64) bool { return true }, total-1)
	kind := "socket.io client"
	if sse {
		kind = "SSE client"
	}
	t.Logf("%s: node A SIGKILLed after %d published; %d published before the client could reach node B and %d before it reconnected; %d published in all; the client received %d, %d duplicated, %d lost, in order %v, connects %+v",
		kind, atKill, atRelease-atKill, atReconnect-atKill, total, len(r.Seqs), dups, len(missing), inOrder, r.Connects)
	if dups != 0 || len(missing) != 0 || !inOrder || r.Foreign != 0 {
		t.Errorf("across the kill the %s got %d events: %d duplicated, missing %v, in order %v, %d foreign; want each of 0..%d once, in order",
			kind, len(r.Seqs), dups, missing, inOrder, r.Foreign, total-1)
	}
	switch {
	case sse:
		if len(r.Connects) != 2 || r.Connects[1].Status != http.StatusOK || r.Connects[1].LastEventID == nil || len(r.Resets) != 0 {
			t.Errorf("the SSE client opened %+v and was reset %d times (%s); want two streams, the second resumed with a Last-Event-ID, no reset",
				r.Connects, len(r.Resets), r.Resets)
		}
	default:
		if len(r.Connects) != 2 || !r.Connects[1].Recovered {
			t.Errorf("the client connected %+v; want twice, the second time with socket.recovered true", r.Connects)
		}
		if r.LastOffset == nil {
			t.Error("the client holds no offset: the events carried none")
		}
	}
}

// testClusterStorm runs `natsock bench --scenario storm` small: 300
// clients on node A, which the bench SIGKILLs while it publishes 500
// messages a second; every client must be recovered by node B with
// nothing lost or duplicated. So many resumes at that rate are what
// finds a gap between a socket's replay and the live events it is held
// for (a message broadcast just before the socket joined, and not yet in
// what the replay reads, was lost that way).
func testClusterStorm(t *testing.T, bin string) {
	const (
		clients  = 300
		messages = 1500
	)
	cluster := bridgetest.StartCluster(t, 1)
	recovery := []string{"--map", "tasks.assigned=newTaskAssigned", "--recovery", "--recovery-stream", "NATSOCK_STORM_TEST"}
	a := startNode(t, bin, cluster.URL(0), recovery...)
	b := startNode(t, bin, cluster.URL(0), recovery...)
	ctx, cancel := context.WithTimeout(context.Background(), clusterBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--scenario", "storm", "--json", "--no-progress",
		"--url", a.url, "--pid", strconv.Itoa(a.cmd.Process.Pid), "--failover-url", b.url,
		"--nats-url", cluster.URL(0), "--clients", strconv.Itoa(clients),
		"--rate", "500", "--messages", strconv.Itoa(messages), "--kill-after", "1s", "--reconnect-delay", "100ms",
		"--timeout", "25s")
	cmd.Env = cleanEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("natsock bench --scenario storm: %v\n%s\n%s", err, out, stderr.String())
	}
	if code := a.waitExit(clusterBound); code != -1 {
		t.Errorf("node A exited with %d, want it killed by SIGKILL", code)
	}
	var res bench.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("natsock bench --json printed %q: %v", out, err)
	}
	st := res.Storm
	if st == nil {
		t.Fatalf("a storm run's result has no storm section: %s", out)
	}
	t.Logf("storm of %d clients: %d published (%d before the kill, %d until the last resume); recovered %d in p50 %v, all %v; lost %d, duplicated %d",
		clients, res.Published, st.PublishedBeforeKill, st.PublishedDuringOutage, st.Recovered, st.RecoverP50, st.RecoverMax, res.Lost, res.Duplicates)
	if st.Recovered != clients || st.CaughtUp != clients || res.Lost != 0 || res.Duplicates != 0 || res.Published != messages {
		t.Errorf("the storm: %d of %d clients recovered, %d caught up, %d frames lost, %d duplicated, %d published of %d; want all recovered and caught up, nothing lost or twice\n%s",
			st.Recovered, clients, st.CaughtUp, res.Lost, res.Duplicates, res.Published, messages, strings.Join(st.LossExamples, "\n"))
	}
}
