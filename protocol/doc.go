// Package protocol is the root of natsock's socket.io wire protocol, owned
// rather than borrowed. It knows nothing of NATS.
//
// The subpackages, from the wire up:
//
//   - [github.com/natsock/natsock/protocol/eio]: Engine.IO packets and
//     polling payloads (v4, and v3 for socket.io v2 clients). Pure codecs.
//   - [github.com/natsock/natsock/protocol/sio]: Socket.IO packets and a
//     validating JSON scanner for their payloads. Pure codecs.
//   - [github.com/natsock/natsock/protocol/engine]: the Engine.IO server:
//     sessions, the websocket and long-polling transports, the upgrade,
//     heartbeats, CORS, and the bounded outbound queue of every session.
//   - [github.com/natsock/natsock/protocol/socketio]: the Socket.IO server:
//     namespaces, middlewares, events and acknowledgements both ways,
//     binary attachments, rooms and broadcasts.
//   - [github.com/natsock/natsock/protocol/conformance]: the reference
//     handlers the official protocol test suites expect.
//
// # Built for fan-out
//
// A broadcast is encoded once into an engine.Message; each transport's
// wire form (websocket frames, polling records; v3 or v4) is built on first
// use and shared by every recipient. Each session has one bounded queue of
// such messages; a websocket session's queue is written by one non-blocking
// vectored write from one of a few shared writers (see package engine). A
// full queue meets the configured slow-consumer policy. Heartbeats and
// timeouts of all sessions share one timer heap and goroutine.
//
// # Lock order
//
// As nats-server's locksordering.txt: "A -> B" means A.Lock() then
// B.Lock(); a goroutine holding B never waits for A. Read and write locks
// of an RWMutex count alike.
//
//	engine.Session.inMu -> socketio.Namespace.mu -> socketio.Socket.mu -> engine.Session.mu -> engine.Server.mu
//	socketio.Socket.mu -> timers.Wheel.mu
//	engine.Session.mu   -> timers.Wheel.mu
//	engine.Session.wmu  -> engine.Session.mu
//	engine.Session.inMu -> any other lock: it is the outermost
//
// In words: namespace, socket, session, server. The engine calls its
// Handler holding only the session's inMu (which serializes OnOpen,
// OnMessage and OnClose), so a handler may take any lock of socketio. A
// broadcast holds its namespace's read lock while it reads each socket's
// rooms and queues to each session (whose slow-consumer policy may close
// the session and take the engine server's table lock). Nothing calls up
// into socketio while holding a session's or the server's lock.
//
// A resumed socket's replay runs on its own goroutine, which holds the
// socket's lock while it queues each replayed or held event (socket ->
// session), so that nothing follows the socket's DISCONNECT; it calls
// OnConnect and the client's waiting events with no lock held. The
// connection's close (OnClose, holding inMu) waits for a resumed socket's
// OnConnect and those events to finish before it tears the socket down,
// as it waits for handlers on the read goroutine; nothing on that
// goroutine waits for inMu.
//
// socketio's Observer methods run holding the namespace's lock (Event its
// read lock) and no socket's, which is what orders a socket's reports;
// they take no lock of socketio's but a socket's. UpgradeObserver's
// Upgraded runs from the engine's OnUpgrade, holding inMu as every
// Handler call does.
//
// Leaves, held with no other lock taken after them: socketio.Server.mu
// (the namespace table), socketio's per-connection lock (its sockets and
// timers' state), engine.Server.admitMu (connection limits) and
// timers.Wheel.mu. Timer callbacks run on the wheel's goroutine with no
// lock held, and socketio's hooks (middlewares, OnConnect,
// OnDisconnecting, OnDisconnect, event handlers) run with none of
// socketio's locks held, so they may broadcast, join and emit.
//
// TestLockOrderUnderChurn in package socketio runs broadcasts, joins,
// acknowledgements and disconnects at once under -race to hold the code
// to this order, and TestRecoveryUnderChurn does so with resumes, replays
// and broadcasts with offsets.
package protocol
