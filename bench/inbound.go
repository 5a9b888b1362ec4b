package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// emitter is what a client of an inbound or ack run emits: the sender
// writes events and counts them in sent; the NATS subscription (inbound)
// or the client's reader (acks) counts the answered ones in done. sent
// minus done is what the client has in flight, at most Config.Window.
type emitter struct {
	sent atomic.Int64
	done atomic.Int64
	// The ack scenario's, owned by the client's reader.
	ackOK   uint64 // acks that echoed the event
	ackErrs uint64 // acks that carried anything else (an {"error": ...})
	ackErr  string // the first one, trimmed
	msgPx   []byte // {"run":RUN,"seq": of the run's events
}

// inboundRun is one run of ScenarioInbound or ScenarioAck: it emits from
// every client, as fast as each client's window allows, and counts what
// reaches NATS (inbound) or comes back as acks (ack).
type inboundRun struct {
	rs    *runState
	nc    *nats.Conn
	ws    []*wsClient
	ack   bool
	sub   *nats.Subscription // inbound: counts the events; ack: the responder
	frame []byte             // the event frame prefix after 42 (and the ack id)
	msgPx []byte             // {"run":RUN,"seq":

	// Owned by the inbound subscription's callback until the run stops
	// it (nats.go calls one subscription's callback on one goroutine).
	mu      sync.Mutex
	seqs    []seqTracker
	hist    Histogram
	frames  uint64 // messages of this run, duplicates included
	foreign uint64 // messages that were not this run's
	last    int64  // when the last one arrived, on the run's clock

	total atomic.Int64 // events emitted, all clients: for the progress bar
}

// isInbound reports whether a scenario measures the client-to-NATS
// direction.
func isInbound(scenario string) bool { return scenario == ScenarioInbound || scenario == ScenarioAck }

// newInboundRun subscribes to the run's subject, to count the events
// (inbound) or to answer them (ack), before any client emits.
func newInboundRun(rs *runState, nc *nats.Conn, conns []conn) (*inboundRun, error) {
	in := &inboundRun{rs: rs, nc: nc, ack: rs.cfg.Scenario == ScenarioAck, msgPx: rs.msgPx}
	name := strconv.Quote(rs.cfg.Event)
	in.frame = append([]byte("["), name...)
	in.frame = append(in.frame, ',')
	for _, c := range conns {
		w, ok := c.(*wsClient)
		if !ok {
			return nil, fmt.Errorf("%w: scenario %s runs on websocket clients", ErrConfig, rs.cfg.Scenario)
		}
		in.ws = append(in.ws, w)
	}
	var err error
	if in.ack {
		// Echo every request: the ack then carries the event's own
		// sequence number and time, and the client checks both.
		in.sub, err = nc.Subscribe(rs.cfg.Subject, func(m *nats.Msg) { _ = m.Respond(m.Data) })
	} else {
		in.seqs = make([]seqTracker, len(conns))
		for i := range in.seqs {
			in.seqs[i] = newSeqTracker(min(rs.cfg.Messages, 4*rs.cfg.Window+64))
		}
		in.sub, err = nc.Subscribe(rs.cfg.Subject, in.received)
	}
	if err == nil {
		// The windows bound what is in flight; never drop for pending.
		err = in.sub.SetPendingLimits(-1, -1)
	}
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		if in.sub != nil {
			_ = in.sub.Unsubscribe()
		}
		return nil, fmt.Errorf("bench: subscribing to %s: %w", rs.cfg.Subject, err)
	}
	return in, nil
}

// received counts one message of the inbound subscription.
func (in *inboundRun) received(m *nats.Msg) {
	now := in.rs.now()
	in.mu.Lock()
	defer in.mu.Unlock()
	seq, ts, rest, ok := parseEventRest(m.Data, in.msgPx)
	var to uint64
	if ok {
		to, ok = parseTarget(rest)
	}
	if !ok || to == 0 || to > uint64(len(in.ws)) {
		in.foreign++
		return
	}
	in.frames++
	in.last = now
	in.hist.Record(time.Duration(now - ts))
	if in.seqs[to-1].observe(seq) {
		in.ws[to-1].em.done.Add(1)
	}
}

// maxAckError bounds the first ack error a run keeps, in bytes.
const maxAckError = 200

// ack handles an Engine.IO message holding a Socket.IO ACK, 43ID[...],
// on the client's reader: an echo of the client's event with that id is a
// round trip, anything else an error.
func (c *client) ack(p []byte, now int64) {
	em := c.em
	if em == nil {
		c.foreign++
		return
	}
	id, rest, ok := parseUint(p[2:])
	if !ok || len(rest) < 2 || rest[0] != '[' {
		c.foreign++
		return
	}
	em.done.Add(1)
	body := rest[1:]
	seq, ts, rest, ok := parseEventRest(body, em.msgPx)
	if ok {
		var to uint64
		to, ok = parseTarget(rest)
		ok = ok && to == c.user && seq == id
	}
	if !ok {
		em.ackErrs++
		if em.ackErr == "" {
			// Long enough for a server's reason, such as natsock's
			// in-flight bounds; trim's 64 bytes would cut it.
			e := bytes.TrimSuffix(body, []byte("]"))
			em.ackErr = string(e[:min(len(e), maxAckError)])
		}
		return
	}
	em.ackOK++
	c.frames++
	c.last = now
	c.hist.Record(time.Duration(now - ts))
	if c.seq.observe(seq) {
		c.got.Add(1)
	}
}

// run emits until Messages are out, Duration has passed, every client
// has ended, or ctx ends, each client at most Window events ahead of
// what came back. A client's events in one round go out in one write, as
// a busy client's would gather in its socket. It returns how many were
// emitted.
func (in *inboundRun) run(ctx context.Context) (int64, error) {
	cfg := &in.rs.cfg
	var end time.Time
	if cfg.Duration > 0 {
		end = time.Now().Add(cfg.Duration)
	}
	window, budget := int64(cfg.Window), int64(cfg.Messages)
	var buf, payload []byte
	var total int64
	var firstErr error
	for {
		live := false
		for i, c := range in.ws {
			if c.ended.Load() {
				continue
			}
			live = true
			sent := c.em.sent.Load()
			n := min(window-(sent-c.em.done.Load()), budget-total)
			if n <= 0 {
				continue
			}
			buf = buf[:0]
			for seq := sent; seq < sent+n; seq++ {
				payload = append(payload[:0], "42"...)
				if in.ack {
					payload = strconv.AppendInt(payload, seq, 10)
				}
				payload = append(payload, in.frame...)
				payload = appendTargetedMessage(payload, in.rs.run, uint64(seq), in.rs.now(), userID(i), cfg.Size)
				payload = append(payload, ']')
				buf = appendClientFrame(buf, opText, payload)
			}
			c.em.sent.Add(n)
			if err := c.write(buf); err != nil {
				// The client is gone; what it wrote of these is lost to it.
				if firstErr == nil {
					firstErr = fmt.Errorf("client %d: %w", i+1, err)
				}
				c.ended.Store(true)
				continue
			}
			total += n
			in.total.Store(total)
		}
		switch {
		case total >= budget, !live:
			return total, nil
		case ctx.Err() != nil:
			return total, ctx.Err()
		case !end.IsZero() && time.Now().After(end):
			return total, nil
		}
		time.Sleep(windowPoll)
	}
}

// drain waits until every live client's events have come back, or until
// none has for Config.Drain.
func (in *inboundRun) drain(ctx context.Context) {
	waitDrained(ctx, in.rs.cfg.Drain, func() (uint64, bool) {
		var done uint64
		waiting := false
		for _, c := range in.ws {
			d := c.em.done.Load()
			done += uint64(d)
			if !c.ended.Load() && d < c.em.sent.Load() {
				waiting = true
			}
		}
		return done, waiting
	})
}

// stop ends the subscription, so that its callback has returned.
func (in *inboundRun) stop() {
	_ = in.sub.Unsubscribe()
	in.mu.Lock() // wait out a callback in progress
	in.mu.Unlock()
}

// tally adds up an inbound or ack run, once the clients' readers have
// ended and the subscription has stopped.
func (in *inboundRun) tally(res *Result, r *runner, emitted, start int64) {
	var hist Histogram
	var last int64
	var answered int64
	for i, c := range in.ws {
		sent := c.em.sent.Load()
		res.Expected += sent
		if in.ack {
			res.Delivered += int64(c.frames)
			res.Duplicates += int64(c.seq.dups)
			res.Late += int64(c.seq.late)
			res.Foreign += int64(c.foreign)
			res.AckErrors += int64(c.em.ackErrs)
			if res.AckError == "" {
				res.AckError = c.em.ackErr
			}
			// An ack the client never got, error or not, is lost.
			answered += int64(c.seq.distinct) + int64(c.em.ackErrs)
			res.Lost += sent - int64(c.seq.distinct) - int64(c.em.ackErrs)
			hist.Merge(&c.hist)
			last = max(last, c.last)
			continue
		}
		res.Duplicates += int64(in.seqs[i].dups)
		res.Late += int64(in.seqs[i].late)
		res.Lost += sent - int64(in.seqs[i].distinct)
		answered += int64(in.seqs[i].distinct)
	}
	if !in.ack {
		res.Delivered = int64(in.frames)
		res.Foreign = int64(in.foreign)
		hist, last = in.hist, in.last
	}
	res.Disconnected = r.disconnected
	res.DisconnectErr = r.disconnectErr
	res.delivered(emitted, start, last, &hist)
	if answered > 0 {
		res.ServerCPUPerEvent = float64(res.ServerCPU) / float64(answered)
	}
	if emitted > 0 {
		res.ServerCPUPerMessage = float64(res.ServerCPU) / float64(emitted)
	}
}

// status is the progress bar's line for an inbound or ack run.
func (in *inboundRun) status(draining bool) string {
	var done int64
	for _, c := range in.ws {
		done += c.em.done.Load()
	}
	word := "emitting  "
	if draining {
		word = "draining  "
	}
	n := in.total.Load()
	return fmt.Sprintf("%s %s %d/%d events, %d answered", word, bar(n, int64(in.rs.cfg.Messages)), n, in.rs.cfg.Messages, done)
}

// writeInboundText is WriteText for an inbound or ack run.
func (r *Result) writeInboundText(w io.Writer) error {
	var b strings.Builder
	ack := r.Scenario == ScenarioAck
	fmt.Fprintf(&b, "natsock bench: %d %s clients on %s emit %d-byte %q events", r.Clients, r.Transport, r.URL, r.Size, r.Event)
	if ack {
		fmt.Fprintf(&b, " with acks, %d outstanding each; the bench answers each request on %s\n", r.Window, r.Subject)
	} else {
		fmt.Fprintf(&b, ", %d in flight each, counted on %s\n", r.Window, r.Subject)
	}
	fmt.Fprintf(&b, "  connect     %d clients in %v (%s/s)\n", r.Clients, round(r.ConnectTime), si(float64(r.Clients)/r.ConnectTime.Seconds()))
	if ack {
		fmt.Fprintf(&b, "  acked       %d of %d events in %v: %s round trips/s; %d errors\n",
			r.Delivered, r.Published, round(r.DeliveryTime), si(r.FramesPerSec), r.AckErrors)
	} else {
		fmt.Fprintf(&b, "  on NATS     %d of %d events in %v: %s events/s\n", r.Delivered, r.Published, round(r.DeliveryTime), si(r.FramesPerSec))
	}
	fmt.Fprintf(&b, "  lost        %d   duplicated %d   disconnected %d", r.Lost, r.Duplicates, r.Disconnected)
	if r.Late > 0 {
		fmt.Fprintf(&b, "   late %d", r.Late)
	}
	if r.Foreign > 0 {
		fmt.Fprintf(&b, "   foreign %d", r.Foreign)
	}
	b.WriteString("\n")
	if r.AckError != "" {
		fmt.Fprintf(&b, "  first ack error: %s\n", r.AckError)
	}
	if r.DisconnectErr != "" {
		fmt.Fprintf(&b, "  first disconnect: %s\n", r.DisconnectErr)
	}
	what := "emit to NATS"
	if ack {
		what = "emit to ack"
	}
	fmt.Fprintf(&b, "  latency     %s: p50 %v   p90 %v   p99 %v   max %v   mean %v\n", what,
		round(r.LatencyP50), round(r.LatencyP90), round(r.LatencyP99), round(r.LatencyMax), round(r.LatencyMean))
	if r.ServerPID != 0 {
		unit := "event"
		if ack {
			unit = "ack"
		}
		fmt.Fprintf(&b, "  server      pid %d: CPU %v, %.3f us/%s\n", r.ServerPID, round(r.ServerCPU), r.ServerCPUPerEvent/1e3, unit)
	}
	fmt.Fprintf(&b, "  bench CPU   %v, %.3f us/event\n", round(r.BenchCPU), r.BenchCPUPerFrame/1e3)
	_, err := io.WriteString(w, b.String())
	return err
}
