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
// (timeout, no responders, too many requests in flight). Every request
// shares one reply subscription, and the requests waiting for replies are
// bounded per socket ([Config.MaxInflightRequestsPerSocket]) and in total
// ([Config.MaxInflightRequests]); past either bound the emit is not sent
// and its ack says which (see requests.go). An event with no rule is never
// published; it is counted and logged at debug level.
//
// # Socket lifecycle events
//
// With [Config.LifecycleSubject], each socket's connect and disconnect,
// and the node's start and stop, are published to NATS in the versioned
// JSON schema of package [github.com/natsock/natsock/bridge/lifecycle],
// from which a backend can build presence. Publishing never blocks a
// socket: a bounded queue drops and counts past its bound.
//
// # Server-sent events
//
// GET [SSEPath] ("/events") is the same outbound stream for clients that
// want plain server-sent events ([EventSource]) rather than socket.io.
// A stream is what a socket of the same identity in the same namespace
// would get, and nothing more:
//
//	GET /events                                  every event of namespace "/"
//	GET /events?events=newTaskAssigned,notification  only these (repeatable, comma-separated)
//	GET /events?ns=/admin                        namespace /admin
//
// ns names one namespace the --map rules declare (default "/"); events
// names events a rule of it can emit (a templated name such as
// "notification:{2}" is named as it arrives: "notification:42"). Any
// other parameter but the token's
// ([github.com/natsock/natsock/bridge/auth.Sources].Query) is refused: a
// misspelt one would widen the stream unseen. A bad query gets 400 and
// a JSON {"code": "bad_query", "message"} naming the cause.
//
// The request is authenticated as a socket's handshake
// (see sse.go): the same authenticator, with the request's
// Authorization header, cookie and query in place of the handshake's (a
// browser's EventSource sends cookies, and the query, but no header). The
// identity's rooms are the stream's; the client names none. A refusal is
// 401 (credential missing or not valid), 403 (valid but refused) or 503
// (the authorization service could not decide), with
// {"code": auth.Code, "message"}: the code a socket's connect_error
// carries. The origin policy is the engine's (Config.SocketIO.Engine's
// AllowOrigins), preflights included.
//
// Each mapped message is one event: "event:" the event name, "data:" the
// one JSON value a socket gets as the event's argument (JSON byte for
// byte, its line breaks as LF; other text as a JSON string; binary as a
// JSON string of its base64). The first message sets EventSource's retry
// delay ([SSEConfig].Retry), and a comment is written when the stream is
// silent for [SSEConfig].KeepAlive.
//
// With [Config].Recovery, each event's "id:" is its recovery stream
// sequence, and a request with a Last-Event-ID header (which EventSource
// sends when it reconnects), or a lastEventId parameter for a client that
// cannot set headers, resumes: the stream's events after that id that
// this stream would have got are written first, in order, then the live
// ones, none twice and none skipped (live events are held during the
// replay, and those it covered dropped). When the stream no longer holds
// what came after the id (older than the window), or the id is not one
// of its sequences, or the stream cannot be read, the client gets a
// [SSEResetEvent] first, {"lastEventId", "reason"}, and then the live
// events: it must refetch. An id that is not a sequence number is a bad
// query. Without recovery an event has no id and a Last-Event-ID is
// ignored, whatever it holds.
//
// A stream has a socket's limits: it counts in MaxConnections and
// MaxConnectionsPerIP, and its queue is bounded by MaxQueueBytes and
// MaxQueueMessages under the same SlowPolicy (see package
// [github.com/natsock/natsock/bridge/sse]); a slow stream is closed, and
// the others do not notice. Streams publish lifecycle events as sockets
// do, with transport "sse", and are counted in [Bridge.SSEStats]. At
// shutdown each ends after its queue is written, with the sockets, and a
// stream opened meanwhile gets an empty one: EventSource reconnects
// (with its Last-Event-ID) after its retry delay, where a 503 would stop
// it for good, as any answer but 200 does.
//
// # Monitoring
//
// The bridge counts as it works, with atomics: [Stats], one [MapStats] a
// --map rule and one [InboundStats] a --inbound rule ([Bridge.MapRules],
// [Bridge.InboundRules]), [AuthStats] with refusals by code, and the
// publish-to-emit latency ([Bridge.EmitLatency], from a publisher's
// [HeaderPublishedAt] or from receipt). [Bridge.SocketCounts],
// [Bridge.EngineStats] and [Bridge.NATSState] are read on demand. Package
// [github.com/natsock/natsock/bridge/metrics] turns all of it into
// Prometheus metrics at scrape time; the bridge does not import
// Prometheus. [Bridge.Handle] adds /metrics and the page at / (package
// [github.com/natsock/natsock/bridge/web]) to the bridge's listener.
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
// # Connection-state recovery: nothing lost on reconnect
//
// With [Config.Recovery], the messages of the --map subjects are kept in
// a JetStream stream ([Config.RecoveryStream], made or bound at start over
// the rules' patterns, merged where they overlap since JetStream stores a
// subject in one stream) for [Config.RecoveryWindow]: the window is the
// stream's MaxAge, so it is both how long a client may have missed a
// message and what the stream holds. Live delivery then reads that stream
// through one ordered consumer per node instead of core subscriptions, and
// every event carries its stream sequence as its socket.io offset (one
// more, last, string argument, as socket.io sends it). A NATS reconnect
// loses and repeats nothing: the consumer resumes after the last sequence
// it delivered. The stream is NoAck: a request published to a mapped
// subject is still answered by its responder, not by JetStream.
//
// Each socket.io 4.6+ client gets a pid in its CONNECT answer: a ticket
// signed (HMAC-SHA256) with a key the first node makes and every node
// reads from a JetStream KV bucket, bound to the namespace, the identity
// (subject and rooms) and the stream's incarnation. When the client
// reconnects, to any node, it sends its pid and last offset; authentication
// runs again, and the resume is honoured when the pid checks for this
// namespace and identity and the stream still holds every message after
// the offset. The socket then gets, in order and once each, the events it
// missed, chosen by its namespace and rooms through the same rules and
// payload decoding as live delivery, then the live ones (the engine holds
// them during the replay: see socketio.Recovery), and the client sees
// socket.recovered true. Otherwise it connects afresh, recovered false,
// and the application refetches: an unknown, forged or foreign pid,
// another namespace, a stream made anew, or an offset whose next message
// has left the stream. The window thus bounds the history, not the
// absence: a client away longer than the window still resumes if the
// stream holds everything after its offset (nothing was published on the
// mapped subjects meanwhile), since it then missed nothing.
// A node serves a replay from its memory of the messages it delivered
// last (gapless, within the window, bounded) and reads the stream, a few
// reads at a time, only for older offsets: a reconnect storm on a node
// that was up meanwhile costs no NATS round trip per client.
// [Bridge.RecoveryStats] counts resumes and replays.
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
// how much (the log says so). With [Config.Recovery] nothing is lost: the
// stream kept it, and delivery resumes from it.
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
//
// [EventSource]: https://html.spec.whatwg.org/multipage/server-sent-events.html
package bridge
