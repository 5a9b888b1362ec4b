package bench

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// publisher sends the run's messages through NATS, paced by a rate or by
// the slowest client.
type publisher struct {
	rs      *runState
	nc      *nats.Conn
	clients []*client
	buf     []byte
	timer   *time.Timer
	sent    int64        // messages published so far
	shown   atomic.Int64 // sent, for the progress bar
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
			lowest, live := p.lowest()
			if !live {
				break
			}
			if batch = min(int64(cfg.Window)-(p.sent-lowest), total-p.sent, 256); batch <= 0 {
				p.sleep(ctx, windowPoll)
				continue
			}
		}
		for range batch {
			p.buf = appendMessage(p.buf[:0], p.rs.run, uint64(p.sent), p.rs.now(), cfg.Size)
			if err := p.nc.Publish(cfg.Subject, p.buf); err != nil {
				return p.sent, err
			}
			p.sent++
		}
		p.shown.Store(p.sent)
	}
	return p.sent, p.nc.FlushTimeout(10 * time.Second)
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
