package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what one run measured. Durations are in nanoseconds and sizes
// in bytes, in JSON as in Go; a zero field was not measured.
type Result struct {
	// What was run.
	URL       string  `json:"url"`
	Transport string  `json:"transport"`
	Scenario  string  `json:"scenario"` // broadcast or targeted
	Clients   int     `json:"clients"`  // in a targeted run, one user each
	Size      int     `json:"size"`
	Rate      float64 `json:"rate"`             // messages/s; 0: windowed
	Window    int     `json:"window,omitempty"` // when Rate is 0
	Subject   string  `json:"subject,omitempty"`
	Event     string  `json:"event,omitempty"`

	// Connecting.
	ConnectTime time.Duration `json:"connect_ns"` // until every client had joined
	Held        time.Duration `json:"held_ns,omitempty"`

	// Delivery.
	Published int64 `json:"published"`       // messages
	Expected  int64 `json:"expected_frames"` // Published x Clients; in a targeted run, Published
	Delivered int64 `json:"delivered_frames"`
	// Lost counts messages a client should have received and never did
	// (in a targeted run: published to a user, never received by that
	// user's client).
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"` // received more than once
	Late       int64 `json:"late,omitempty"`
	// Misdelivered counts a targeted run's messages received by a client
	// whose user they were not for.
	Misdelivered   int64         `json:"misdelivered"`
	Foreign        int64         `json:"foreign_frames,omitempty"` // events that were not this run's messages
	Disconnected   int           `json:"disconnected"`             // clients whose server ended them
	DisconnectErr  string        `json:"disconnect_error,omitempty"`
	DeliveryTime   time.Duration `json:"delivery_ns"` // first publish to last frame
	FramesPerSec   float64       `json:"frames_per_sec"`
	MessagesPerSec float64       `json:"messages_per_sec"`

	// Latency from publish to receive.
	LatencyP50  time.Duration `json:"latency_p50_ns"`
	LatencyP90  time.Duration `json:"latency_p90_ns"`
	LatencyP99  time.Duration `json:"latency_p99_ns"`
	LatencyMax  time.Duration `json:"latency_max_ns"`
	LatencyMean time.Duration `json:"latency_mean_ns"`

	// The server, when its PID was given.
	ServerPID         int           `json:"server_pid,omitempty"`
	ServerRSSBefore   int64         `json:"server_rss_before,omitempty"`
	ServerRSSAfter    int64         `json:"server_rss_after,omitempty"`
	MemPerConn        float64       `json:"server_mem_per_conn,omitempty"`
	ServerCPU         time.Duration `json:"server_cpu_ns,omitempty"` // while delivering
	ServerCPUPerFrame float64       `json:"server_cpu_per_frame_ns,omitempty"`
	// ServerCPUPerMessage is ServerCPU over Published: in a targeted run,
	// the server's CPU per targeted message.
	ServerCPUPerMessage float64 `json:"server_cpu_per_message_ns,omitempty"`
	// ServerCPUPerEvent is, in an inbound run, ServerCPU over the events
	// that reached NATS; in an ack run, over the acks that came back.
	ServerCPUPerEvent float64 `json:"server_cpu_per_event_ns,omitempty"`

	// An ack run's acks that did not echo their event: the server's
	// errors (such as {"error": "too many requests in flight"}).
	AckErrors int64  `json:"ack_errors,omitempty"`
	AckError  string `json:"ack_error,omitempty"` // the first one

	// A storm run's reconnect storm.
	Storm *StormResult `json:"storm,omitempty"`

	// The bench itself, while delivering (or connecting, for an idle run).
	BenchCPU         time.Duration `json:"bench_cpu_ns"`
	BenchCPUPerFrame float64       `json:"bench_cpu_per_frame_ns"`
}

// WriteText writes r for a person, in the manner of `nats bench`.
func (r *Result) WriteText(w io.Writer) error {
	if isInbound(r.Scenario) {
		return r.writeInboundText(w)
	}
	if r.Storm != nil {
		return r.writeStormText(w)
	}
	var b strings.Builder
	idle := r.Published == 0 && r.Held > 0
	targeted := r.Scenario == ScenarioTargeted
	fmt.Fprintf(&b, "natsock bench: %d %s clients on %s", r.Clients, r.Transport, r.URL)
	if !idle {
		pace := fmt.Sprintf("%s msgs/s", si(r.Rate))
		switch {
		case r.Rate == 0 && targeted:
			pace = fmt.Sprintf("as fast as the clients keep up, window %d", r.Window)
		case r.Rate == 0:
			pace = fmt.Sprintf("as fast as the slowest client, window %d", r.Window)
		}
		if targeted {
			fmt.Fprintf(&b, "; %d-byte messages, each to one of %d users on %s.<user> as %q, %s",
				r.Size, r.Clients, r.Subject, r.Event, pace)
		} else {
			fmt.Fprintf(&b, "; %d-byte messages on %s as %q, %s", r.Size, r.Subject, r.Event, pace)
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  connect     %d clients in %v (%s/s)\n", r.Clients, round(r.ConnectTime), si(float64(r.Clients)/r.ConnectTime.Seconds()))
	if idle {
		fmt.Fprintf(&b, "  held        %v\n", round(r.Held))
	} else {
		if targeted {
			fmt.Fprintf(&b, "  delivered   %d of %d targeted messages in %v: %s deliveries/s\n",
				r.Delivered, r.Expected, round(r.DeliveryTime), si(r.FramesPerSec))
			fmt.Fprintf(&b, "  lost        %d   misdelivered %d   duplicated %d   disconnected %d",
				r.Lost, r.Misdelivered, r.Duplicates, r.Disconnected)
		} else {
			fmt.Fprintf(&b, "  delivered   %d of %d frames in %v: %s frames/s (%s msgs/s to each client)\n",
				r.Delivered, r.Expected, round(r.DeliveryTime), si(r.FramesPerSec), si(r.MessagesPerSec))
			fmt.Fprintf(&b, "  lost        %d   duplicated %d   disconnected %d", r.Lost, r.Duplicates, r.Disconnected)
		}
		if r.Late > 0 {
			fmt.Fprintf(&b, "   late %d", r.Late)
		}
		if r.Foreign > 0 {
			fmt.Fprintf(&b, "   foreign frames %d", r.Foreign)
		}
		b.WriteString("\n")
		if r.DisconnectErr != "" {
			fmt.Fprintf(&b, "  first disconnect: %s\n", r.DisconnectErr)
		}
		fmt.Fprintf(&b, "  latency     p50 %v   p90 %v   p99 %v   max %v   mean %v\n",
			round(r.LatencyP50), round(r.LatencyP90), round(r.LatencyP99), round(r.LatencyMax), round(r.LatencyMean))
	}
	if r.ServerPID != 0 {
		fmt.Fprintf(&b, "  server      pid %d: %s/connection (RSS %s -> %s)", r.ServerPID,
			bytesIEC(r.MemPerConn), bytesIEC(float64(r.ServerRSSBefore)), bytesIEC(float64(r.ServerRSSAfter)))
		switch {
		case targeted && !idle:
			fmt.Fprintf(&b, "; CPU %v, %.3f us/targeted message", round(r.ServerCPU), r.ServerCPUPerMessage/1e3)
		case !idle:
			fmt.Fprintf(&b, "; CPU %v, %.3f us/frame", round(r.ServerCPU), r.ServerCPUPerFrame/1e3)
		}
		b.WriteString("\n")
	}
	if idle {
		fmt.Fprintf(&b, "  bench CPU   %v while connecting\n", round(r.BenchCPU))
	} else {
		fmt.Fprintf(&b, "  bench CPU   %v, %.3f us/frame\n", round(r.BenchCPU), r.BenchCPUPerFrame/1e3)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// round keeps a duration's three leading digits.
func round(d time.Duration) time.Duration {
	for _, u := range []time.Duration{time.Second, time.Millisecond, time.Microsecond} {
		if d >= 100*u {
			return d.Round(u)
		}
		if d >= u {
			return d.Round(u / 100)
		}
	}
	return d
}

// si writes v with a k or M suffix and three significant digits. The
// bounds sit where three digits round up to the next suffix: 999.7 is
// "1k", not "1e+03".
func si(v float64) string {
	switch {
	case v >= 999.5e3:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 999.5:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

// bytesIEC writes a size in B, KiB, MiB or GiB.
func bytesIEC(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%.0f B", v)
	for i, u := range []string{"KiB", "MiB", "GiB"} {
		if v >= float64(int64(1)<<(10*(i+1))) {
			s = fmt.Sprintf("%.1f %s", v/float64(int64(1)<<(10*(i+1))), u)
		}
	}
	if neg {
		return "-" + s
	}
	return s
}

// delivered fills the rates and latencies of a run that published
// published messages from start (on the run's clock), whose last frame
// arrived at last, with hist its latencies, and the bench's CPU per frame.
func (res *Result) delivered(published, start, last int64, hist *Histogram) {
	res.Published = published
	if last > start {
		res.DeliveryTime = time.Duration(last - start)
		res.FramesPerSec = float64(res.Delivered) / res.DeliveryTime.Seconds()
		res.MessagesPerSec = float64(published) / res.DeliveryTime.Seconds()
	}
	res.LatencyP50 = hist.Quantile(0.50)
	res.LatencyP90 = hist.Quantile(0.90)
	res.LatencyP99 = hist.Quantile(0.99)
	res.LatencyMax = hist.Max()
	res.LatencyMean = hist.Mean()
	if res.Delivered > 0 {
		res.BenchCPUPerFrame = float64(res.BenchCPU) / float64(res.Delivered)
	}
}
