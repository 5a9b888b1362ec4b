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
// socket's inbound rate limit goes no further (see rateLimited). It runs on the
// client's read goroutine, so requests go to their own goroutine.
func (b *Bridge) onClientEvent(s *socketio.Socket, ev *socketio.Event) {
	if b.cfg.InboundRate > 0 && b.rateLimited(s, b.stateOf(s), ev) {
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
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(HeaderSocket, s.ID())
	msg.Header.Set(HeaderEvent, ev.Name)
	if !ev.WantsAck() {
		if err := b.nc.PublishMsg(msg); err != nil {
			b.publishFailed(subject, ev.Name, err)
			return
		}
		b.stats.Published.Add(1)
		b.inboundStats[rule.Event].Published.Add(1)
		return
	}
	select {
	case b.inflight <- struct{}{}:
	default:
		b.stats.RequestErrs.Add(1)
		_ = ev.Ack(errorData("too many requests in flight (%d); try again", cap(b.inflight)))
		return
	}
	b.stats.Requests.Add(1)
	b.inboundStats[rule.Event].Requests.Add(1)
	b.wg.Go(func() {
		defer func() { <-b.inflight }()
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.RequestTimeout)
		defer cancel()
		reply, err := b.nc.RequestMsgWithContext(ctx, msg)
		if err != nil {
			b.stats.RequestErrs.Add(1)
			if errors.Is(err, nats.ErrReconnectBufExceeded) {
				b.stats.BufferFull.Add(1)
				b.outageDropped.Add(1)
			}
			_ = ev.Ack(b.requestError(subject, err))
			return
		}
		data, _ := DecodePayload(reply.Data)
		_ = ev.Ack(data)
	})
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
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return errorData("NATS connection is closing; request to %q not sent", subject)
	}
	return errorData("NATS request to %q failed: %v", subject, err)
}
