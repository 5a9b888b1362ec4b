package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrTimeout is returned, with what was measured so far, by a run that
// reached Config.Timeout.
var ErrTimeout = errors.New("bench: the run reached its timeout")

// runState is what every client of a run shares, read-only once the
// clients start.
type runState struct {
	cfg   Config
	start time.Time // the run's clock starts here
	// wallStart is start on the wall clock, in Unix nanoseconds, to put
	// the kernel's receive timestamps on the run's clock.
	wallStart int64
	run       uint64 // tells this run's messages from others'
	prefix    []byte // eventPrefix(cfg.Event, run)
	msgPx     []byte // how the run's messages start: {"run":RUN,"seq":
	dialer    *dialer
	host      string // the Host header
	wsURL     string
	pollPath  string          // the polling path and query, without a session id
	closing   context.Context // ends when the run closes its clients
	// received counts a targeted run's new messages, all clients
	// together, so that the publisher's window costs one load, not one
	// per client.
	received atomic.Int64
}

// now is the time on the run's monotonic clock, in nanoseconds.
func (rs *runState) now() int64 { return int64(time.Since(rs.start)) }

func newRunState(cfg Config) (*runState, error) {
	addr, err := serverAddr(cfg.URL)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	run := rand.Uint64() >> 11 // exact in a JavaScript number
	query := cfg.Path + "?EIO=4&transport="
	start := time.Now()
	return &runState{
		cfg:       cfg,
		start:     start,
		wallStart: start.UnixNano(),
		run:       run,
		prefix:    eventPrefix(cfg.Event, run),
		msgPx:     append(strconv.AppendUint([]byte(`{"run":`), run, 10), `,"seq":`...),
		dialer:    newDialer(addr, cfg.SourceIPs),
		host:      u.Host,
		wsURL:     "ws://" + u.Host + query + TransportWebSocket,
		pollPath:  query + TransportPolling,
	}, nil
}

// conn is one client of either transport.
type conn interface {
	stats() *client
	// read handles what the server sends until the connection ends.
	read()
	// close ends the connection; read then returns.
	close() error
}

func (c *wsClient) stats() *client   { return &c.client }
func (c *pollClient) stats() *client { return &c.client }
func (c *wsClient) read()            { c.run() }
func (c *pollClient) read()          { c.run() }

var (
	_ conn = (*wsClient)(nil)
	_ conn = (*pollClient)(nil)
)

// Run opens the clients, publishes the messages (or holds the clients, for
// an idle run), and reports what it measured. It closes every connection
// and waits for every goroutine it started before it returns. A run that
// reaches cfg.Timeout returns what it measured so far with ErrTimeout.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if cfg.Scenario == ScenarioStorm {
		return runStorm(ctx, cfg)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rs, err := newRunState(cfg)
	if err != nil {
		return nil, err
	}
	closing, closeClients := context.WithCancel(context.Background())
	defer closeClients()
	rs.closing = closing
	res := &Result{
		URL: cfg.URL + cfg.Path, Transport: cfg.Transport, Scenario: cfg.Scenario, Clients: cfg.Clients,
		Size: cfg.Size, Rate: cfg.Rate, Subject: cfg.Subject, Event: cfg.Event, ServerPID: cfg.PID,
	}
	if cfg.Rate == 0 {
		res.Window = cfg.Window
	}
	timedOut := func(err error) error {
		if parent.Err() == nil && ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ErrTimeout, cfg.Timeout)
		}
		return err
	}

	var nc *nats.Conn
	if cfg.Messages > 0 {
		// Connect to NATS first: a bad URL fails before thousands of dials.
		nc, err = nats.Connect(cfg.NATSURL, nats.Name("natsock-bench"), nats.Timeout(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("bench: NATS %s: %w", cfg.NATSURL, err)
		}
		defer nc.Close()
	}
	if cfg.PID != 0 {
		if res.ServerRSSBefore, err = procRSS(cfg.PID); err != nil {
			return nil, err
		}
	}

	r := &runner{rs: rs, conns: make([]conn, cfg.Clients)}
	if cfg.Transport == TransportWebSocket {
		if r.reactor, err = newReactor(rs, cfg.Clients); err != nil {
			return nil, err
		}
		if r.reactor != nil {
			r.readers.Go(r.reactor.run)
		}
	}
	defer r.shutdown(closeClients)
	prog := startProgress(cfg.Progress, r.status)
	defer prog.stopProgress()

	cpu0, t0 := selfCPU(), time.Now()
	err = r.connectAll(ctx)
	res.ConnectTime = time.Since(t0)
	if err != nil {
		return nil, timedOut(err)
	}
	if cfg.PID != 0 {
		if res.ServerRSSAfter, err = procRSS(cfg.PID); err != nil {
			return nil, err
		}
	}

	if cfg.Messages == 0 {
		r.phase.Store(phaseHolding)
		r.holdStart = time.Now()
		res.BenchCPU = selfCPU() - cpu0
		hold := time.NewTimer(cfg.Hold)
		select {
		case <-hold.C:
		case <-ctx.Done():
			hold.Stop()
		}
		res.Held = time.Since(r.holdStart)
		if cfg.PID != 0 {
			if res.ServerRSSAfter, err = procRSS(cfg.PID); err != nil {
				return nil, err
			}
			res.MemPerConn = float64(res.ServerRSSAfter-res.ServerRSSBefore) / float64(cfg.Clients)
		}
		r.shutdown(closeClients)
		res.Disconnected = r.disconnected
		res.DisconnectErr = r.disconnectErr
		if ctx.Err() != nil {
			return res, timedOut(ctx.Err())
		}
		return res, nil
	}

	if cfg.PID != 0 {
		res.MemPerConn = float64(res.ServerRSSAfter-res.ServerRSSBefore) / float64(cfg.Clients)
	}
	var serverCPU0 time.Duration
	if cfg.PID != 0 {
		serverCPU0, _ = procCPU(cfg.PID)
	}
	if isInbound(cfg.Scenario) {
		if r.in, err = newInboundRun(rs, nc, r.conns); err != nil {
			return nil, err
		}
		defer r.in.stop()
	} else {
		r.pub = newPublisher(rs, nc, r.clients)
	}
	r.phase.Store(phaseDelivering)
	benchCPU0, pubStart := selfCPU(), rs.now()
	var published int64
	var pubErr error
	if r.in != nil {
		published, pubErr = r.in.run(ctx)
		r.phase.Store(phaseDraining)
		r.in.drain(ctx)
	} else {
		published, pubErr = r.pub.run(ctx)
		r.phase.Store(phaseDraining)
		r.drain(ctx)
	}
	res.BenchCPU = selfCPU() - benchCPU0
	if cfg.PID != 0 {
		if cpu, err := procCPU(cfg.PID); err == nil {
			res.ServerCPU = cpu - serverCPU0
		}
	}
	r.shutdown(closeClients)
	if r.in != nil {
		r.in.stop()
		r.in.tally(res, r, published, pubStart)
	} else {
		r.tally(res, published, pubStart)
	}
	switch {
	case pubErr != nil && ctx.Err() == nil:
		return res, fmt.Errorf("bench: publishing to %s: %w", cfg.Subject, pubErr)
	case ctx.Err() != nil:
		return res, timedOut(ctx.Err())
	}
	return res, nil
}

// Phases of a run, for the progress bar.
const (
	phaseConnecting int32 = iota
	phaseHolding
	phaseDelivering
	phaseDraining
)

// runner is one run's clients and what the progress bar reads.
type runner struct {
	rs        *runState
	conns     []conn
	clients   []*client // conns' counters, once all are connected
	reactor   *reactor  // reads the websocket clients, where there is one
	readers   sync.WaitGroup
	connected atomic.Int64
	phase     atomic.Int32
	holdStart time.Time
	pub       *publisher
	in        *inboundRun // an inbound or ack run's, instead of pub

	once          sync.Once
	disconnected  int    // clients the server ended before the run closed them
	disconnectErr string // the first one's reason

	lastFrames int64 // for the progress bar's rate
	lastDraw   time.Time
}

// connectAll opens every client, ConnectConcurrency handshakes at a time,
// and starts each one's reader as soon as it has joined, so that it
// answers pings while the others connect. The first error stops it.
func (r *runner) connectAll(ctx context.Context) error {
	cfg := &r.rs.cfg
	err := connectEach(ctx, cfg.Clients, cfg.ConnectConcurrency, func(ctx context.Context, i int) error {
		c, err := r.dial(ctx, i)
		if ws, ok := c.(*wsClient); ok && r.reactor != nil {
			if err = r.reactor.add(ws, i); err != nil {
				_ = ws.conn.Close()
			}
		}
		if err != nil {
			return err
		}
		r.conns[i] = c
		if r.reactor == nil {
			r.readers.Go(c.read)
		}
		r.connected.Add(1)
		return nil
	})
	if err != nil {
		return err
	}
	r.clients = make([]*client, len(r.conns))
	for i, c := range r.conns {
		r.clients[i] = c.stats()
	}
	return nil
}

// connectEach runs connect for clients 0..n-1, concurrency at a time. The
// first error (named by its client), or the end of ctx, stops it.
func connectEach(ctx context.Context, n, concurrency int, connect func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(concurrency, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := connect(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("bench: client %d of %d: %w", i+1, n, err) })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// dial opens client i with the run's transport, within a bound of its own.
func (r *runner) dial(ctx context.Context, i int) (conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// A nil *wsClient or *pollClient would make a non-nil conn.
	if r.rs.cfg.Transport == TransportPolling {
		c, err := dialPolling(ctx, r.rs, i)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c, err := dialWS(ctx, r.rs, i)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// drain waits until every connected client has received the messages
// published for it, or until no client has made progress for
// Config.Drain.
func (r *runner) drain(ctx context.Context) {
	waitDrained(ctx, r.rs.cfg.Drain, func() (uint64, bool) {
		var sum uint64
		waiting := false
		for i, c := range r.clients {
			g := c.got.Load()
			sum += g
			if !c.ended.Load() && int64(g) < r.pub.expected(i) {
				waiting = true
			}
		}
		return sum, waiting
	})
}

// waitDrained polls progress every 5 ms until it reports nothing left to
// wait for, or its sum has not moved for drain, or ctx ends: how a run
// waits for what is in flight.
func waitDrained(ctx context.Context, drain time.Duration, progress func() (sum uint64, waiting bool)) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	var lastSum uint64
	lastChange := time.Now()
	for {
		sum, waiting := progress()
		if !waiting {
			return
		}
		if sum != lastSum {
			lastSum, lastChange = sum, time.Now()
		} else if time.Since(lastChange) > drain {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// shutdown notes which clients the server ended, closes every connection
// and waits for the readers. It runs once.
func (r *runner) shutdown(closeClients context.CancelFunc) {
	r.once.Do(func() {
		for _, c := range r.conns {
			if c == nil {
				continue
			}
			if s := c.stats(); s.ended.Load() {
				r.disconnected++
				if r.disconnectErr == "" && s.err != nil {
					r.disconnectErr = s.err.Error()
				}
			}
		}
		closeClients()
		for _, c := range r.conns {
			if c != nil {
				_ = c.close()
			}
		}
		if r.reactor != nil {
			r.reactor.close()
		}
		r.readers.Wait()
		if r.reactor != nil {
			r.reactor.release()
		}
	})
}

// tally adds up the clients' counts, once their readers have ended.
func (r *runner) tally(res *Result, published int64, pubStart int64) {
	var hist Histogram
	var last int64
	for i, c := range r.clients {
		want := r.pub.expected(i)
		res.Expected += want
		res.Delivered += int64(c.frames)
		res.Duplicates += int64(c.seq.dups)
		res.Late += int64(c.seq.late)
		res.Foreign += int64(c.foreign)
		res.Misdelivered += int64(c.misdelivered)
		res.Lost += want - int64(c.seq.distinct)
		hist.Merge(&c.hist)
		last = max(last, c.last)
	}
	res.Disconnected = r.disconnected
	res.DisconnectErr = r.disconnectErr
	res.delivered(published, pubStart, last, &hist)
	if res.Delivered > 0 {
		res.ServerCPUPerFrame = float64(res.ServerCPU) / float64(res.Delivered)
	}
	if published > 0 {
		res.ServerCPUPerMessage = float64(res.ServerCPU) / float64(published)
	}
}

// status is the progress bar's line.
func (r *runner) status() string {
	cfg := &r.rs.cfg
	switch r.phase.Load() {
	case phaseConnecting:
		n := r.connected.Load()
		return fmt.Sprintf("connecting %s %d/%d", bar(n, int64(cfg.Clients)), n, cfg.Clients)
	case phaseHolding:
		held := time.Since(r.holdStart)
		return fmt.Sprintf("holding    %s %v/%v", bar(int64(held), int64(cfg.Hold)), held.Round(time.Second), cfg.Hold)
	}
	if r.in != nil {
		return r.in.status(r.phase.Load() == phaseDraining)
	}
	var frames int64
	for _, c := range r.clients {
		frames += int64(c.got.Load())
	}
	now := time.Now()
	rate := 0.0
	if !r.lastDraw.IsZero() {
		rate = float64(frames-r.lastFrames) / now.Sub(r.lastDraw).Seconds()
	}
	r.lastFrames, r.lastDraw = frames, now
	sent := r.pub.shown.Load()
	word := "publishing"
	if r.phase.Load() == phaseDraining {
		word = "draining  "
	}
	return fmt.Sprintf("%s %s %d/%d msgs, %s frames/s", word, bar(sent, int64(cfg.Messages)), sent, cfg.Messages, si(rate))
}
