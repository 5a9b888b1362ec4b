package main

// Scale-out: several `natsock serve` processes, each on a different member
// of one NATS cluster (three in-process servers with routes on loopback
// and clustered JetStream). Every node subscribes on its own (no queue
// group) and fans out to its own sockets; a client's emit is published by
// its node alone. The nodes are processes, so that killing one is what a
// crash is.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge/bridgetest"
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
		testClusterFanOutAndNATSKill(t, bin)
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

// streamResult is cluster.js's final line.
type streamResult struct {
	OK       bool    `json:"ok"`
	Error    string  `json:"error"`
	Seqs     []int64 `json:"seqs"`
	Connects []struct {
		ID        string `json:"id"`
		Recovered bool   `json:"recovered"`
	} `json:"connects"`
	Disconnects []string `json:"disconnects"`
	Foreign     int      `json:"foreign"`
	LastOffset  *string  `json:"lastOffset"`
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
// its client as before; the other nodes' clients miss nothing. What was
// published while node 0 had no NATS connection may be lost to its client
// (core NATS keeps nothing for an absent subscriber); the log says how
// much was.
func testClusterFanOutAndNATSKill(t *testing.T, bin string) {
	const (
		before = 100 // published before the kill
		during = 50  // published right after it, while node 0 may still be away
		after  = 150 // published once node 0 is back
		last   = before + during + after - 1
	)
	cluster := bridgetest.StartCluster(t, 3)
	var nodes []*clusterNode
	for i := range 3 {
		n := startNode(t, bin, cluster.URL(i), "--map", "load=load", "--inbound", "say=chat.said")
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

	publishRange(t, nc, 0, before)
	for i, c := range clients {
		waitGot(t, c, before, fmt.Sprintf("client of node %d receiving the first %d messages", i, before))
	}

	cluster.Kill(0)
	publishRange(t, nc, before, before+during)
	url := nodes[0].waitLog(natsReconnectedLog)[1]
	if url == cluster.URL(0) {
		t.Fatalf("node 0 reconnected to the server that was killed, %s", url)
	}
	// Ready means the subscriptions are registered on the new server;
	// servers 1 and 2 already route "load" (nodes 1 and 2 subscribe), so
	// what is published from now on reaches node 0.
	nodes[0].waitReady()
	publishRange(t, nc, before+during, last+1)

	for i, c := range clients {
		r := finalStream(t, c)
		all := func(int64) bool { return true }
		if i == 0 {
			all = func(s int64) bool { return s < before || s >= before+during }
		}
		dups, missing, inOrder := tally(r.Seqs, all, last)
		if dups != 0 || len(missing) != 0 || !inOrder || r.Foreign != 0 {
			t.Errorf("client of node %d: %d events, %d duplicated, missing %v, in order %v, %d foreign",
				i, len(r.Seqs), dups, missing, inOrder, r.Foreign)
		}
		if len(r.Connects) != 1 {
			t.Errorf("client of node %d connected %d times, want once (a NATS outage leaves the sockets connected)", i, len(r.Connects))
		}
		if i == 0 {
			_, lost, _ := tally(r.Seqs, func(s int64) bool { return s >= before && s < before+during }, last)
			t.Logf("NATS server 0 killed: node 0 reconnected to %s; of %d messages published right after the kill, its client got %d (core NATS keeps nothing for an absent subscriber); %d before and %d after, each once, in order",
				url, during, during-len(lost), before, after)
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
