package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/bridge/lifecycle"
	"github.com/natsock/natsock/bridge/sse"
	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// SSEPath is where server-sent events are served.
const SSEPath = "/events"

// SSEResetEvent is the event a resumed stream gets first when its
// Last-Event-ID is older than the recovery window (or otherwise cannot be
// resumed from): the events in between are lost, and the client should
// refetch what it shows. Its data is a JSON object {"lastEventId",
// "reason"}; its id, when recovery knows one, is where the stream goes on
// from, so that a reconnect after it resumes from there.
const SSEResetEvent = "natsock:reset"

// The defaults of SSEConfig.
const (
	DefaultSSEKeepAlive = 15 * time.Second
	DefaultSSERetry     = 3 * time.Second
	// MinSSEKeepAlive is the shortest SSEConfig.KeepAlive: comments more
	// frequent than this would be most of a stream's traffic.
	MinSSEKeepAlive = 100 * time.Millisecond
)

// SSEConfig configures server-sent events at [SSEPath]. A stream gets the
// limits of a socket.io session (SocketIO.Engine's MaxQueueBytes,
// MaxQueueMessages, SlowPolicy, WriteTimeout), counts in its
// MaxConnections and MaxConnectionsPerIP, and obeys its AllowOrigins.
type SSEConfig struct {
	// Disable turns GET /events off: it answers 404.
	Disable bool
	// KeepAlive is how long a stream may be silent before a comment is
	// written, so that proxies and load balancers keep it open. At least
	// MinSSEKeepAlive; zero means DefaultSSEKeepAlive (15s).
	KeepAlive time.Duration
	// Retry is the reconnection delay the stream's first message tells
	// EventSource to wait after the stream ends. Zero means
	// DefaultSSERetry (3s).
	Retry time.Duration
}

func (c SSEConfig) withDefaults() SSEConfig {
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultSSEKeepAlive
	}
	if c.Retry == 0 {
		c.Retry = DefaultSSERetry
	}
	return c
}

func (c SSEConfig) validate() []error {
	var errs []error
	switch {
	case c.KeepAlive < 0:
		errs = append(errs, &FieldError{Field: "SSE.KeepAlive", Err: errors.New("must not be negative")})
	case c.KeepAlive > 0 && c.KeepAlive < MinSSEKeepAlive:
		errs = append(errs, &FieldError{Field: "SSE.KeepAlive", Err: fmt.Errorf("%v is shorter than %v", c.KeepAlive, MinSSEKeepAlive)})
	}
	if c.Retry < 0 {
		errs = append(errs, &FieldError{Field: "SSE.Retry", Err: errors.New("must not be negative")})
	}
	return errs
}

// SSEStats count the server-sent event streams.
type SSEStats struct {
	Open       atomic.Int64  // streams open now
	Opened     atomic.Uint64 // streams opened
	Delivered  atomic.Uint64 // events queued to streams
	SlowClosed atomic.Uint64 // streams closed for a full queue
	Dropped    atomic.Uint64 // events dropped: a full queue under drop-oldest, or an event larger than the queue (a binary body's base64 can be)
	BadQuery   atomic.Uint64 // requests refused with 400
	Refused    atomic.Uint64 // requests refused by authentication
	Resumed    atomic.Uint64 // streams resumed from a Last-Event-ID
	Replayed   atomic.Uint64 // events written by resumes
	Reset      atomic.Uint64 // resumes that could not be served: SSEResetEvent sent
	BadName    atomic.Uint64 // events not sent to streams: their name holds a line break
}

// SSEStats returns the server-sent events' counters.
func (b *Bridge) SSEStats() *SSEStats { return &b.sse.stats }

// sseError is the JSON body of a refused GET /events: a code a program
// can test (for an authentication refusal, the auth.Code a socket's
// connect_error carries) and a message for people.
type sseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The codes of refusals that are not authentication's.
const (
	sseCodeBadQuery           = "bad_query"
	sseCodeMethod             = "method_not_allowed"
	sseCodeOrigin             = "origin_not_allowed"
	sseCodeForbidden          = "forbidden"
	sseCodeTooManyConnections = "too_many_connections"
)

func writeSSEError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(sseError{Code: code, Message: msg})
	_, _ = w.Write(append(b, '\n'))
}

// authStatus is the HTTP status of an authentication refusal: 401 for a
// credential that is missing or does not verify, 403 for one that
// verifies but is refused, 503 when the authorization service could not
// decide (the client may retry; it did nothing wrong).
func authStatus(c auth.Code) int {
	switch c {
	case auth.CodeRefused, auth.CodeTooManyRooms, auth.CodeRoomTooLong:
		return http.StatusForbidden
	case auth.CodeServiceUnavailable, auth.CodeServiceTimeout, auth.CodeServiceBadReply:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// serveSSE serves GET /events: see the package doc's "Server-sent events".
func (b *Bridge) serveSSE(w http.ResponseWriter, r *http.Request) {
	if b.cfg.SSE.Disable {
		http.NotFound(w, r)
		return
	}
	eng := b.sio.Engine()
	if !eng.AllowOrigin(w, r) {
		writeSSEError(w, http.StatusForbidden, sseCodeOrigin, "this origin may not read events; allow it with --cors-origin")
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodOptions: // a preflight: AllowOrigin answered it
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, OPTIONS")
		writeSSEError(w, http.StatusMethodNotAllowed, sseCodeMethod, "GET /events opens an event stream")
		return
	}
	if b.stopped.Load() {
		b.sseGoElsewhere(w)
		return
	}
	st := &b.sse.stats
	q, err := parseSSEQuery(r.URL.RawQuery, b.authQueryParam())
	if err == nil {
		err = b.mapping.checkSSEQuery(q)
	}
	var after uint64 // the Last-Event-ID, when resuming
	resume := false
	if err == nil {
		after, resume, err = b.lastEventID(r, q)
	}
	if err != nil {
		st.BadQuery.Add(1)
		writeSSEError(w, http.StatusBadRequest, sseCodeBadQuery, err.Error())
		return
	}
	if check := eng.Config().CheckRequest; check != nil {
		if err := check(r); err != nil {
			b.log.Info("event stream refused by the request check", "remote", r.RemoteAddr, "err", err)
			writeSSEError(w, http.StatusForbidden, sseCodeForbidden, "forbidden")
			return
		}
	}
	release, err := eng.Admit(r.RemoteAddr)
	if err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, engine.ErrTooManyConnectionsForIP) {
			status = http.StatusTooManyRequests
		}
		w.Header().Set("Retry-After", "5")
		writeSSEError(w, status, sseCodeTooManyConnections, err.Error())
		return
	}
	defer release()
	id, refusal := b.authenticateSSE(r, q.namespace)
	if refusal != nil {
		st.Refused.Add(1)
		if authStatus(refusal.Code) == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="natsock"`)
		}
		writeSSEError(w, authStatus(refusal.Code), string(refusal.Code), refusal.Message)
		return
	}

	ecfg := eng.Config()
	c := &sseClient{
		id:        newStreamID(),
		namespace: q.namespace,
		identity:  id,
		remote:    r.RemoteAddr,
		since:     time.Now().UTC(),
		stream: sse.NewStream(w, sse.Config{
			MaxQueueBytes:    ecfg.MaxQueueBytes,
			MaxQueueMessages: ecfg.MaxQueueMessages,
			DropOldest:       ecfg.SlowPolicy == engine.SlowDropOldest,
			WriteTimeout:     ecfg.WriteTimeout,
			KeepAlive:        b.cfg.SSE.KeepAlive,
		}),
		holding: resume, // live events wait for the replay
	}
	if id != nil {
		c.rooms = id.Rooms
	}
	if q.events != nil {
		c.events = make(map[string]struct{}, len(q.events))
		for _, ev := range q.events {
			c.events[ev] = struct{}{}
		}
	}
	// Registered before the first byte: whatever is published once the
	// client has the response headers reaches it (or, resuming, is held
	// until the replay is written).
	if !b.sse.add(c) {
		b.sseGoElsewhere(w)
		return
	}
	st.Open.Add(1)
	st.Opened.Add(1)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	reason := sse.ReasonTransportError
	if err := c.stream.Write(sse.AppendRetry(nil, b.cfg.SSE.Retry.Milliseconds())); err == nil {
		b.sseConnected(c)
		if resume {
			st.Resumed.Add(1)
			err = b.resumeSSE(r.Context(), c, after)
		}
		switch {
		case err == nil:
			reason = c.stream.Serve(r.Context())
		case errors.Is(err, errSSESlow):
			reason = sse.ReasonSlow
		case r.Context().Err() != nil:
			reason = sse.ReasonTransportClose
		case b.stopped.Load():
			reason = sse.ReasonServerShutdown
		}
	}
	b.sse.remove(c)
	st.Open.Add(-1)
	if reason == sse.ReasonSlow {
		st.SlowClosed.Add(1)
		b.log.Info("slow event stream closed: its queue is full", "stream", c.id, "remote", c.remote,
			"max_queue_bytes", ecfg.MaxQueueBytes, "max_queue_messages", ecfg.MaxQueueMessages)
	}
	b.sseDisconnected(c, reason)
}

// sseGoElsewhere answers a stream opened while the node shuts down: an
// empty stream that ends at once, with its retry delay, so that
// EventSource reconnects (to another node, or to this one restarted). A
// refusal (503) would be final: EventSource never retries a response
// that is not 200.
func (b *Bridge) sseGoElsewhere(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusOK)
	out := sse.AppendRetry(nil, b.cfg.SSE.Retry.Milliseconds())
	_, _ = w.Write(sse.AppendComment(out, "this node is shutting down; reconnect"))
}

// authQueryParam is the query parameter authentication reads a token
// from, as newAuthenticator sets it: "" when none.
func (b *Bridge) authQueryParam() string {
	if b.auth == nil {
		return ""
	}
	if p := b.cfg.Auth.Sources.Query; p != "" {
		return p
	}
	if b.cfg.SocketIO.Engine.AllowEIO3 {
		return "token"
	}
	return ""
}

// authenticateSSE decides a stream's request as a socket's handshake is
// decided (see authenticate): the same authenticator, sources and
// authorization service, the request's headers, cookies and query in
// place of the handshake's, and no auth payload. It returns the identity
// (nil: anonymous) or the refusal. Its verdicts count in AuthStats with
// the sockets' (and refusals in SSEStats.Refused too): one authenticator,
// one set of counters.
func (b *Bridge) authenticateSSE(r *http.Request, namespace string) (*auth.Identity, *auth.Refusal) {
	if b.auth == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), b.cfg.HandshakeTimeout)
	defer cancel()
	id, err := b.auth.Authenticate(ctx, b.conn.Load(), auth.Handshake{
		Namespace:  namespace,
		Header:     r.Header,
		Query:      r.URL.Query(),
		RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		b.authStats.Refused.Add(1)
		var rf *auth.Refusal
		if !errors.As(err, &rf) {
			rf = &auth.Refusal{Code: auth.CodeMalformed, Message: "authentication failed", Err: err}
		}
		level := b.log.Debug // the client's doing
		if authStatus(rf.Code) == http.StatusServiceUnavailable {
			level = b.log.Warn
		}
		level("refused an event stream", "code", string(rf.Code), "namespace", namespace,
			"remote", r.RemoteAddr, "reason", rf.Message, "err", rf.Err)
		return nil, rf
	}
	if id == nil {
		b.authStats.Anonymous.Add(1)
	} else {
		b.authStats.Authenticated.Add(1)
	}
	return id, nil
}

// publishSSE sends one mapped message to the streams its route reaches,
// as the event a socket gets (see sseData), with the stream sequence as
// its id when seq is not 0. deliver calls it beside the socket.io emit;
// it never blocks.
func (b *Bridge) publishSSE(route Route, data socketio.Data, seq uint64) {
	if b.sse.stats.Open.Load() == 0 {
		return
	}
	b.sse.publish(route, seq, b.sio.Engine().Config().MaxQueueBytes, func() ([]byte, error) { return sseFrame(route.Event, data, seq) })
}

// sseFrame is the event of one mapped message.
func sseFrame(event string, data socketio.Data, seq uint64) ([]byte, error) {
	ev := sse.Event{Name: event, Data: sseData(data)}
	if seq != 0 {
		ev.ID = strconv.FormatUint(seq, 10)
	}
	return sse.AppendEvent(nil, ev)
}

// sseData is a stream's data for an event whose one argument is d, as
// DecodePayload made it: always one JSON value, so that a client can
// JSON.parse every event. A JSON argument passes byte for byte (its line
// breaks as LF), a string argument is its JSON string, and a binary one,
// which text/event-stream cannot carry, is a JSON string of its standard
// base64 (RFC 4648, padded), as EncodeArgs inlines binary for NATS.
func sseData(d socketio.Data) []byte {
	if b, ok := d.Binary(0); ok {
		out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(b))+2)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, b)
		return append(out, '"')
	}
	if len(d.Args) == 0 {
		return []byte("null")
	}
	return d.Args[0]
}

// sseConnected and sseDisconnected publish a stream's lifecycle events,
// as a socket's: transport "sse", sid the stream's id.
func (b *Bridge) sseConnected(c *sseClient) {
	if b.lifecycle != nil {
		b.lifecycle.Publish(c.lifecycleEvent(lifecycle.TypeConnect, ""))
	}
}

func (b *Bridge) sseDisconnected(c *sseClient, reason sse.Reason) {
	if b.lifecycle != nil {
		b.lifecycle.Publish(c.lifecycleEvent(lifecycle.TypeDisconnect, string(reason)))
	}
}

// SSETransport is a stream's transport in lifecycle events.
const SSETransport = "sse"

func (c *sseClient) lifecycleEvent(typ, reason string) *lifecycle.Event {
	ev := &lifecycle.Event{
		Type:      typ,
		SID:       c.id,
		Namespace: c.namespace,
		Rooms:     c.rooms,
		Transport: SSETransport,
		Remote:    c.remote,
		Reason:    reason,
	}
	if typ == lifecycle.TypeDisconnect {
		at := c.since
		ev.ConnectedAt = &at
	}
	if c.identity != nil {
		ev.Sub = c.identity.Subject
		ev.Data = c.identity.Data
	}
	return ev
}

// closeSSE ends every stream at shutdown, each after its queue is
// written; the HTTP server's Shutdown then waits for their handlers.
func (b *Bridge) closeSSE() { b.sse.close() }
