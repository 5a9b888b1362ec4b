// Package metrics serves a bridge's counters as Prometheus metrics: what
// natsock serves at /metrics, or on its own listener with
// --metrics-listen.
//
// # No cost on the hot path
//
// The bridge counts with atomics as it works (bridge.Stats, one
// bridge.MapStats a --map rule, one bridge.InboundStats a --inbound rule,
// the engine's counters, the bridge.Latency histograms); this package
// never touches those paths. Its collector reads the counters when
// Prometheus scrapes and hands them over as constant metrics, so a fan-out
// costs what it cost before metrics existed, and package bridge does not
// import Prometheus. Counting the sockets by transport is the one
// measure that looks at every socket, at scrape time.
//
// # Names and labels
//
// Every metric is named natsock_...; README's table lists them. Labels
// are bounded: a rule's label is its text as given (one series a rule the
// operator wrote), a namespace is one the --map rules declare, and
// reasons, results and auth codes are fixed sets. No label takes a
// subject, a socket id or anything else a client or publisher chooses.
// Go's runtime metrics (go_...) and the process's (process_...) are
// registered too.
//
// # Latency
//
// natsock_emit_latency_seconds measures a message from its publisher's
// Natsock-Published-At header (Unix nanoseconds; `natsock publish` sets
// it) to its emit, labelled from="publisher", or, without the header,
// from natsock's receipt, from="receipt". The emit is the event queued to
// every socket it targets; the network write comes after.
//
// # The demo page
//
// [Metrics.TotalsHandler] serves the same registry as one JSON object,
// each natsock_ metric summed over its labels: the demo page charts it.
package metrics
