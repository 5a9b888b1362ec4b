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
// such messages; a websocket session's queue is written by one vectored
// write from a goroutine that exists only while the queue is non-empty. A
// full queue meets the configured slow-consumer policy. Heartbeats and
// timeouts of all sessions share one timer heap and goroutine.
package protocol
