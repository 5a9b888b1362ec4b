package bench

import "syscall"

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT (since 4.2).
const ipBindAddressNoPort = 24

// bindAddressNoPort lets a socket bound to a source address take its port
// at connect time, unique per destination, so one address reaches more
// than one port range's worth of servers and reuses TIME_WAIT ports as an
// unbound socket does.
func bindAddressNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
