package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// dialer opens the clients' TCP connections, from the source addresses in
// turn.
type dialer struct {
	addr    string // the server's host:port
	dialers []net.Dialer
}

func newDialer(addr string, sources []netip.Addr) *dialer {
	d := &dialer{addr: addr}
	if len(sources) == 0 {
		d.dialers = []net.Dialer{{}}
		return d
	}
	for _, ip := range sources {
		d.dialers = append(d.dialers, net.Dialer{
			LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)),
			// Choose the port at connect time, per destination, rather
			// than reserve one per address at bind time.
			Control: bindAddressNoPort,
		})
	}
	return d
}

// dial connects client i to the server.
func (d *dialer) dial(ctx context.Context, i int) (net.Conn, error) {
	nd := &d.dialers[i%len(d.dialers)]
	conn, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EADDRINUSE) {
			src := "the kernel's choice"
			if nd.LocalAddr != nil {
				src = nd.LocalAddr.String()
			}
			return nil, fmt.Errorf("%w (out of local ports from %s: add source addresses with --source-ips)", err, src)
		}
		return nil, err
	}
	return conn, nil
}

// netDial is dial in the shape gobwas/ws's Dialer takes.
func (d *dialer) netDial(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) { return d.dial(ctx, i) }
}
