// Package socketio is a Socket.IO v5 server built on package engine, with
// a small Go API rather than a port of the Node.js one.
//
// # Namespaces and sockets
//
// [Server.Of] returns a [Namespace]; a client connecting to any other
// namespace is refused with connect_error "Invalid namespace". A
// namespace's [Middleware] functions vet each [Socket] (its Auth payload and
// Handshake) and may refuse it with a [ConnectError] carrying data.
// Handlers are set per namespace ([Namespace.On], [Namespace.OnAny]), so a
// socket costs no map of its own. Namespaces exist only once the program
// calls [Server.Of]; neither a client nor a message creates one
// ([Server.Lookup] never does).
//
// # A socket's life
//
// Middlewares run first; they may [Socket.Join] rooms, which the socket
// enters when it connects and which go with it if a middleware refuses.
// [Namespace.OnConnect] runs once the client has its CONNECT answer.
// [Namespace.OnAny] sees every event, before the event's own handler.
// When the socket leaves, [Namespace.OnDisconnecting] runs while its rooms
// are known, then it leaves them and its pending acknowledgements fail,
// then [Namespace.OnDisconnect] runs. [Socket.Disconnect] with close
// leaves every namespace of the connection before closing it.
//
// # Events and acknowledgements
//
// Arguments travel as [Data]: raw JSON plus binary attachments, so a server
// passes them on byte for byte. [Event.Ack] answers a client's callback;
// [Socket.EmitWithAck] asks the client for one, with a timeout.
//
// # Rooms and broadcasts
//
// Sockets [Socket.Join] rooms; [Namespace.To] and [Broadcast.Except] pick
// recipients; [Broadcast.Emit] encodes the packet once and queues the same
// bytes to every recipient without blocking on any of them.
//
// # Connection state recovery
//
// With [Config.Recovery] set, the server speaks socket.io 4.6+'s
// connection state recovery: each CONNECT answer carries a private
// session id (pid) beside the socket id, and each event sent with
// [Broadcast.EmitOffset] carries its offset (a sequence number of the
// source it came from, as a decimal string) as its last argument. A client
// that lost its connection sends its pid and the last offset it got with
// its next CONNECT. The namespace's middlewares run as always (the client
// is authenticated again and its rooms joined anew); then the [Recovery]
// decides. A resumed socket gets the same pid back (the client sets
// socket.recovered), its old id where no connected socket has it, then the
// events it missed, each with its offset, then live ones: live events sent
// with an offset during the replay are held for it (at most
// [Config.RecoveryHold]) and follow in order, and no offset is sent twice.
// [Namespace.OnConnect] runs after the replay, and the client's events
// that arrive meanwhile wait for it. A refused resume is a normal connect
// with a new pid: socket.recovered is false and the application refetches.
//
// The replay runs on a goroutine of its own, paced by the session's
// outbound queue, so the connection's other namespaces are not kept
// waiting and a long replay meets no slow-consumer policy. Without
// Recovery nothing of this reaches the wire, and EmitOffset is Emit.
//
// The client takes the last argument of any event, if a string, for its
// offset: on a server with Recovery, send events whose last argument is a
// string only with EmitOffset. And with engine.SlowDropOldest, a socket
// whose queue overflows loses events it will not know it missed; the
// default engine.SlowDisconnect closes it instead, and the client resumes.
//
// # Watching the server
//
// [Server.Namespaces] and [Namespace.Sockets] list what is connected now:
// each [Socket] gives its id, its connection's [Socket.ClientID],
// [Socket.Transport], [Socket.Handshake] and [Socket.Rooms]. An
// [Observer], added with [Server.Observe], keeps an admin view or metrics
// current: it hears of every connect, disconnect, room joined or left (at
// a disconnect, each room the socket was in, as socket.io's adapter
// reports them), and client event, on the goroutine making the change, in
// order for each socket (Connected first, Disconnected last). An
// [UpgradeObserver] hears of transport upgrades too.
//
// # socket.io v2
//
// With engine.Config.AllowEIO3, socket.io v2 clients connect too: they join
// "/" implicitly, send their namespace query as auth, and get v2's forms of
// CONNECT and CONNECT_ERROR.
package socketio
