package bridge

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/bridge/sse"
)

// sseClient is one open GET /events stream: what a socket of the same
// identity in the same namespace would be, less the ability to emit.
type sseClient struct {
	id        string // random, as a socket id; the sid of its lifecycle events
	namespace string
	rooms     []string            // the identity's, never the client's choice
	events    map[string]struct{} // nil: every event
	identity  *auth.Identity      // nil: anonymous
	remote    string
	since     time.Time
	stream    *sse.Stream

	// While a resume replays the stream, live events are held here, and
	// passed on after the replay if they are newer than its last event.
	mu        sync.Mutex
	holding   bool
	held      []heldEvent
	heldBytes int
	overflow  bool // held passed the queue bound: the stream ends as slow
}

type heldEvent struct {
	seq   uint64
	frame []byte
}

// newStreamID returns a random id of 20 URL-safe characters (120 bits),
// the form of a socket id.
func newStreamID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// wants reports whether the client asked for event.
func (c *sseClient) wants(event string) bool {
	if c.events == nil {
		return true
	}
	_, ok := c.events[event]
	return ok
}

// reaches reports whether a message of route goes to the client, as it
// would to a socket of the same identity in the same namespace.
func (c *sseClient) reaches(route Route) bool {
	if route.Namespace != c.namespace || !c.wants(route.Event) {
		return false
	}
	return route.Room == "" || containsString(c.rooms, route.Room)
}

// deliver queues frame, or holds it while a replay runs. It reports the
// events the queue dropped (drop-oldest), and Send's error: the stream
// closed as slow (sse.ErrSlowConsumer, also when the held events pass
// maxBytes), the frame alone is larger than the queue (sse.ErrTooLarge),
// or the stream is closed.
func (c *sseClient) deliver(seq uint64, frame []byte, maxBytes int) (dropped int, err error) {
	c.mu.Lock()
	if c.holding {
		defer c.mu.Unlock()
		switch {
		case c.overflow:
			return 0, sse.ErrClosed
		case len(frame) > maxBytes:
			return 0, sse.ErrTooLarge
		case c.heldBytes+len(frame) > maxBytes:
			c.overflow, c.held, c.heldBytes = true, nil, 0
			return 0, sse.ErrSlowConsumer
		}
		c.held = append(c.held, heldEvent{seq, frame})
		c.heldBytes += len(frame)
		return 0, nil
	}
	c.mu.Unlock()
	return c.stream.Send(frame)
}

// sseHub is the set of open streams, indexed by namespace and room so
// that a message to a room costs its members, not every stream.
type sseHub struct {
	stats SSEStats

	mu     sync.RWMutex
	closed bool
	spaces map[string]*sseSpace
}

type sseSpace struct {
	all   map[*sseClient]struct{}
	rooms map[string]map[*sseClient]struct{}
}

// add registers c; false once the hub is closed (shutdown began).
func (h *sseHub) add(c *sseClient) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if h.spaces == nil {
		h.spaces = make(map[string]*sseSpace)
	}
	sp := h.spaces[c.namespace]
	if sp == nil {
		sp = &sseSpace{all: make(map[*sseClient]struct{}), rooms: make(map[string]map[*sseClient]struct{})}
		h.spaces[c.namespace] = sp
	}
	sp.all[c] = struct{}{}
	for _, r := range c.rooms {
		m := sp.rooms[r]
		if m == nil {
			m = make(map[*sseClient]struct{})
			sp.rooms[r] = m
		}
		m[c] = struct{}{}
	}
	return true
}

// remove forgets c.
func (h *sseHub) remove(c *sseClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sp := h.spaces[c.namespace]
	if sp == nil {
		return
	}
	delete(sp.all, c)
	for _, r := range c.rooms {
		if m := sp.rooms[r]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(sp.rooms, r)
			}
		}
	}
	if len(sp.all) == 0 {
		delete(h.spaces, c.namespace)
	}
}

// publish sends the event of route to the streams it reaches. The frame
// is made once, and only when some stream wants it.
func (h *sseHub) publish(route Route, seq uint64, maxBytes int, frame func() ([]byte, error)) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	sp := h.spaces[route.Namespace]
	if sp == nil {
		return
	}
	targets := sp.all
	if route.Room != "" {
		targets = sp.rooms[route.Room]
	}
	var f []byte
	for c := range targets {
		if !c.wants(route.Event) {
			continue
		}
		if f == nil {
			var err error
			if f, err = frame(); err != nil {
				h.stats.BadName.Add(1)
				return
			}
		}
		dropped, err := c.deliver(seq, f, maxBytes)
		switch err {
		case nil:
			h.stats.Delivered.Add(1)
		case sse.ErrTooLarge:
			dropped++
		}
		if dropped > 0 {
			h.stats.Dropped.Add(uint64(dropped))
		}
	}
}

// close ends every stream with ReasonServerShutdown (each after its
// queue is written) and refuses new ones.
func (h *sseHub) close() {
	h.mu.Lock()
	h.closed = true
	var all []*sseClient
	for _, sp := range h.spaces {
		for c := range sp.all {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	for _, c := range all {
		c.stream.Close(sse.ReasonServerShutdown)
	}
}
