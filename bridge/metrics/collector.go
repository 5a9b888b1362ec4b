package metrics

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/auth"
)

// desc makes a natsock_ metric's description.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("natsock_"+name, help, labels, nil)
}

// The metrics, one description each; README's table lists them.
var (
	descSockets = desc("sockets",
		"Connected socket.io sockets, by namespace and transport (websocket or polling).", "namespace", "transport")
	descConnections = desc("connections",
		"Open Engine.IO sessions (client connections; one holds a socket per namespace it joined).")
	descSessionsOpened = desc("engine_sessions_opened_total",
		"Engine.IO sessions (client connections) opened.")
	descRefused = desc("connections_refused_total",
		"Handshakes refused by a connection limit: max_connections (503) or max_connections_per_ip (429).", "reason")

	descMapMessages = desc("map_messages_total",
		"NATS messages a --map rule emitted as an event (events out, per message).", "map")
	descMapDeliveries = desc("map_deliveries_total",
		"Socket deliveries queued for a --map rule's events (events out, per socket).", "map")
	descMapNATSDropped = desc("map_nats_dropped_total",
		"Messages NATS dropped before natsock read them: the rule's subscription passed its pending limits (slow consumer).", "map")
	descMessagesDropped = desc("messages_dropped_total",
		"NATS messages natsock dropped instead of emitting: bad_room (the room cannot be built from the subject), reserved (the event name is socket.io's), too_large (larger than a client's whole queue).", "reason")
	descLatency = desc("emit_latency_seconds",
		"Time from a message's publish (its Natsock-Published-At header, from=publisher) or from natsock's receipt (no header, from=receipt) to its emit: queued to every socket it targets.", "from")
	descBadTimestamp = desc("published_at_invalid_total",
		"NATS messages whose Natsock-Published-At header is not Unix nanoseconds; their latency is measured from receipt.")

	descSlow = desc("slow_disconnects_total",
		"Sockets disconnected (reason \"slow\") because their outbound queue was full, under --slow-policy disconnect.")
	descQueueDropped = desc("queue_dropped_total",
		"Messages dropped from a full outbound queue under --slow-policy drop-oldest.")
	descQueueTooLarge = desc("queue_too_large_total",
		"Sends refused because the message alone was larger than --max-queue-bytes.")
	descWrites = desc("websocket_writes_total",
		"Websocket writes to clients (each carries one or more messages).")
	descFrames = desc("websocket_frames_total",
		"Messages written to clients over websocket.")

	descInboundPublished = desc("inbound_published_total",
		"Client events an --inbound rule published to NATS (events in).", "inbound")
	descInboundRequests = desc("inbound_requests_total",
		"Client events an --inbound rule sent as NATS requests, the client having asked for an acknowledgement (events in).", "inbound")
	descInboundDropped = desc("inbound_dropped_total",
		"Client events not published: unmapped (no --inbound rule), refused (the rule's claims or the identity's emit list), rate_limited (over --inbound-rate), failed (bad arguments, or NATS refused the publish).", "reason")
	descRequestErrors = desc("inbound_request_errors_total",
		"Acknowledged client events answered with an error: timeout, no responders, too many requests in flight, NATS away.")
	descBufferFull = desc("inbound_buffer_full_total",
		"Client events lost while NATS was away because its reconnect buffer (--nats-reconnect-buffer) was full.")

	descAuth = desc("auth_handshakes_total",
		"Handshakes authentication decided: authenticated, anonymous (no credential, none required), refused.", "result")
	descAuthRefused = desc("auth_refusals_total",
		"Handshakes refused, by the connect_error's data.code (no_token, expired, bad_signature, ...).", "code")

	descNATSConnected = desc("nats_connected",
		"1 while natsock is connected to NATS, else 0.")
	descNATSReconnects = desc("nats_reconnects_total",
		"Reconnections to NATS since natsock started.")
	descReady = desc("ready",
		"1 while /readyz answers ready (NATS connected, every subscription registered), else 0.")

	descSSEStreams = desc("sse_streams",
		"Server-sent event streams (GET /events) open now.")
	descSSEOpened = desc("sse_streams_opened_total",
		"Server-sent event streams opened.")
	descSSEDelivered = desc("sse_deliveries_total",
		"Events queued to server-sent event streams.")
	descSSESlow = desc("sse_slow_disconnects_total",
		"Server-sent event streams closed because their queue was full.")
	descSSEDropped = desc("sse_dropped_total",
		"Events dropped from a full server-sent event stream's queue under drop-oldest.")
	descSSERefused = desc("sse_refused_total",
		"GET /events refused: bad_query (400) or auth (authentication refused).", "reason")

	descRecoveryResumes = desc("recovery_resumes_total",
		"Connection-state recovery (--recovery) resumes: recovered (a hit: the socket got what it missed, socket.recovered true) or refused (a miss: bad or foreign pid, offset outside the stream or the window; the socket starts afresh).", "result")
	descRecoveryReplayed = desc("recovery_replayed_total",
		"Events replayed to resumed sockets.")
	descRecoveryFailed = desc("recovery_replay_failures_total",
		"Replays that failed after the resume was honoured (the client reconnects and resumes again).")

	descLifecycle = desc("lifecycle_events_total",
		"Lifecycle events (--lifecycle-subject): published, or dropped (queue full, NATS refused, shutting down).", "result")
)

// collector reads the bridge's counters at scrape time: nothing on the
// bridge's paths changes for it.
type collector struct{ b *bridge.Bridge }

var _ prometheus.Collector = collector{}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descSockets, descConnections, descSessionsOpened, descRefused,
		descMapMessages, descMapDeliveries, descMapNATSDropped, descMessagesDropped, descLatency, descBadTimestamp,
		descSlow, descQueueDropped, descQueueTooLarge, descWrites, descFrames,
		descInboundPublished, descInboundRequests, descInboundDropped, descRequestErrors, descBufferFull,
		descAuth, descAuthRefused,
		descNATSConnected, descNATSReconnects, descReady,
		descSSEStreams, descSSEOpened, descSSEDelivered, descSSESlow, descSSEDropped, descSSERefused,
		descRecoveryResumes, descRecoveryReplayed, descRecoveryFailed, descLifecycle,
	} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	boolean := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}

	for _, sc := range b.SocketCounts() {
		gauge(descSockets, float64(sc.Sockets), sc.Namespace, sc.Transport)
	}
	gauge(descConnections, float64(b.Connections()))
	es := b.EngineStats()
	counter(descSessionsOpened, es.Opened)
	counter(descRefused, es.RefusedMax, "max_connections")
	counter(descRefused, es.RefusedPerIP, "max_connections_per_ip")
	counter(descSlow, es.SlowClosed)
	counter(descQueueDropped, es.Dropped)
	counter(descQueueTooLarge, es.TooLarge)
	counter(descWrites, es.Writes)
	counter(descFrames, es.Frames)

	// A rule's label is its text as given: as many series as rules, which
	// the operator wrote.
	for _, m := range b.MapRules() {
		rule := m.Rule.String()
		counter(descMapMessages, m.Stats.Received.Load(), rule)
		counter(descMapDeliveries, m.Stats.Emitted.Load(), rule)
		counter(descMapNATSDropped, m.Dropped, rule)
	}
	st := b.Stats()
	counter(descMessagesDropped, st.BadRoom.Load(), "bad_room")
	counter(descMessagesDropped, st.Reserved.Load(), "reserved")
	counter(descMessagesDropped, st.TooLarge.Load(), "too_large")
	lat := b.EmitLatency()
	histogram(ch, &lat.FromPublish, "publisher")
	histogram(ch, &lat.FromReceipt, "receipt")
	counter(descBadTimestamp, lat.BadHeader.Load())

	for _, in := range b.InboundRules() {
		rule := in.Rule.String()
		counter(descInboundPublished, in.Stats.Published.Load(), rule)
		counter(descInboundRequests, in.Stats.Requests.Load(), rule)
	}
	counter(descInboundDropped, st.Unmapped.Load(), "unmapped")
	counter(descInboundDropped, st.Refused.Load(), "refused")
	counter(descInboundDropped, st.RateLimited.Load(), "rate_limited")
	counter(descInboundDropped, st.BadInbound.Load(), "failed")
	counter(descRequestErrors, st.RequestErrs.Load())
	counter(descBufferFull, st.BufferFull.Load())

	as := b.AuthStats()
	counter(descAuth, as.Authenticated.Load(), "authenticated")
	counter(descAuth, as.Anonymous.Load(), "anonymous")
	counter(descAuth, as.Refused.Load(), "refused")
	byCode := as.RefusedByCode()
	codes := make([]string, 0, len(byCode))
	for code := range byCode {
		codes = append(codes, string(code))
	}
	slices.Sort(codes)
	for _, code := range codes {
		counter(descAuthRefused, byCode[auth.Code(code)], code)
	}

	ns := b.NATSState()
	gauge(descNATSConnected, boolean(ns.Connected))
	counter(descNATSReconnects, ns.Reconnects)
	gauge(descReady, boolean(b.Ready()))

	ss := b.SSEStats()
	gauge(descSSEStreams, float64(ss.Open.Load()))
	counter(descSSEOpened, ss.Opened.Load())
	counter(descSSEDelivered, ss.Delivered.Load())
	counter(descSSESlow, ss.SlowClosed.Load())
	counter(descSSEDropped, ss.Dropped.Load())
	counter(descSSERefused, ss.BadQuery.Load(), "bad_query")
	counter(descSSERefused, ss.Refused.Load(), "auth")

	rs := b.RecoveryStats()
	counter(descRecoveryResumes, rs.Recovered.Load(), "recovered")
	counter(descRecoveryResumes, rs.Refused.Load(), "refused")
	counter(descRecoveryReplayed, rs.Replayed.Load())
	counter(descRecoveryFailed, rs.Failed.Load())

	if ls := b.LifecycleStats(); ls != nil {
		counter(descLifecycle, ls.Published.Load(), "published")
		counter(descLifecycle, ls.Dropped.Load(), "dropped")
	}
}

// histogram sends one of the bridge's latency histograms, in seconds.
func histogram(ch chan<- prometheus.Metric, h *bridge.Latency, from string) {
	cumulative, count, sum := h.Snapshot()
	buckets := make(map[float64]uint64, len(cumulative))
	for i, bound := range bridge.LatencyBounds {
		buckets[bound.Seconds()] = cumulative[i]
	}
	ch <- prometheus.MustNewConstHistogram(descLatency, count, sum.Seconds(), buckets, from)
}
