package bench

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// publisher sends the run's messages through NATS, paced by a rate or by
// the slowest client (in a targeted run, by the messages all clients
// together have yet to receive).
type publisher struct {
	rs      *runState
	nc      *nats.Conn
	clients []*client
	buf     []byte
	timer   *time.Timer
	sent    int64        // messages published so far
	shown   atomic.Int64 // sent, for the progress bar

	// A targeted run's: each client's user's subject, the messages
	// published to each (the next one's sequence number), and the
	// random choice of user.
	subjects []string
	perUser  []int64
	rng      *rand.Rand
	// What the last count of the clients found (see ahead): the
	// messages that clients the server ended will never receive, and
	// whether any client was still connected, and when it counted.
	owedEnded int64
	live      bool
	counted   time.Time
}

// newPublisher readies the run's publisher for its clients.
func newPublisher(rs *runState, nc *nats.Conn, clients []*client) *publisher {
	p := &publisher{rs: rs, nc: nc, clients: clients}
	if rs.cfg.Scenario == ScenarioTargeted {
		p.subjects = make([]string, len(clients))
		for i := range clients {
			p.subjects[i] = rs.cfg.Subject + "." + strconv.FormatUint(userID(i), 10)
		}
		p.perUser = make([]int64, len(clients))
		p.rng = rand.New(rand.NewPCG(rs.run, uint64(len(clients))))
	}
	return p
}

// windowPoll is how often a windowed publisher that is a full window ahead
// looks at the clients' counts again.
const windowPoll = 200 * time.Microsecond

// run publishes until Messages are out, Duration has passed, every client
// has ended, or ctx ends. It returns how many messages went out.
func (p *publisher) run(ctx context.Context) (int64, error) {
	cfg := &p.rs.cfg
	p.timer = time.NewTimer(time.Hour)
	p.timer.Stop()
	defer p.timer.Stop()
	start := p.rs.now()
	var end int64 = 1<<63 - 1
	if cfg.Duration > 0 {
		end = start + int64(cfg.Duration)
	}
	total := int64(cfg.Messages)
	for p.sent < total {
		now := p.rs.now()
		if now >= end || ctx.Err() != nil {
			break
		}
		var batch int64
		if cfg.Rate > 0 {
			due := min(int64(float64(now-start)*cfg.Rate/1e9)+1, total)
			if batch = due - p.sent; batch <= 0 {
				// Sleep until the next message is due.
				next := start + int64(float64(p.sent)*1e9/cfg.Rate)
				p.sleep(ctx, time.Duration(min(next, end)-now))
				continue
			}
		} else {
			ahead, live := p.ahead()
			if !live {
				break
			}
			if batch = min(int64(cfg.Window)-ahead, total-p.sent, 256); batch <= 0 {
				p.sleep(ctx, windowPoll)
				continue
			}
		}
		for range batch {
			if err := p.publish(); err != nil {
				return p.sent, err
			}
			p.sent++
		}
		p.shown.Store(p.sent)
	}
	return p.sent, p.nc.FlushTimeout(10 * time.Second)
}

// publish sends message p.sent: to every client, or in a targeted run to
// a user chosen at random, numbered among that user's messages.
func (p *publisher) publish() error {
	cfg := &p.rs.cfg
	if p.perUser == nil {
		p.buf = appendMessage(p.buf[:0], p.rs.run, uint64(p.sent), p.rs.now(), cfg.Size)
		return p.nc.Publish(cfg.Subject, p.buf)
	}
	i := p.rng.IntN(len(p.perUser))
	p.buf = appendTargetedMessage(p.buf[:0], p.rs.run, uint64(p.perUser[i]), p.rs.now(), userID(i), cfg.Size)
	if err := p.nc.Publish(p.subjects[i], p.buf); err != nil {
		return err
	}
	p.perUser[i]++
	return nil
}

// recountEvery bounds how stale a targeted window's count of the ended
// clients may be while the window is full.
const recountEvery = 10 * time.Millisecond

// ahead is how many messages the window holds, and whether any client is
// still connected: for a broadcast, how far the slowest connected client
// is behind; for a targeted run, the messages connected clients have yet
// to receive, all together.
//
// A targeted run reads that from the run's count of received messages,
// less what ended clients will never receive, which it counts over every
// client at first, and again when the window looks full and the last
// count is older than recountEvery (a client may have ended since).
func (p *publisher) ahead() (int64, bool) {
	if p.perUser == nil {
		lowest, live := p.lowest()
		return p.sent - lowest, live
	}
	ahead := p.sent - p.rs.received.Load() - p.owedEnded
	if p.counted.IsZero() || (ahead >= int64(p.rs.cfg.Window) && time.Since(p.counted) >= recountEvery) {
		p.countEnded()
		ahead = p.sent - p.rs.received.Load() - p.owedEnded
	}
	return ahead, p.live
}

// countEnded counts what the clients the server ended will never receive,
// and whether any client is still connected.
func (p *publisher) countEnded() {
	p.owedEnded, p.live = 0, false
	for i, c := range p.clients {
		if !c.ended.Load() {
			p.live = true
			continue
		}
		p.owedEnded += p.perUser[i] - int64(c.got.Load())
	}
	p.counted = time.Now()
}

// expected is how many messages client i should receive, once publishing
// has ended.
func (p *publisher) expected(i int) int64 {
	if p.perUser == nil {
		return p.sent
	}
	return p.perUser[i]
}

// lowest is the fewest messages a connected client has received, and
// whether any client is still connected.
func (p *publisher) lowest() (int64, bool) {
	low, live := int64(-1), false
	for _, c := range p.clients {
		if c.ended.Load() {
			continue
		}
		live = true
		if g := int64(c.got.Load()); low < 0 || g < low {
			low = g
		}
	}
	return low, live
}

func (p *publisher) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	p.timer.Reset(d)
	select {
	case <-p.timer.C:
	case <-ctx.Done():
		p.timer.Stop()
	}
}
