// Package admin serves the socket.io Admin UI (npm @socket.io/admin-ui,
// the page at https://admin.socket.io or its ui/dist files hosted
// anywhere) from a [socketio.Server]: the server side of the UI's
// protocol, which socket.io's own admin module (instrument) speaks. It
// uses package socketio's public API only and knows nothing of NATS.
//
// # Login
//
// The UI connects to the namespace [Config.Namespace] ("/admin") with
// {username, password} as its auth payload. The password is checked
// against [Config.PasswordHash], a bcrypt hash (a plain password is
// refused by [Config.Validate]); a good login gets a "session" event with
// a random session id, which the UI keeps and sends instead of the
// password when it reconnects ([Config.SessionTTL], kept in memory: a
// restart, or another node, asks for the password again). A refusal is
// connect_error "invalid credentials", and is logged. Each IP address may
// fail [Config.MaxFailures] logins in a [Config.FailureWindow]; after that
// its logins are refused unchecked ("too many failed logins, retry
// later"), and [Config.LoginRate] bounds the bcrypt checks of all
// addresses together. The UI sends the password itself: serve it over
// TLS.
//
// # What the UI sees
//
// The UI runs in its development mode: the "config" event advertises
// ALL_EVENTS, and the server sends
//
//   - all_sockets when the UI connects: every socket of every namespace,
//     with its connection ("client": the first 12 characters of its
//     Engine.IO session id, as socket.io's admin shows it, never the whole
//     id, which admits a long-polling client's requests), transport, rooms
//     (its own id first, as socket.io's private room), data
//     ([Config.SocketData]) and handshake (address, headers and query,
//     with Authorization, Cookie and [Config.RedactQuery] hidden);
//   - socket_connected, socket_disconnected (with the reason), room_joined
//     and room_left (after a socket_disconnected, also for the socket's
//     private room and each room it had, as socket.io's admin sends them:
//     the UI's Rooms view drops a room once its last socket has left) and
//     socket_updated (when a polling client has upgraded to websocket);
//   - event_received for every client event, with its arguments (binary
//     ones included), the admin namespace's own excepted;
//   - server_stats every [Config.StatsInterval]: server id, host name,
//     pid, uptime, Engine.IO connections, and sockets per namespace.
//
// It does not advertise AGGREGATED_EVENTS (the UI's production mode, and
// its dashboard histograms): those count packets and bytes in and out per
// second, which the engine does not keep, so natsock would have to send
// made-up numbers. Nor does it send event_sent: natsock's events go out as
// broadcasts, encoded once for many sockets, and a report per socket per
// message would cost more than the message. The UI's Events view shows
// connections, rooms and received events.
//
// # Actions
//
// Unless [Config.ReadOnly], the UI may make sockets join or leave a room
// (JOIN, LEAVE, and MJOIN, MLEAVE for all the sockets of a namespace or a
// room), disconnect them (DISCONNECT, MDISCONNECT; closing the whole
// connection or only the namespace) and emit an event to a namespace or a
// room (EMIT). Each runs on this server's sockets only, and is logged with
// the UI's address. Malformed commands, commands for a namespace that does
// not exist and emits of names socket.io reserves are logged and ignored,
// and so are the commands a read-only UI sends anyway.
//
// # Cost
//
// Everything the UI is sent is built only while a UI is connected; the
// [socketio.Observer] calls then copy what they need and queue it (4096
// updates at most; past that the UI gets the whole list again at the next
// tick) for one goroutine that emits it. Without a UI connected, each
// connect, room change and upgrade costs the observer an atomic load, and
// each disconnect a lock besides; the admin keeps no state per socket.
package admin
