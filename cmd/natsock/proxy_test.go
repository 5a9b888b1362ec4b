package main

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// failoverProxy is a TCP load balancer in front of natsock nodes, as small
// as one can be: each connection it accepts goes to the first node, in
// order, that accepts a TCP connection, and lives as long as both ends do.
// A killed node refuses connections, so new ones go to the next: what a
// load balancer's health check achieves. hold makes new connections wait
// (the clients' reconnects stall) until release, so that a test knows
// what was published while no node had the client.
type failoverProxy struct {
	t       *testing.T
	ln      net.Listener
	targets []string

	mu     sync.Mutex
	gate   chan struct{} // closed while connections go through
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// startProxy listens on a free loopback port for targets (host:port).
func startProxy(t *testing.T, targets ...string) *failoverProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &failoverProxy{t: t, ln: ln, targets: targets, gate: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	close(p.gate)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is the proxy's socket.io base URL.
func (p *failoverProxy) URL() string { return "http://" + p.ln.Addr().String() }

// hold makes new connections wait until release.
func (p *failoverProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default:
	}
}

// release lets held and new connections through.
func (p *failoverProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

func (p *failoverProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track adds c to the connections close ends, unless closing.
func (p *failoverProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *failoverProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// proxyBound bounds a held connection's wait and a dial to a node.
const proxyBound = 10 * time.Second

func (p *failoverProxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	defer client.Close()
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	select {
	case <-gate:
	case <-time.After(proxyBound):
		return
	}
	var node net.Conn
	for _, addr := range p.targets {
		c, err := net.DialTimeout("tcp", addr, proxyBound)
		if err == nil {
			node = c
			break
		}
	}
	if node == nil || !p.track(node) {
		if node != nil {
			node.Close()
		}
		return
	}
	defer p.untrack(node)
	defer node.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// One side ended: end both, as a load balancer does when a
		// node's connection breaks.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(node, client)
	go pipe(client, node)
	<-done
	<-done
}

// close stops accepting, ends every connection and waits for the
// goroutines.
func (p *failoverProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.release()
	p.ln.Close()
	p.wg.Wait()
}
