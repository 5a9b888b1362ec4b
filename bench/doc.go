// Package bench is natsock's load generator, what `natsock bench` runs: it
// opens many socket.io clients against natsock (or any socket.io v4
// server), publishes timestamped messages through NATS, and reports what
// the clients received, in the spirit of `nats bench`.
//
// # Clients
//
// The clients speak Engine.IO v4 and Socket.IO themselves, over websocket
// or HTTP long-polling: open packet "0{...}", CONNECT "40" answered by
// "40{...}", a pong "3" for every ping "2". They are built to cost far
// less than the server they measure: each reads into one large buffer,
// parses frames in place ([parseFrameHeader]), looks only at the fixed
// prefix of an event ([parseEvent]), and allocates nothing per frame. On
// Linux one goroutine reads every websocket client from an epoll set in
// rounds, sleeping [Config.ReadInterval] between them so that frames
// gather in the kernel, and takes each read's time from the kernel's
// receive timestamp, so that the sleep does not count as latency; a server
// that writes every frame on its own would otherwise cost the bench a
// thread wake-up per frame. Polling clients, and websocket clients
// elsewhere, read on a goroutine each. [Result.BenchCPUPerFrame] reports
// what the clients did cost, from getrusage.
//
// One source address reaches about 28,000 connections to one server (the
// kernel's ephemeral port range); [Config.SourceIPs] spreads the clients
// over several loopback addresses to go past that.
//
// # Messages
//
// Every message is one JSON object, padded with a "pad" string to
// [Config.Size] bytes:
//
//	{"run":RUN,"seq":SEQ,"ts":NANOS,"pad":"xxxx"}
//
// RUN tells this run's messages from anyone else's, SEQ counts from 0, and
// NANOS is the publish time in nanoseconds on the bench's monotonic clock
// (so it stays exact in a JavaScript number). The server must pass the
// object through as the event's one argument, as natsock and the Node peer
// do; a client counts an event only when its frame starts with
// 42["EVENT",{"run":RUN,"seq": and counts anything else as foreign.
//
// Messages go out at [Config.Rate] per second, or, with a zero rate, as
// fast as the slowest client keeps up: never more than [Config.Window]
// messages ahead of the client that has received the fewest.
//
// # Targeted delivery
//
// A run of [ScenarioTargeted] measures delivery to one user at a time,
// as a notification service sends it. Client i is user i+1: it presents
// an HS256 JWT signed with [Config.JWTSecret] whose "sub" is its user id,
// in the Socket.IO CONNECT auth payload {"token": ...}, and the server is
// to put it in that user's room. Each message goes to one user chosen at
// random, on SUBJECT.USER (notify.user.42), and names its user:
//
//	{"run":RUN,"seq":SEQ,"ts":NANOS,"to":USER,"pad":"xxxx"}
//
// SEQ counts that user's messages from 0, so every client checks what it
// got against its own user: a message for another user is misdelivered,
// and one published to its user and never received is lost. With a zero
// rate the window bounds the messages published and not yet received by
// their users' clients, all clients together.
//
// # Inbound events and acks
//
// Runs of [ScenarioInbound] and [ScenarioAck] measure the other
// direction, client to NATS. Every client emits Config.Event with one
// argument, a message whose "to" names the client (client i is i+1) and
// whose SEQ counts that client's events:
//
//	42["EVENT",{"run":RUN,"seq":SEQ,"ts":NANOS,"to":CLIENT,"pad":"xxxx"}]
//
// The server is to publish the argument as the NATS message body, as
// natsock's --inbound and the Node peer's do. An inbound run subscribes
// to Config.Subject and counts each client's events there: lost,
// duplicated, and the latency from emit to NATS. An ack run emits with
// an acknowledgement id (42ID[...], the id is SEQ) and answers every NATS
// request on Config.Subject with its own body, so that the ack, 43ID[...],
// echoes the event; any other ack (an {"error": ...}) is counted as an
// error. Each client keeps at most Config.Window events in flight (not
// yet on NATS, or not yet acked); the events a client may send in one
// round go out in one write. Websocket clients only.
//
// # Reconnect storm
//
// A run of [ScenarioStorm] measures what a crashed node costs with
// socket.io's connection state recovery. Every client connects to node A
// ([Config.URL]) and keeps, as socket.io-client 4.6+ does, the pid of its
// CONNECT answer (40{"sid":...,"pid":...}) and the offset each event
// carries as its last string argument. Messages flow at [Config.Rate];
// after [Config.KillAfter] the bench SIGKILLs node A ([Config.PID]), and
// each client, after a randomized [Config.ReconnectDelay], connects to
// node B ([Config.FailoverURL]) with CONNECT auth {"pid":...,"offset":...}.
// B recovered the session when its answer names the same pid; it then
// owes the client every message published since the offset. The run
// reports how long after the kill the clients were recovered and caught
// up ([StormResult]), and per client what was lost or duplicated across
// the kill. Each client reads on a goroutine of its own (no reactor),
// since it reconnects.
//
// # Measures
//
// Each client tracks the sequence numbers it saw ([seqTracker]), so a run
// counts lost and duplicated deliveries per client (and misdelivered ones
// in a targeted run), and records the latency from publish to receive in
// a log-linear [Histogram]. Given the server's process id, [Run] also
// reads the server's resident memory before and after connecting (the
// memory per connection) and its CPU time while delivering, from /proc:
// per delivered frame, and per published message
// ([Result.ServerCPUPerMessage], the cost of a targeted message).
//
// With no messages to send, a run only connects the clients, measures,
// and holds them for [Config.Hold]: the idle-connection measure.
//
// # Charts
//
// [ParseChartData] reads what bench/compare.sh gathers from its runs
// ([ChartData]: each goal row for natsock and the Node peer, and natsock's
// costs by connections and payload size); [DrawGoals] and [DrawGrowth]
// draw it as SVG, with no plotting tool: what `natsock bench chart` does.
//
// Every run is bounded by [Config.Timeout] and closes every connection and
// goroutine it opened before [Run] returns.
package bench
