// Package engine is an Engine.IO v4 server (and v3, for socket.io v2
// clients) with the websocket and long-polling transports and the upgrade
// from one to the other.
//
// # Sessions
//
// A [Server] is an http.Handler. It hands each session to a [Handler]:
// OnOpen, then OnMessage for each message in order, then OnClose once.
// [Session.Send] queues a [Message] and never blocks on the network.
//
// # Fan-out and backpressure
//
// A Message is built once and may be sent to any number of sessions; each
// wire encoding is made on first use and shared. Every session has one
// outbound queue bounded by Config.MaxQueueBytes and
// Config.MaxQueueMessages. A websocket session's queue is written with one
// vectored write (writev) by a goroutine that runs only while the queue is
// non-empty; a polling session's queue is the body of its next GET. When a
// queue is full, Config.SlowPolicy applies: [SlowDisconnect] closes the
// session with [ReasonSlow], [SlowDropOldest] drops the oldest messages.
//
// # Heartbeats
//
// The heartbeats and timeouts of every session share one timer heap and
// goroutine. The ping timers start before the handshake is written, and the
// pong deadline starts when the ping is queued.
//
// # Memory
//
// Nothing of the HTTP request survives the handshake but a [Handshake]
// copy; an idle websocket session holds its read goroutine, a 512-byte read
// buffer and the session itself.
package engine
