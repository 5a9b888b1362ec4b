package engine

import "sync/atomic"

type counters struct {
	opened     atomic.Uint64
	slowClosed atomic.Uint64
	dropped    atomic.Uint64
	writes     atomic.Uint64
	frames     atomic.Uint64
}

// Stats are a Server's counters since it started.
type Stats struct {
	Open       int    // sessions open now
	Opened     uint64 // sessions opened
	SlowClosed uint64 // sessions closed for a full queue
	Dropped    uint64 // messages dropped by SlowDropOldest
	Writes     uint64 // websocket writes (each carries one or more messages)
	Frames     uint64 // messages written over websocket
}

// Stats returns the server's counters.
func (srv *Server) Stats() Stats {
	return Stats{
		Open:       srv.Count(),
		Opened:     srv.stats.opened.Load(),
		SlowClosed: srv.stats.slowClosed.Load(),
		Dropped:    srv.stats.dropped.Load(),
		Writes:     srv.stats.writes.Load(),
		Frames:     srv.stats.frames.Load(),
	}
}
