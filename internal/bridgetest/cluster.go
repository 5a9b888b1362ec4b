package bridgetest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
)

// Cluster is a NATS cluster of in-process servers on loopback: client and
// cluster ports chosen by the kernel, routes between every pair, and
// JetStream clustered over all of them (a stream may have up to
// len(Servers) replicas), each server storing under its own temporary
// directory.
type Cluster struct {
	t       testing.TB
	Name    string
	Servers []*server.Server

	mu   sync.Mutex
	down map[int]bool
}

// clusterBound bounds the cluster's start: routes, then a JetStream meta
// leader. Election takes a few seconds; a slow shared machine more.
const clusterBound = 30 * time.Second

// StartCluster starts an n-server NATS cluster (n >= 1; one server is a
// plain JetStream server, with no cluster) and waits until every server
// routes to every other and JetStream is healthy on each.
// The servers still running are shut down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("bridgetest: a cluster of %d servers", n)
	}
	c := &Cluster{t: t, Name: "natsock-test", down: map[int]bool{}}
	// A clustered JetStream server must be given its routes when it
	// starts, so the cluster ports are chosen first: free ones the
	// kernel gives, released just before the servers take them.
	var (
		routes []*url.URL
		ports  []int
		lns    []net.Listener
	)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("bridgetest: a cluster port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		routes = append(routes, &url.URL{Scheme: "nats", Host: ln.Addr().String()})
	}
	for _, ln := range lns {
		ln.Close()
	}
	for i := range n {
		opts := natstest.DefaultTestOptions
		opts.Port = -1
		opts.ServerName = fmt.Sprintf("n%d", i+1)
		opts.JetStream = true
		opts.StoreDir = t.TempDir()
		if n > 1 {
			opts.Cluster.Name = c.Name
			opts.Cluster.Host = "127.0.0.1"
			opts.Cluster.Port = ports[i]
			opts.Routes = routes // its own is recognised and skipped
		}
		s := natstest.RunServer(&opts)
		c.Servers = append(c.Servers, s)
		t.Cleanup(s.Shutdown)
	}
	err := Poll(clusterBound, func() bool {
		for _, s := range c.Servers {
			if s.NumRoutes() < n-1 {
				return false
			}
		}
		for _, s := range c.Servers {
			if st := s.Healthz(&server.HealthzOptions{}); st == nil || st.Status != "ok" {
				return false
			}
		}
		return true
	})
	if err != nil {
		var states []string
		for _, s := range c.Servers {
			st := s.Healthz(&server.HealthzOptions{})
			states = append(states, fmt.Sprintf("%s: %d routes, health %+v", s.Name(), s.NumRoutes(), st))
		}
		t.Fatalf("bridgetest: the %d-server NATS cluster did not form within %v:\n%s", n, clusterBound, strings.Join(states, "\n"))
	}
	return c
}

// URL is server i's client URL.
func (c *Cluster) URL(i int) string { return c.Servers[i].ClientURL() }

// URLs is every server's client URL, comma-separated, as --nats-url takes
// them.
func (c *Cluster) URLs() string {
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.ClientURL())
	}
	return strings.Join(urls, ",")
}

// Kill shuts server i down at once: its clients lose their connection and
// must reconnect to another member.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	c.down[i] = true
	c.mu.Unlock()
	c.Servers[i].Shutdown()
	c.Servers[i].WaitForShutdown()
}

// Live returns the indexes of the servers not killed.
func (c *Cluster) Live() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []int
	for i := range c.Servers {
		if !c.down[i] {
			live = append(live, i)
		}
	}
	return live
}
