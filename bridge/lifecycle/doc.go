// Package lifecycle publishes natsock's socket lifecycle events to NATS, so
// that a backend can see who is connected: presence, audit, cleanup.
//
// # Subjects
//
// With a prefix of "natsock.events" (the --lifecycle-subject setting):
//
//	natsock.events.connect      a socket joined a namespace
//	natsock.events.disconnect   a socket left it
//	natsock.events.node.up      a natsock node started (it has no sockets yet)
//	natsock.events.node.down    a natsock node is shutting down (its sockets go with it)
//
// # Schema, version 1
//
// Each event is one JSON object ([Event]):
//
//	{
//	  "v": 1,                                   schema version (see [Version])
//	  "type": "connect",                        connect | disconnect | node_up | node_down
//	  "time": "2026-12-01T00:00:00.123456Z",    when it happened, RFC 3339, UTC
//	  "node": "web-1",                          the natsock node (its host name unless set)
//	  "sid": "hBZ8...",                         the socket id (what socket.id says in the client)
//	  "namespace": "/",
//	  "rooms": ["user:42", "team:red"],         rooms the server put the socket in; omitted when none
//	  "sub": "42",                              the identity's subject; "" when anonymous
//	  "transport": "websocket",                 websocket | polling (at the time of the event) | sse (an event stream)
//	  "remote": "203.0.113.7:51234",            the client's TCP address as natsock saw it
//	  "reason": "transport close",              disconnect only: socket.io's reason, or "rate limit"
//	  "connected_at": "2026-12-01T00:00:00Z",   disconnect only
//	  "data": {...}                             the authorization service's data, when it gave some
//	}
//
// node_up and node_down carry v, type, time, node and sub ("") only. A
// field added later keeps version 1; a field removed or retyped makes
// version 2.
//
// # Delivery
//
// [Publisher.Publish] never blocks: events wait in a bounded queue (see
// [DefaultQueue]) for one goroutine that hands them to NATS. A full queue,
// or NATS refusing a publish, drops the event and counts it
// ([Stats.Dropped]). Core NATS keeps nothing for a subscriber that is
// away, so a backend that needs every event should read them through a
// JetStream stream on "natsock.events.>".
//
// # Presence
//
// Keep a set of (node, sid) per sub: add on connect, remove on disconnect.
// A user is online while their set is not empty. On node_up or node_down
// from a node, remove every entry of that node: node_down means its sockets
// are closing (their own disconnect events may not follow, since NATS is
// drained first), and node_up after a crash means the old ones are gone.
// Events of one socket arrive in order (connect before disconnect), since
// one goroutine publishes them on one connection.
package lifecycle
