package bench

import (
	"sync/atomic"
	"time"
)

// client is what both transports' clients count. The reading goroutine
// owns every field but the atomics; the run reads the rest once that
// goroutine has ended.
type client struct {
	got    atomic.Uint64 // new messages of this run: read by the publisher's window and the progress bar
	ended  atomic.Bool   // the connection ended: the client expects no more
	frames uint64        // this run's event frames, duplicates included
	// foreign counts Socket.IO EVENT frames that were not this run's
	// messages (another event, another run's, or not a message at all).
	foreign uint64
	// user is the client's user in a targeted run (userID), 0 otherwise.
	user uint64
	// misdelivered counts this run's targeted messages for another user.
	misdelivered uint64
	// total, in a targeted run, counts every client's new messages.
	total *atomic.Int64
	last  int64 // when the last event frame arrived, on the run's clock
	hist  Histogram
	seq   seqTracker
	err   error // why the connection ended, unless the run closed it
	// em is what the client emits in an inbound or ack run, else nil.
	em *emitter
	// offset, in a storm run, keeps the offset the last event carried,
	// which the client resumes from (see stormClient); else nil.
	offset *[]byte
}

// packet kinds a client acts on.
type packetKind int

const (
	packetOther        packetKind = iota
	packetEvent                   // a Socket.IO EVENT
	packetPing                    // an Engine.IO ping: answer with a pong
	packetClose                   // the server closes the session or the socket
	packetConnect                 // the Socket.IO CONNECT answer: 40 or 40{...}
	packetConnectError            // the Socket.IO CONNECT_ERROR answer: 44{...}
	packetAck                     // a Socket.IO ACK: 43ID[...]
)

// setUp readies client i of the run for the messages it will count.
func (c *client) setUp(rs *runState, i int) {
	if isInbound(rs.cfg.Scenario) {
		c.user = userID(i)
		c.em = &emitter{msgPx: rs.msgPx}
		c.seq = newSeqTracker(min(rs.cfg.Messages, 4*rs.cfg.Window+64))
		return
	}
	if rs.cfg.Scenario != ScenarioTargeted {
		c.seq = newSeqTracker(rs.cfg.Messages)
		return
	}
	// A user's messages arrive in order on its own subject, so the
	// tracker needs to cover only a few times the user's expected share.
	c.user = userID(i)
	c.total = &rs.received
	share := rs.cfg.Messages / rs.cfg.Clients
	c.seq = newSeqTracker(min(rs.cfg.Messages, 4*share+64))
}

// event counts one Socket.IO EVENT: one of the run's messages (in a
// targeted run, only one for the client's own user), a message for
// another user, or a foreign frame.
func (c *client) event(p []byte, now int64, prefix []byte) {
	seq, ts, rest, ok := parseEventRest(p, prefix)
	if ok && c.user != 0 {
		var to uint64
		if to, ok = parseTarget(rest); ok && to != c.user {
			c.misdelivered++
			return
		}
	}
	if !ok {
		c.foreign++
		return
	}
	c.frames++
	if c.offset != nil {
		keepOffset(c.offset, p)
	}
	c.last = now
	c.hist.Record(time.Duration(now - ts))
	if c.seq.observe(seq) {
		c.got.Add(1)
		if c.total != nil {
			c.total.Add(1)
		}
	}
}

// packet handles one Engine.IO packet in text form (or its first bytes,
// when it is longer than the read buffer) that arrived at now on the
// run's clock, and says what kind it was.
func (c *client) packet(p []byte, now int64, prefix []byte) packetKind {
	if len(p) == 0 {
		return packetOther
	}
	switch p[0] {
	case '4': // message: a Socket.IO packet follows
		if len(p) < 2 {
			return packetOther
		}
		switch p[1] {
		case '2':
			c.event(p, now, prefix)
			return packetEvent
		case '3':
			c.ack(p, now)
			return packetAck
		case '0':
			return packetConnect
		case '1':
			return packetClose // DISCONNECT of the namespace
		case '4':
			return packetConnectError
		}
	case '2':
		return packetPing
	case '1':
		return packetClose
	}
	return packetOther
}
