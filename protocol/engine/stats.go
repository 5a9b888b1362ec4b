package engine

import "sync/atomic"

type counters struct {
	opened     atomic.Uint64
	slowClosed atomic.Uint64
	slowHeld   atomic.Uint64 // the largest queue, in bytes, a session held when closed for slow
	dropped    atomic.Uint64
	tooLarge   atomic.Uint64
	refusedMax atomic.Uint64
	refusedIP  atomic.Uint64
	writes     atomic.Uint64
	frames     atomic.Uint64
}

// Stats are a Server's counters since it started.
type Stats struct {
	Open       int    // sessions open now
	Opened     uint64 // sessions opened
	SlowClosed uint64 // sessions closed for a full queue
	// SlowHeldBytes is the largest queue, in payload bytes, that a session
	// held when it was closed for a full queue: what one stalled client
	// cost at the bound (at most MaxQueueBytes).
	SlowHeldBytes uint64
	Dropped       uint64 // messages dropped by SlowDropOldest
	TooLarge      uint64 // sends refused because the message alone is larger than MaxQueueBytes
	RefusedMax    uint64 // handshakes refused for MaxConnections
	RefusedPerIP  uint64 // handshakes refused for MaxConnectionsPerIP
	Writes        uint64 // websocket writes (each carries one or more messages)
	Frames        uint64 // messages written over websocket
}

// Stats returns the server's counters.
func (srv *Server) Stats() Stats {
	return Stats{
		Open:          srv.Count(),
		Opened:        srv.stats.opened.Load(),
		SlowClosed:    srv.stats.slowClosed.Load(),
		SlowHeldBytes: srv.stats.slowHeld.Load(),
		Dropped:       srv.stats.dropped.Load(),
		TooLarge:      srv.stats.tooLarge.Load(),
		RefusedMax:    srv.stats.refusedMax.Load(),
		RefusedPerIP:  srv.stats.refusedIP.Load(),
		Writes:        srv.stats.writes.Load(),
		Frames:        srv.stats.frames.Load(),
	}
}

// atomicMax raises v to n if n is larger.
func atomicMax(v *atomic.Uint64, n uint64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}
