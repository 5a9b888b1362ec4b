// Package bridge is natsock's NATS <-> socket.io service: what `natsock
// serve` runs.
//
// # Outbound: NATS to clients
//
// Each --map rule (see [Rule] and [ParseRule]) subscribes to a subject
// pattern, with NATS wildcards, and emits every message as an event whose
// name may use the subject's tokens ("tasks.*=task:{2}"), to every socket
// of a namespace or to one room of it, whose name may use them too
// ("notify.user.*=notification@user:{3}", "admin.>=alert@/admin",
// "team.*.news=news@/teams#team:{2}"). The namespaces the rules name are
// declared in [New] and no other exists; a message whose room cannot be
// built ([ErrBadRoom]) is dropped and counted, never broadcast. When
// several rules match one subject the first rule given wins, so a message
// is emitted once ([Mapping.Route]). The message body becomes the event's
// one argument by [DecodePayload]: UTF-8 JSON passes through byte for
// byte, other UTF-8 text arrives as a string, anything else as binary.
// Event names socket.io reserves ("connect", "disconnect", ...) are refused
// in a rule, and a message whose placeholders make one is dropped and
// counted, since a client would take it for its own connection event.
//
// # Authentication: who a socket is
//
// With [Config.Auth] set, every declared namespace runs one middleware
// ([Bridge.AuthStats] counts its verdicts) that hands the handshake to
// package [github.com/natsock/natsock/bridge/auth]: a JWT verified with a
// secret or a JWKS, and/or a NATS authorization service, decide; the
// resulting auth.Identity is kept as the socket's Data and its rooms
// (from --room-from-claim templates and the service) are joined before
// the socket is connected. A refusal is the client's connect_error, its
// data.code an [github.com/natsock/natsock/bridge/auth.Code]. A client never names its rooms.
// The middleware runs on the connection's reader, so a slow authorization
// service delays only that handshake, bounded by its timeout.
//
// # Inbound: clients to NATS
//
// Each --inbound rule ([InboundRule], [ParseInboundRule]) publishes a
// client's event to a subject, its arguments encoded by [EncodeArgs]. A
// rule may require claim values ("taskAssigned=tasks.assigned?role=manager")
// and take the socket's own claims into its subject ("say=chat.{sub}.out");
// the identity's emit list restricts too ([InboundRule.Authorize]). A
// refused emit is counted and its ack says why. Each socket may have a
// token-bucket rate limit ([Config.InboundRate]); an event over it is
// dropped, counted, and the socket told or disconnected
// ([RatePolicyError], [RatePolicyDisconnect]). When the client passes an
// acknowledgement callback the bridge makes a NATS request instead and
// acknowledges with the reply, or with {"error": "..."} naming the cause
// (timeout, no responders, too many requests in flight). An event with no
// rule is never published; it is counted and logged at debug level.
//
// # Socket lifecycle events
//
// With [Config.LifecycleSubject], each socket's connect and disconnect,
// and the node's start and stop, are published to NATS in the versioned
// JSON schema of package [github.com/natsock/natsock/bridge/lifecycle],
// from which a backend can build presence. Publishing never blocks a
// socket: a bounded queue drops and counts past its bound.
//
// # Lifecycle
//
// [Bridge.Run] starts an embedded NATS server when no URL is given,
// connects (reconnecting forever, with backoff), subscribes, and serves
// socket.io, /healthz and /readyz on one listener. When its context ends it
// shuts down in a fixed order: stop accepting new connections, drain NATS,
// disconnect the sockets with reason "server shutting down" (each after
// its queue is written), close the listener, stop the embedded server.
//
// # Faults
//
// A NATS outage keeps the sockets connected and makes /readyz unready.
// Inbound emits are held in nats.go's reconnect buffer
// ([Config.NATSReconnectBuffer]) and sent on reconnect; past it an
// acknowledged emit is answered with an error naming the cause and a plain
// one is dropped, counted ([Stats.BufferFull]) and logged once an outage.
// On reconnect the subscriptions resume and the log gives the outage's
// length; what was published meanwhile is lost, and core NATS cannot say
// how much (the log says so).
//
// A NATS message larger than a client's whole outbound queue
// (engine.Config.MaxQueueBytes) is dropped and counted ([Stats.TooLarge])
// rather than sent to sessions that would all refuse it. Connections are
// bounded in all and per address (engine.Config.MaxConnections and
// MaxConnectionsPerIP), and a client has [Config.HandshakeTimeout] to send
// its request headers and then its Socket.IO CONNECT.
//
// # Configuration
//
// [Config] holds the bridge's own settings and, in Config.SocketIO, the
// socket.io server's, whose Engine field holds the Engine.IO server's: one
// config type a layer, composed, each with its defaults in one block of
// Default* constants ([DefaultListen], engine.DefaultMaxConnections, ...)
// named on the fields they fill. A zero field takes its default;
// [DefaultConfig] shows them all. [Config.Validate] reports every problem
// at once, each a [*FieldError] naming the field by its path from Config
// ("Maps[1]", "SocketIO.Engine.MaxPayload"), so that the command line can
// say which flag, environment variable or file line gave the value. The
// bridge knows nothing of where its values came from.
//
// The mapping and payload code is pure (no I/O) and fuzzed; the socket.io
// protocol lives in package [github.com/natsock/natsock/protocol/socketio].
package bridge
