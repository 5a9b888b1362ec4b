// Package engine is an Engine.IO v4 server (and v3, for socket.io v2
// clients) with the websocket and long-polling transports and the upgrade
// from one to the other.
//
// # Sessions
//
// A [Server] is an http.Handler. It hands each session to a [Handler]:
// OnOpen, then OnMessage for each message in order, then OnClose once.
// The order is a guarantee, even for a session that closes while its
// handshake is written: OnClose waits for OnOpen to return. A Handler that
// also implements [UpgradeHandler] is told, in that same order, when a
// polling session has upgraded to websocket.
// [Session.Send] queues a [Message] and never blocks on the network.
//
// # Fan-out and backpressure
//
// A Message is built once and may be sent to any number of sessions; each
// wire encoding is made on first use and shared. Every session has one
// outbound queue bounded by Config.MaxQueueBytes and
// Config.MaxQueueMessages. A websocket session's queue is written with one
// non-blocking vectored write (writev) by one of GOMAXPROCS writers; a
// socket that cannot take it all gets a goroutine of its own for the rest,
// within Config.WriteTimeout, so a slow client never holds a writer. A
// polling session's queue is the body of its next GET. When a
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
// pong deadline starts when the ping is queued: a session without an
// answer ends pingInterval + pingTimeout after the handshake or the last
// pong. That deadline is a time, not only a timer: every request checks it
// first, so a GET made after it gets 400 however late the timer goroutine
// runs on a loaded machine. A ping that a transport takes late (the timer
// ran late) moves the deadline to pingTimeout after it is taken, so the
// client that gets it always has pingTimeout to answer.
//
// # Requests that race
//
// A client can send two requests at once (a close and a GET, a "5" and a
// GET), and they may reach the server in either order. It answers them as
// Node.js does when they arrive in the order they were sent: a GET that
// arrives after the client's close still gets noop (the next gets 400); a
// GET made during an upgrade's probe is held for up to 100 ms, and gets
// 400 if the upgrade completes meanwhile, noop otherwise; a second
// websocket for an upgraded session completes its handshake and is closed.
//
// A graceful close (the application's, or a shutdown) delivers all that is
// queued for a polling client, in as many GETs as MaxPayload needs, then
// the close packet; the session waits up to two seconds for each GET.
//
// # Memory
//
// Nothing of the HTTP request survives the handshake but a [Handshake]
// copy (the headers kept, sized to them). An idle websocket session holds
// no goroutine and no read buffer: on Linux it waits in the server's epoll
// set, and a ready one is read without waiting, from memory, by a few
// long-lived readers (a frame that continues past what arrived gets a
// goroutine of its own); elsewhere it waits on a parked goroutine of its
// own with no buffer. See BenchmarkIdleWebSocket10k in package socketio.
package engine
