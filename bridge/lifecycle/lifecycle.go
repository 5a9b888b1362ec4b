package lifecycle

import (
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Version is the schema version every event carries in its "v" field. A
// change that removes or retypes a field bumps it; new fields do not.
const Version = 1

// The event types, each published to PREFIX.<type> (node_up and node_down
// to PREFIX.node.up and PREFIX.node.down).
const (
	TypeConnect    = "connect"
	TypeDisconnect = "disconnect"
	TypeNodeUp     = "node_up"
	TypeNodeDown   = "node_down"
)

// DefaultQueue is how many events wait for NATS before new ones are
// dropped and counted.
const DefaultQueue = 8192

// Event is one lifecycle event, as JSON on NATS. Its fields are the
// schema: see the package documentation.
type Event struct {
	V         int       `json:"v"`
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	Node      string    `json:"node"`
	SID       string    `json:"sid,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	// Rooms the socket is in (at connect; on disconnect, those it was in
	// when it connected, since a client cannot join rooms later); omitted
	// when none.
	Rooms       []string        `json:"rooms,omitempty"`
	Sub         string          `json:"sub"`
	Transport   string          `json:"transport,omitempty"`
	Remote      string          `json:"remote,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	ConnectedAt *time.Time      `json:"connected_at,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// Subject returns the subject an event of type typ is published to under
// prefix.
func Subject(prefix, typ string) string {
	switch typ {
	case TypeNodeUp:
		return prefix + ".node.up"
	case TypeNodeDown:
		return prefix + ".node.down"
	}
	return prefix + "." + typ
}

// Stats are a Publisher's counters.
type Stats struct {
	Published atomic.Uint64 // events handed to NATS
	Dropped   atomic.Uint64 // events lost: the queue was full, NATS refused them, or the publisher had stopped
}

// Publisher sends lifecycle events to NATS from one goroutine, so that a
// socket's connect or disconnect never waits on NATS. Its queue is
// bounded: past it, events are dropped and counted, and the first drop of
// an episode is logged.
type Publisher struct {
	nc     *nats.Conn // set by Start, before run reads it
	prefix string
	node   string
	log    *slog.Logger

	mu      sync.Mutex // guards started, closed and sends on q against Close
	started bool
	closed  bool
	q       chan *Event
	done    chan struct{}

	stats      Stats
	dropLogged atomic.Bool
	natsLogged atomic.Bool
}

// New returns a Publisher of events under prefix (e.g. "natsock.events"),
// naming node as their origin, with room for queue events (zero means
// DefaultQueue). Events queue from now on; nothing is published until
// Start.
func New(prefix, node string, queue int, log *slog.Logger) *Publisher {
	if queue <= 0 {
		queue = DefaultQueue
	}
	return &Publisher{prefix: prefix, node: node, log: log, q: make(chan *Event, queue), done: make(chan struct{})}
}

// Node returns the node name events carry.
func (p *Publisher) Node() string { return p.node }

// Stats returns the publisher's counters.
func (p *Publisher) Stats() *Stats { return &p.stats }

// Start starts publishing on nc, from one goroutine, and queues a node_up
// event. Call it once; Close stops it.
func (p *Publisher) Start(nc *nats.Conn) {
	p.mu.Lock()
	if p.started || p.closed {
		p.mu.Unlock()
		return
	}
	p.started = true
	p.nc = nc
	p.mu.Unlock()
	go p.run()
	p.Publish(&Event{Type: TypeNodeUp})
}

// Publish queues ev, filling V, Time (when zero) and Node. It never
// blocks: with the queue full or the publisher closed, ev is dropped and
// counted.
func (p *Publisher) Publish(ev *Event) {
	ev.V = Version
	ev.Node = p.node
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.stats.Dropped.Add(1)
		return
	}
	select {
	case p.q <- ev:
		p.dropLogged.Store(false)
	default:
		p.stats.Dropped.Add(1)
		if p.dropLogged.CompareAndSwap(false, true) {
			p.log.Warn("lifecycle event queue full; events are dropped and counted until it drains (logged once an episode)",
				"queue", cap(p.q), "type", ev.Type, "sid", ev.SID)
		}
	}
}

// Close queues a node_down event, stops taking events, and waits until
// the queued ones are handed to NATS (which sends them on its next flush
// or drain). Safe to call twice.
func (p *Publisher) Close() {
	p.mu.Lock()
	running := p.started && !p.closed
	p.mu.Unlock()
	if running {
		p.Publish(&Event{Type: TypeNodeDown})
	}
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.q)
		if !p.started { // nobody will publish what waits
			p.stats.Dropped.Add(uint64(len(p.q)))
		}
	}
	started := p.started
	p.mu.Unlock()
	if started {
		<-p.done
	}
}

func (p *Publisher) run() {
	defer close(p.done)
	for ev := range p.q {
		body, err := json.Marshal(ev)
		if err != nil { // only a Data that is not JSON; Publish's callers pass valid JSON
			p.stats.Dropped.Add(1)
			p.log.Error("lifecycle event not encodable", "type", ev.Type, "sid", ev.SID, "err", err)
			continue
		}
		if err := p.nc.Publish(Subject(p.prefix, ev.Type), body); err != nil {
			p.stats.Dropped.Add(1)
			if p.natsLogged.CompareAndSwap(false, true) {
				p.log.Warn("lifecycle event not published; later failures are counted only", "type", ev.Type, "err", err)
			}
			continue
		}
		p.natsLogged.Store(false)
		p.stats.Published.Add(1)
	}
}
