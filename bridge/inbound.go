package bridge

import (
	"context"
	"errors"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/protocol/socketio"
)

// NATS headers natsock sets on what it publishes for a client.
const (
	HeaderSocket = "Natsock-Socket" // the socket.io socket id
	HeaderEvent  = "Natsock-Event"  // the client's event name
)

// onClientEvent publishes a client's event per its --inbound rule, or
// requests when the client wants an acknowledgement. The rule decides
// first whether this socket may emit it (claims, the identity's emit list)
// and to which subject (claims in the subject). An event over the
// socket's inbound rate limit goes no further (see rateLimited). It runs on
// the client's read goroutine and never blocks on NATS: a request's reply
// comes back through the bridge's one reply subscription (requests.go),
// within the bounds Config.MaxInflightRequestsPerSocket and
// Config.MaxInflightRequests.
func (b *Bridge) onClientEvent(s *socketio.Socket, ev *socketio.Event) {
	st := b.stateOf(s)
	if b.cfg.InboundRate > 0 && b.rateLimited(s, st, ev) {
		return
	}
	rule, ok := b.inbound.Lookup(ev.Name)
	if !ok {
		b.stats.Unmapped.Add(1)
		b.log.Debug("client event has no inbound rule; not published", "event", ev.Name, "sid", s.ID())
		if ev.WantsAck() {
			_ = ev.Ack(errorData("event %q is not mapped to a NATS subject", ev.Name))
		}
		return
	}
	subject, err := rule.Authorize(identityOf(s))
	if err != nil {
		b.stats.Refused.Add(1)
		b.log.Debug("client event refused by its inbound rule", "event", ev.Name, "sid", s.ID(), "rule", rule.String(), "err", err)
		if ev.WantsAck() {
			_ = ev.Ack(errorData("%s", strings.TrimPrefix(err.Error(), ErrEmitRefused.Error()+": ")))
		}
		return
	}
	body, err := EncodeArgs(ev.Data)
	if err != nil {
		b.stats.BadInbound.Add(1)
		b.log.Info("client event refused", "event", ev.Name, "sid", s.ID(), "err", err)
		if ev.WantsAck() {
			_ = ev.Ack(errorData("bad arguments: %v", err))
		}
		return
	}
	msg := &nats.Msg{Subject: subject, Data: body, Header: inboundHeader(s, st, ev.Name)}
	if !ev.WantsAck() {
		if err := b.nc.PublishMsg(msg); err != nil {
			b.publishFailed(subject, ev.Name, err)
			return
		}
		b.stats.Published.Add(1)
		b.inboundStats[rule.Event].Published.Add(1)
		return
	}
	switch err := b.request(ev, st, msg); {
	case errors.Is(err, ErrSocketInflight):
		b.stats.RequestErrs.Add(1)
		b.log.Debug("acknowledged emit refused: the socket's requests in flight are at their bound", "event", ev.Name, "sid", s.ID(),
			"bound", b.cfg.MaxInflightRequestsPerSocket)
		_ = ev.Ack(errorData("too many requests in flight from this socket (%d): wait for an ack before emitting more; %q not sent",
			b.cfg.MaxInflightRequestsPerSocket, ev.Name))
		return
	case errors.Is(err, ErrTotalInflight):
		b.stats.RequestErrs.Add(1)
		b.log.Debug("acknowledged emit refused: the server's requests in flight are at their bound", "event", ev.Name, "sid", s.ID(),
			"bound", b.cfg.MaxInflightRequests)
		_ = ev.Ack(errorData("too many requests in flight on this server (%d); %q not sent, try again", b.cfg.MaxInflightRequests, ev.Name))
		return
	}
	b.stats.Requests.Add(1)
	b.inboundStats[rule.Event].Requests.Add(1)
}

// inboundHeader is the NATS header of a socket's event: its socket id and
// event name. It is built once per socket and event name and shared by
// every message that carries it, which nats.go only reads.
func inboundHeader(s *socketio.Socket, st *socketState, event string) nats.Header {
	if st != nil {
		if h := st.header.Load(); h != nil && h.event == event {
			return h.h
		}
	}
	h := nats.Header{HeaderSocket: {s.ID()}, HeaderEvent: {event}}
	if st != nil {
		st.header.Store(&eventHeader{event: event, h: h})
	}
	return h
}

// eventHeader is a socket's last inbound header and the event it names.
type eventHeader struct {
	event string
	h     nats.Header
}

// requestError names why a request behind an ack failed.
func (b *Bridge) requestError(subject string, err error) socketio.Data {
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return errorData("no responders on NATS subject %q", subject)
	case errors.Is(err, nats.ErrReconnectBufExceeded):
		if b.cfg.NATSReconnectBuffer < 0 {
			return errorData("NATS is disconnected and the reconnect buffer is off (-1: hold nothing); request to %q not sent", subject)
		}
		return errorData("NATS is disconnected and its reconnect buffer (%d bytes) is full; request to %q not sent",
			b.cfg.NATSReconnectBuffer, subject)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		if !b.nc.IsConnected() {
			return errorData("NATS request to %q timed out after %s: NATS is disconnected (the request waits in the reconnect buffer)",
				subject, b.cfg.RequestTimeout)
		}
		return errorData("NATS request to %q timed out after %s", subject, b.cfg.RequestTimeout)
	case errors.Is(err, errRepliesClosed):
		return errorData("NATS connection closed before the reply to the request to %q came", subject)
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return errorData("NATS connection is closing; request to %q not sent", subject)
	}
	return errorData("NATS request to %q failed: %v", subject, err)
}
