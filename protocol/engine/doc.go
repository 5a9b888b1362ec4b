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
// # Limits
//
// Every wait on a client is bounded. A websocket write and a polling
// response have Config.WriteTimeout; a held polling GET is answered at
// least every ping interval (by the ping, or by the close packet when the
// heartbeat gives up); a polling body that trickles in has one heartbeat
// period. Config.MaxPayload bounds what a client sends (HTTP 413, or
// websocket close 1009), Config.MaxConnections and
// Config.MaxConnectionsPerIP the sessions (HTTP 503 and 429, with a JSON
// error and Retry-After). A message larger than a whole queue is refused
// by [Session.Send] with [ErrMessageTooLarge], leaving the session alone.
//
// A websocket the server closes gets a close frame whose reason text is the
// [Reason] ("parse error", "payload too large", "slow", "server shutting
// down"); after a refusal the server reads what the client was still
// sending for a moment before it closes, so that the close frame is not
// lost to a TCP reset.
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
