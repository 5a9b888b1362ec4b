// Package sse writes server-sent events: the text/event-stream format of
// the HTML standard ([EventSource]) and one client's stream, with the
// same bounded queue and slow-consumer policy as a socket.io session. It
// knows nothing of NATS, of authentication or of socket.io: package
// bridge decides who may open a stream and what goes into it.
//
// # Format
//
// [AppendEvent] writes one event: an "id:" field when the event has an
// id, an "event:" field when it has a name, and its data as one "data:"
// field a line, the data's line breaks (CRLF, LF or a lone CR, which the
// format cannot carry) written as LF, so that EventSource's MessageEvent
// data is the data with every line break an LF. A name or id holding a
// line break is refused ([ErrBadField]): it would end the field early and
// let the rest pass as fields of its own. [AppendComment] writes a
// comment line, which EventSource ignores and which keeps proxies from
// closing an idle stream; [AppendRetry] the reconnection delay hint.
//
// # Streams
//
// A [Stream] is one client's response. Events are queued by [Stream.Send]
// from any goroutine without blocking, up to [Config].MaxQueueBytes and
// MaxQueueMessages; past them the policy applies: the stream closes with
// [ReasonSlow] (the default, as a socket.io session does: nothing is
// delivered out of order or with a gap), or the oldest queued events are
// dropped ([Config].DropOldest). One goroutine, the request's own in
// [Stream.Serve], writes what is queued in one batch and flushes it, each
// write bounded by [Config].WriteTimeout, and writes a comment when
// nothing else was written for [Config].KeepAlive. [Stream.Close] ends
// the stream after what is queued is written.
//
// [EventSource]: https://html.spec.whatwg.org/multipage/server-sent-events.html
package sse
