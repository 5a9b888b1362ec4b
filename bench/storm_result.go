package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// StormResult is what a storm run measured of the reconnect storm. Times
// are from node A's kill. A client is recovered when node B answered its
// resume with the pid it had (socket.recovered in socket.io-client), and
// caught up once it then held every message published before it resumed.
type StormResult struct {
	FailoverURL    string        `json:"failover_url"`
	KillAfter      time.Duration `json:"kill_after_ns"`
	ReconnectDelay time.Duration `json:"reconnect_delay_ns"`

	PublishedBeforeKill int64 `json:"published_before_kill"`
	// PublishedDuringOutage counts the messages published from the kill
	// until the last client resumed on node B: what recovery had to
	// replay to that client.
	PublishedDuringOutage int64 `json:"published_during_outage"`

	Recovered    int `json:"recovered"`     // clients node B recovered
	NotRecovered int `json:"not_recovered"` // resumed with a new pid: socket.recovered false
	Failed       int `json:"failed"`        // never connected to node B within the run
	// ClosedByB counts clients whose connection node B ended after their
	// resume (each then resumed again, as socket.io-client would).
	ClosedByB    int    `json:"closed_by_b"`
	NeverLeftA   int    `json:"never_left_a"` // still on node A when the run ended
	FirstFailure string `json:"first_failure,omitempty"`
	Attempts     int    `json:"attempts"` // connection attempts to node B, all clients

	RecoverP50  time.Duration `json:"recover_p50_ns"`
	RecoverP99  time.Duration `json:"recover_p99_ns"`
	RecoverMax  time.Duration `json:"recover_max_ns"` // until every recovered client was
	CaughtUp    int           `json:"caught_up"`
	CaughtUpP50 time.Duration `json:"caught_up_p50_ns"`
	CaughtUpMax time.Duration `json:"caught_up_max_ns"`

	ClientsLosing int `json:"clients_losing"` // clients that lost at least one message
	// LossExamples describes the first few clients that lost messages:
	// which, and the offset they resumed from.
	LossExamples      []string `json:"loss_examples,omitempty"`
	MaxLostPerClient  int64    `json:"max_lost_per_client"`
	ClientsDuplicated int      `json:"clients_duplicated"`
	MaxDupsPerClient  int64    `json:"max_duplicates_per_client"`
}

// validateStorm adds a storm run's problems to bad's list.
func (c Config) validateStorm(bad func(format string, args ...any)) {
	if c.Transport == TransportPolling {
		bad("--scenario storm runs on websocket clients, not --transport polling")
	}
	if c.FailoverURL == "" {
		bad("--scenario storm needs --failover-url: node B, where the clients resume")
	} else if _, err := serverAddr(c.FailoverURL); err != nil {
		bad("--failover-url %q: %v", c.FailoverURL, err)
	}
	if c.PID <= 0 {
		bad("--scenario storm needs --pid: node A's process id, which the bench SIGKILLs")
	}
	if c.Rate <= 0 {
		bad("--scenario storm needs a --rate above 0: messages flow at a steady rate across the kill")
	}
	if c.Messages <= 0 {
		bad("--scenario storm needs --messages above 0")
	}
}

// writeStormText writes a storm run for a person.
func (r *Result) writeStormText(w io.Writer) error {
	s := r.Storm
	var b strings.Builder
	fmt.Fprintf(&b, "natsock bench: reconnect storm: %d websocket clients on node A %s (pid %d), SIGKILLed after %v; they resume on node B %s; %d-byte messages on %s as %q, %s msgs/s\n",
		r.Clients, r.URL, r.ServerPID, s.KillAfter, s.FailoverURL, r.Size, r.Subject, r.Event, si(r.Rate))
	fmt.Fprintf(&b, "  connect     %d clients in %v (%s/s)\n", r.Clients, round(r.ConnectTime), si(float64(r.Clients)/r.ConnectTime.Seconds()))
	fmt.Fprintf(&b, "  published   %d: %d before the kill, %d from the kill until the last client resumed\n",
		r.Published, s.PublishedBeforeKill, s.PublishedDuringOutage)
	fmt.Fprintf(&b, "  recovered   %d of %d clients; not recovered %d, failed %d, never left A %d, closed by B after resuming %d; %d connection attempts (reconnect delay %v)\n",
		s.Recovered, r.Clients, s.NotRecovered, s.Failed, s.NeverLeftA, s.ClosedByB, s.Attempts, s.ReconnectDelay)
	if s.FirstFailure != "" {
		fmt.Fprintf(&b, "  first failure: %s\n", s.FirstFailure)
	}
	fmt.Fprintf(&b, "  recover     from the kill: p50 %v   p99 %v   all %v\n", round(s.RecoverP50), round(s.RecoverP99), round(s.RecoverMax))
	fmt.Fprintf(&b, "  caught up   %d clients; from the kill: p50 %v   all %v\n", s.CaughtUp, round(s.CaughtUpP50), round(s.CaughtUpMax))
	fmt.Fprintf(&b, "  delivered   %d of %d frames\n", r.Delivered, r.Expected)
	fmt.Fprintf(&b, "  lost        %d (%d clients, at most %d each)   duplicated %d (%d clients, at most %d each)",
		r.Lost, s.ClientsLosing, s.MaxLostPerClient, r.Duplicates, s.ClientsDuplicated, s.MaxDupsPerClient)
	if r.Late > 0 {
		fmt.Fprintf(&b, "   late %d", r.Late)
	}
	if r.Foreign > 0 {
		fmt.Fprintf(&b, "   foreign frames %d", r.Foreign)
	}
	b.WriteString("\n")
	for _, e := range s.LossExamples {
		fmt.Fprintf(&b, "    %s\n", e)
	}
	fmt.Fprintf(&b, "  latency     p50 %v   p90 %v   p99 %v   max %v (replayed messages count from their publish)\n",
		round(r.LatencyP50), round(r.LatencyP90), round(r.LatencyP99), round(r.LatencyMax))
	fmt.Fprintf(&b, "  bench CPU   %v, %.3f us/frame\n", round(r.BenchCPU), r.BenchCPUPerFrame/1e3)
	_, err := io.WriteString(w, b.String())
	return err
}
