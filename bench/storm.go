package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// stormRun is one run of ScenarioStorm: every client on node A
// (Config.URL), messages flowing at Config.Rate, node A SIGKILLed
// (Config.PID) after Config.KillAfter, every client resuming on node B
// (Config.FailoverURL) with its pid and offset.
type stormRun struct {
	rs          *runState
	failover    *dialer // node B
	failoverURL string
	clients     []*stormClient
	counters    []*client
	pub         *publisher
	readers     sync.WaitGroup
	connected   atomic.Int64
	publishing  atomic.Bool // s.pub is set and the clients read

	// states counts the clients in each stormState.
	states    [stormFailed + 1]atomic.Int64
	recovered atomic.Int64 // node B restored the session
	caughtUp  atomic.Int64 // ... and the client then had every message published before
	killedAt  atomic.Int64 // on the run's clock; 0 until node A is killed
	pubAtKill atomic.Int64
}

// runStorm is Run for ScenarioStorm; cfg is valid and has its defaults.
func runStorm(ctx context.Context, cfg Config) (*Result, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	timedOut := func(err error) error {
		if parent.Err() == nil && ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ErrTimeout, cfg.Timeout)
		}
		return err
	}
	rs, err := newRunState(cfg)
	if err != nil {
		return nil, err
	}
	closing, closeClients := context.WithCancel(context.Background())
	defer closeClients()
	rs.closing = closing
	addrB, err := serverAddr(cfg.FailoverURL)
	if err != nil {
		return nil, err
	}
	ub, _ := url.Parse(cfg.FailoverURL)
	s := &stormRun{
		rs:          rs,
		failover:    newDialer(addrB, cfg.SourceIPs),
		failoverURL: "ws://" + ub.Host + cfg.Path + "?EIO=4&transport=" + TransportWebSocket,
		clients:     make([]*stormClient, cfg.Clients),
	}
	res := &Result{
		URL: cfg.URL + cfg.Path, Transport: cfg.Transport, Scenario: cfg.Scenario, Clients: cfg.Clients,
		Size: cfg.Size, Rate: cfg.Rate, Subject: cfg.Subject, Event: cfg.Event, ServerPID: cfg.PID,
		Storm: &StormResult{FailoverURL: cfg.FailoverURL + cfg.Path, KillAfter: cfg.KillAfter, ReconnectDelay: cfg.ReconnectDelay},
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name("natsock-bench"), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("bench: NATS %s: %w", cfg.NATSURL, err)
	}
	defer nc.Close()
	defer s.shutdown(closeClients)
	prog := startProgress(cfg.Progress, s.status)
	defer prog.stopProgress()

	t0 := time.Now()
	err = s.connectAll(ctx)
	res.ConnectTime = time.Since(t0)
	if err != nil {
		return nil, timedOut(err)
	}
	s.pub = newPublisher(rs, nc, s.counters)
	for _, c := range s.clients {
		s.readers.Go(func() { c.run(s) })
	}
	s.publishing.Store(true)

	killErr := make(chan error, 1)
	kill := time.AfterFunc(cfg.KillAfter, func() {
		s.pubAtKill.Store(s.pub.shown.Load())
		s.killedAt.Store(rs.now())
		killErr <- syscall.Kill(cfg.PID, syscall.SIGKILL)
	})
	defer kill.Stop()
	benchCPU0, pubStart := selfCPU(), rs.now()
	published, pubErr := s.pub.run(ctx)
	var kerr error
	select {
	case kerr = <-killErr:
	default:
		kill.Stop()
		kerr = fmt.Errorf("%w: publishing ended (%d messages) before --kill-after %v; publish more or kill sooner", errStormNotKilled, published, cfg.KillAfter)
	}
	if kerr == nil {
		s.drain(ctx, published)
	}
	res.BenchCPU = selfCPU() - benchCPU0
	s.shutdown(closeClients)
	s.tally(res, published, pubStart)
	switch {
	case kerr != nil:
		if errors.Is(kerr, errStormNotKilled) {
			return res, kerr
		}
		return res, fmt.Errorf("bench: killing node A (pid %d): %w", cfg.PID, kerr)
	case pubErr != nil && ctx.Err() == nil:
		return res, fmt.Errorf("bench: publishing to %s: %w", cfg.Subject, pubErr)
	case ctx.Err() != nil:
		return res, timedOut(ctx.Err())
	}
	return res, nil
}

// connectAll opens every client on node A, ConnectConcurrency at a time.
// The first error stops it.
func (s *stormRun) connectAll(ctx context.Context) error {
	cfg := &s.rs.cfg
	err := connectEach(ctx, cfg.Clients, cfg.ConnectConcurrency, func(ctx context.Context, i int) error {
		dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := dialStorm(dctx, s, i)
		dcancel()
		if err != nil {
			return err
		}
		s.clients[i] = c
		s.connected.Add(1)
		s.states[stormOnA].Add(1)
		return nil
	})
	if err != nil {
		return err
	}
	s.counters = make([]*client, len(s.clients))
	for i, c := range s.clients {
		s.counters[i] = &c.client
	}
	return nil
}

// drain waits until every client that has not failed holds every message
// published, or until none has made progress for Config.Drain.
func (s *stormRun) drain(ctx context.Context, published int64) {
	waitDrained(ctx, s.rs.cfg.Drain, func() (uint64, bool) {
		var sum uint64
		waiting := false
		for _, c := range s.counters {
			g := c.got.Load()
			sum += g
			if !c.ended.Load() && int64(g) < published {
				waiting = true
			}
		}
		return sum, waiting
	})
}

// shutdown closes every client and waits for their goroutines. Safe to
// call twice.
func (s *stormRun) shutdown(closeClients context.CancelFunc) {
	closeClients()
	for _, c := range s.clients {
		if c != nil {
			c.closeConn()
		}
	}
	s.readers.Wait()
}

// tally adds up what the clients measured, once their goroutines have
// ended.
func (s *stormRun) tally(res *Result, published, pubStart int64) {
	st := res.Storm
	killedAt := s.killedAt.Load()
	st.PublishedBeforeKill = s.pubAtKill.Load()
	var hist Histogram
	var last int64
	var recoverTimes, caughtUpTimes []time.Duration
	var lastResumePub int64
	for _, c := range s.clients {
		want := published
		res.Expected += want
		res.Delivered += int64(c.frames)
		res.Duplicates += int64(c.seq.dups)
		res.Late += int64(c.seq.late)
		res.Foreign += int64(c.foreign)
		lost := want - int64(c.seq.distinct)
		res.Lost += lost
		if lost > 0 {
			st.ClientsLosing++
			if len(st.LossExamples) < 3 {
				st.LossExamples = append(st.LossExamples, fmt.Sprintf(
					"client %d: missing seq %v of 0..%d; it had %d messages when node A died and resumed with offset %q (recovered %v)",
					c.i, c.seq.missing(uint64(published), 5), published-1, c.seqAtLoss, c.resumedFrom, c.recovered))
			}
		}
		if c.seq.dups > 0 {
			st.ClientsDuplicated++
		}
		st.MaxLostPerClient = max(st.MaxLostPerClient, lost)
		st.MaxDupsPerClient = max(st.MaxDupsPerClient, int64(c.seq.dups))
		hist.Merge(&c.hist)
		last = max(last, c.last)
		switch {
		case c.state == stormOnA:
			st.NeverLeftA++
		case c.state == stormFailed:
			st.Failed++
			if st.FirstFailure == "" && c.err != nil {
				st.FirstFailure = c.err.Error()
			}
		case c.recovered:
			st.Recovered++
			recoverTimes = append(recoverTimes, time.Duration(c.recoveredAt-killedAt))
			lastResumePub = max(lastResumePub, c.pubAtResume)
			if c.caughtUpAt != 0 {
				caughtUpTimes = append(caughtUpTimes, time.Duration(c.caughtUpAt-killedAt))
			}
		default:
			st.NotRecovered++
		}
		if c.closedByB > 0 {
			st.ClosedByB++
			if st.FirstFailure == "" && c.err != nil {
				st.FirstFailure = c.err.Error()
			}
		}
		st.Attempts += c.attempts
	}
	if n := len(recoverTimes); n > 0 {
		slices.Sort(recoverTimes)
		st.RecoverP50 = recoverTimes[n/2]
		st.RecoverP99 = recoverTimes[min(n-1, n*99/100)]
		st.RecoverMax = recoverTimes[n-1]
		// What was published from the kill until the last client resumed.
		st.PublishedDuringOutage = lastResumePub - st.PublishedBeforeKill
	}
	if n := len(caughtUpTimes); n > 0 {
		slices.Sort(caughtUpTimes)
		st.CaughtUpP50 = caughtUpTimes[n/2]
		st.CaughtUpMax = caughtUpTimes[n-1]
		st.CaughtUp = n
	}
	res.delivered(published, pubStart, last, &hist)
}

// status is the progress bar's line.
func (s *stormRun) status() string {
	cfg := &s.rs.cfg
	if !s.publishing.Load() {
		n := s.connected.Load()
		return fmt.Sprintf("connecting to A %s %d/%d", bar(n, int64(cfg.Clients)), n, cfg.Clients)
	}
	word := "publishing, A alive"
	if s.killedAt.Load() != 0 {
		word = "A killed"
	}
	return fmt.Sprintf("%s: on A %d, reconnecting %d, on B %d (recovered %d, caught up %d), failed %d; %d/%d msgs",
		word, s.states[stormOnA].Load(), s.states[stormReconnecting].Load(), s.states[stormOnB].Load(),
		s.recovered.Load(), s.caughtUp.Load(), s.states[stormFailed].Load(), s.pub.shown.Load(), cfg.Messages)
}

// errStormNotKilled is wrapped when a storm run ends before its kill.
var errStormNotKilled = errors.New("bench: node A was not killed")

// missing lists up to max sequence numbers below upTo that the tracker
// has not seen, among those its window still covers.
func (t *seqTracker) missing(upTo uint64, max int) []uint64 {
	var out []uint64
	for seq := t.base; seq < upTo && len(out) < max; seq++ {
		if seq >= t.base+t.mask+1 {
			break
		}
		i := seq & t.mask
		if t.bits[i/64]&(1<<(i%64)) == 0 {
			out = append(out, seq)
		}
	}
	return out
}
