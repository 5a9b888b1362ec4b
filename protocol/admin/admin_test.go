package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/admin"
	"github.com/natsock/natsock/protocol/socketio"
)

// commandLog is an Observer of the test's own: it records the events the
// admin namespace receives. socketio dispatches one connection's events in
// order, each to the Observer and then to its handler, so once it has
// seen the UI's "sync" event every command the UI sent before has run.
type commandLog struct {
	nsp  string
	mu   sync.Mutex
	seen []string
}

func (c *commandLog) Connected(*socketio.Socket)                     {}
func (c *commandLog) Disconnected(*socketio.Socket, socketio.Reason) {}
func (c *commandLog) Joined(*socketio.Socket, string)                {}
func (c *commandLog) Left(*socketio.Socket, string)                  {}
func (c *commandLog) Event(s *socketio.Socket, ev *socketio.Event) {
	if s.Namespace().Name() == c.nsp {
		c.mu.Lock()
		c.seen = append(c.seen, ev.Name)
		c.mu.Unlock()
	}
}

// synced sends "sync" from the UI client and waits until the server has
// handled every command sent before it.
func (c *commandLog) synced(t *testing.T, cl *clients, name string) {
	t.Helper()
	c.mu.Lock()
	n := strings.Count(strings.Join(c.seen, ","), "sync")
	c.mu.Unlock()
	cl.emit(name, "sync")
	eventually(t, "the server handles the UI's commands", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return strings.Count(strings.Join(c.seen, ","), "sync") > n
	})
}

func watchCommands(ts *testServer) *commandLog {
	c := &commandLog{nsp: "/admin"}
	ts.srv.Observe(c)
	return c
}

// TestUIWatchesSockets plays the Admin UI with a real socket.io client:
// after its login it gets a session, the features, every socket with its
// transport, rooms and handshake, and the server's stats; then it hears of
// sockets connecting, joining, emitting, leaving and disconnecting.
func TestUIWatchesSockets(t *testing.T) {
	ts := startServer(t, &admin.Config{RedactQuery: []string{"token"}, StatsInterval: 100 * time.Millisecond,
		SocketData: func(s *socketio.Socket) any {
			if s.Namespace().Name() == "/chat" {
				return map[string]string{"lang": s.Handshake().Query.Get("lang")}
			}
			return 42 // not an object: shown as {}
		}})
	chat := ts.srv.Lookup("/chat")
	chat.Use(func(s *socketio.Socket) error { s.Join("lobby"); return nil })
	cl := startClients(t)

	cl.connect("u1", ts.url+"/chat?token=s3cret&lang=fr", nil, "websocket")
	u1conn := cl.connected("u1")
	u1 := u1conn.ID

	cl.connect("ui", ts.url+"/admin", login(testUser, testPassword), "websocket")
	cl.connected("ui")
	session := str(t, cl.expectEvent("ui", "session", nil)[0])
	if len(session) < 32 {
		t.Errorf("session id %q is short", session)
	}
	cfg := decode[struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}](t, cl.expectEvent("ui", "config", nil)[0])
	want := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "ALL_EVENTS"}
	if !slices.Equal(cfg.SupportedFeatures, want) {
		t.Errorf("features %q, want %q", cfg.SupportedFeatures, want)
	}
	all := decode[[]socketView](t, cl.expectEvent("ui", "all_sockets", nil)[0])
	i := slices.IndexFunc(all, func(s socketView) bool { return s.ID == u1 })
	if i < 0 {
		t.Fatalf("all_sockets lacks u1 (%s): %+v", u1, all)
	}
	got := all[i]
	if got.NSP != "/chat" || got.Transport != "websocket" || !slices.Equal(got.Rooms, []string{u1, "lobby"}) {
		t.Errorf("u1 listed as %+v, want /chat, websocket, rooms [%s lobby]", got, u1)
	}
	if !jsonEqual(got.Data, `{"lang":"fr"}`) {
		t.Errorf("u1's data %s, want what SocketData says", got.Data)
	}
	for _, s := range all {
		if s.NSP == "/admin" && !jsonEqual(s.Data, `{}`) {
			t.Errorf("the UI's own socket's data %s, want {} for a SocketData that is no object", s.Data)
		}
	}
	if len(u1conn.Engine) <= 12 || got.ClientID != u1conn.Engine[:12] {
		t.Errorf("u1's clientId %q: want the first 12 characters of its Engine.IO session id %q", got.ClientID, u1conn.Engine)
	}
	if got.Handshake.Query["token"] == "s3cret" || got.Handshake.Query["lang"] != "fr" {
		t.Errorf("query %v: want the token hidden and lang shown", got.Handshake.Query)
	}
	if got.Handshake.Address != "127.0.0.1" || got.Handshake.Issued == 0 {
		t.Errorf("handshake %+v: want the address and the time", got.Handshake)
	}
	stats := decode[struct {
		ServerID     string `json:"serverId"`
		ClientsCount int    `json:"clientsCount"`
		Namespaces   []struct {
			Name         string `json:"name"`
			SocketsCount int    `json:"socketsCount"`
		} `json:"namespaces"`
	}](t, cl.expectEvent("ui", "server_stats", nil)[0])
	if stats.ServerID == "" || stats.ClientsCount != 2 {
		t.Errorf("server_stats %+v: want a server id and 2 clients", stats)
	}
	if !slices.ContainsFunc(stats.Namespaces, func(n struct {
		Name         string `json:"name"`
		SocketsCount int    `json:"socketsCount"`
	}) bool {
		return n.Name == "/chat" && n.SocketsCount == 1
	}) {
		t.Errorf("server_stats namespaces %+v: want /chat with 1 socket", stats.Namespaces)
	}

	// A polling client connects, is made to join a room, emits, and leaves.
	cl.connect("u2", ts.url+"/chat", nil, "polling")
	u2 := cl.connected("u2").ID
	conn := decode[socketView](t, cl.expectEvent("ui", "socket_connected", func(a []json.RawMessage) bool {
		return decode[socketView](t, a[0]).ID == u2
	})[0])
	if conn.Transport != "polling" || !slices.Equal(conn.Rooms, []string{u2, "lobby"}) {
		t.Errorf("u2 connected as %+v, want polling in [%s lobby]", conn, u2)
	}
	if conn.Handshake.Headers["user-agent"] == "" {
		t.Errorf("u2's handshake headers %v: want its polling request's (user-agent)", conn.Handshake.Headers)
	}
	chat.Socket(u2).Join("vip")
	args := cl.expectEvent("ui", "room_joined", func(a []json.RawMessage) bool { return str(t, a[2]) == u2 })
	if str(t, args[0]) != "/chat" || str(t, args[1]) != "vip" {
		t.Errorf("room_joined %s, want /chat vip", args)
	}
	cl.emit("u2", "hello", map[string]int{"a": 1}, map[string]string{"$binary": "AQID"})
	args = cl.expectEvent("ui", "event_received", func(a []json.RawMessage) bool { return str(t, a[1]) == u2 })
	if str(t, args[0]) != "/chat" || !jsonEqual(args[2], `["hello",{"a":1},{"$binary":"AQID"}]`) {
		t.Errorf("event_received %s, want /chat, [hello, {a:1}, <binary 1 2 3>]", args)
	}
	if _, err := time.Parse(time.RFC3339, str(t, args[3])); err != nil {
		t.Errorf("event_received's timestamp: %v", err)
	}
	cl.close("u2")
	// As socket.io's admin: the disconnect, then each room left (its
	// private room first), which the UI's Rooms view needs to drop them.
	args = cl.expectEvent("ui", "socket_disconnected", func(a []json.RawMessage) bool { return str(t, a[1]) == u2 })
	if str(t, args[0]) != "/chat" || str(t, args[2]) != "client namespace disconnect" {
		t.Errorf("socket_disconnected %s, want /chat and the client's reason", args)
	}
	var left []string
	for range 3 {
		args = cl.expectEvent("ui", "room_left", func(a []json.RawMessage) bool { return str(t, a[2]) == u2 })
		left = append(left, str(t, args[1]))
	}
	if !slices.Equal(left, []string{u2, "lobby", "vip"}) {
		t.Errorf("u2 left %q at its disconnect, want its own room, lobby and vip", left)
	}

	// The session id lets the UI reconnect without the password.
	cl.connect("ui2", ts.url+"/admin", map[string]string{"sessionId": session}, "websocket")
	cl.connected("ui2")
	cl.expectEvent("ui2", "all_sockets", nil)
}

// TestUISeesTheUpgrade: a client that starts on polling is reported as
// websocket once it has upgraded, when it upgrades (the stats tick, an
// hour away, has nothing to do with it).
func TestUISeesTheUpgrade(t *testing.T) {
	ts := startServer(t, &admin.Config{StatsInterval: time.Hour})
	cl := startClients(t)
	cl.connect("ui", ts.url+"/admin", login(testUser, testPassword), "websocket")
	cl.connected("ui")
	cl.expectEvent("ui", "all_sockets", nil)
	cl.connect("u", ts.url+"/", nil, "polling", "websocket")
	id := cl.connected("u").ID
	conn := decode[socketView](t, cl.expectEvent("ui", "socket_connected", func(a []json.RawMessage) bool {
		return decode[socketView](t, a[0]).ID == id
	})[0])
	if conn.Transport == "websocket" {
		return // upgraded before its CONNECT was handled: nothing to update
	}
	if conn.Transport != "polling" {
		t.Fatalf("transport %q", conn.Transport)
	}
	upd := decode[socketView](t, cl.expectEvent("ui", "socket_updated", func(a []json.RawMessage) bool {
		return decode[socketView](t, a[0]).ID == id
	})[0])
	if upd.Transport != "websocket" || upd.NSP != "/" {
		t.Errorf("socket_updated %+v, want websocket on /", upd)
	}
}

// TestUICommands runs every action the UI offers against real clients:
// join and leave (one socket, a room's, a namespace's), emit, and
// disconnect (the namespace only, and the whole connection).
func TestUICommands(t *testing.T) {
	ts := startServer(t, &admin.Config{})
	log := watchCommands(ts)
	chat := ts.srv.Lookup("/chat")
	cl := startClients(t)
	ids := map[string]string{}
	for _, n := range []string{"u1", "u2", "u3"} {
		cl.connect(n, ts.url+"/chat", nil, "websocket")
		ids[n] = cl.connected(n).ID
	}
	cl.connect("ui", ts.url+"/admin", login(testUser, testPassword), "websocket")
	cl.connected("ui")
	cl.expectEvent("ui", "all_sockets", nil)
	rooms := func(n string) []string {
		s := chat.Socket(ids[n])
		if s == nil {
			return nil
		}
		r := s.Rooms()
		slices.Sort(r)
		return r
	}

	cl.emit("ui", "join", "/chat", "red", ids["u1"]) // one socket, by id
	cl.emit("ui", "join", "/chat", "all")            // every socket (MJOIN)
	cl.emit("ui", "join", "/chat", "blue", "red")    // the sockets of a room
	log.synced(t, cl, "ui")
	if got := rooms("u1"); !slices.Equal(got, []string{"all", "blue", "red"}) {
		t.Errorf("u1 is in %q, want all, blue, red", got)
	}
	for _, n := range []string{"u2", "u3"} {
		if got := rooms(n); !slices.Equal(got, []string{"all"}) {
			t.Errorf("%s is in %q, want all", n, got)
		}
	}
	args := cl.expectEvent("ui", "room_joined", func(a []json.RawMessage) bool {
		return str(t, a[1]) == "red"
	})
	if str(t, args[2]) != ids["u1"] {
		t.Errorf("room_joined %s, want u1 joining red", args)
	}

	cl.emit("ui", "emit", "/chat", "blue", "notice", map[string]string{"text": "to blue"})
	cl.emit("ui", "emit", "/chat", nil, "notice", "to all")
	for _, n := range []string{"u1", "u2"} {
		args := cl.expectEvent(n, "notice", nil)
		if n == "u1" && !jsonEqual(args[0], `{"text":"to blue"}`) {
			t.Errorf("u1's first notice %s, want the one to blue", args)
		}
		if n == "u2" && !jsonEqual(args[0], `"to all"`) {
			t.Errorf("u2's first notice %s, want the one to all (it is not in blue)", args)
		}
	}

	cl.emit("ui", "leave", "/chat", "all")                  // the room, for every socket (MLEAVE)
	cl.emit("ui", "leave", "/chat", "red", ids["u1"])       // one socket
	cl.emit("ui", "join", "/chat", "gone", ids["u3"])       // to disconnect by room below
	cl.emit("ui", "_disconnect", "/chat", false, ids["u1"]) // one socket, its namespace only
	cl.emit("ui", "_disconnect", "/chat", true, "gone")     // a room's sockets, whole connections
	log.synced(t, cl, "ui")
	if got := rooms("u2"); len(got) != 0 {
		t.Errorf("u2 is in %q, want no room", got)
	}
	for _, n := range []string{"u1", "u3"} {
		if r := cl.expect(n, "disconnect", func(l line) bool { return l.Type == "disconnect" }).Reason; r != "io server disconnect" {
			t.Errorf("%s disconnected with %q, want io server disconnect", n, r)
		}
	}
	eventually(t, "u1 and u3 gone, u2 still there", func() bool {
		return chat.Socket(ids["u1"]) == nil && chat.Socket(ids["u3"]) == nil && chat.Socket(ids["u2"]) != nil
	})
	cl.expectEvent("ui", "socket_disconnected", func(a []json.RawMessage) bool { return str(t, a[1]) == ids["u1"] })

	// Malformed commands, and commands for namespaces that do not exist,
	// are logged and change nothing.
	cl.emit("ui", "join", "/chat")
	cl.emit("ui", "_disconnect", "/chat", "yes", ids["u2"])
	cl.emit("ui", "_disconnect", "/nowhere", false)
	cl.emit("ui", "emit", "/chat", nil, "connect")
	log.synced(t, cl, "ui")
	if chat.Socket(ids["u2"]) == nil {
		t.Error("u2 was disconnected by a malformed command")
	}
	for _, want := range []string{"join: no room", "the close flag is not a boolean", "namespace that does not exist", "reserves"} {
		if !strings.Contains(ts.logs.String(), want) {
			t.Errorf("the logs do not say %q", want)
		}
	}
}

// TestReadOnlyUIOnlyWatches: a read-only Admin UI is offered no action,
// and the actions it sends anyway change nothing.
func TestReadOnlyUIOnlyWatches(t *testing.T) {
	ts := startServer(t, &admin.Config{ReadOnly: true})
	log := watchCommands(ts)
	cl := startClients(t)
	cl.connect("u", ts.url+"/chat", nil, "websocket")
	id := cl.connected("u").ID
	cl.connect("ui", ts.url+"/admin", login(testUser, testPassword), "websocket")
	cl.connected("ui")
	cfg := decode[struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}](t, cl.expectEvent("ui", "config", nil)[0])
	if !slices.Equal(cfg.SupportedFeatures, []string{"ALL_EVENTS"}) {
		t.Errorf("features %q, want only ALL_EVENTS", cfg.SupportedFeatures)
	}
	cl.emit("ui", "_disconnect", "/chat", true, id)
	cl.emit("ui", "join", "/chat", "r", id)
	log.synced(t, cl, "ui")
	s := ts.srv.Lookup("/chat").Socket(id)
	if s == nil || len(s.Rooms()) != 0 {
		t.Errorf("the read-only UI changed socket %s", id)
	}
	if n := strings.Count(ts.logs.String(), "ignored a command: the Admin UI is read-only"); n != 2 {
		t.Errorf("%d ignored commands logged, want 2", n)
	}
}

// TestLoginRefused: a wrong password, a wrong username, no credentials or
// an unknown session id get connect_error "invalid credentials" (the text
// the UI knows), and the refusal is logged; past MaxFailures from one
// address even the right password is refused, unchecked.
func TestLoginRefused(t *testing.T) {
	ts := startServer(t, &admin.Config{MaxFailures: 3})
	cl := startClients(t)
	for i, auth := range []any{
		login(testUser, "wrong"),
		login("root", testPassword),
		map[string]string{"sessionId": "0123456789abcdef0123456789abcdef"},
		nil,
		map[string]any{"username": testUser, "password": 12345},
	} {
		name := "bad" + string(rune('a'+i))
		cl.connect(name, ts.url+"/admin", auth, "websocket")
		if msg := cl.refused(name); msg != admin.MessageInvalidCredentials {
			t.Errorf("auth %v: connect_error %q, want %q", auth, msg, admin.MessageInvalidCredentials)
		}
	}
	if n := strings.Count(ts.logs.String(), "login refused: wrong username or password"); n != 2 {
		t.Errorf("%d failed logins logged, want 2 (one each for the wrong password and user):\n%s", n, ts.logs)
	}
	if strings.Contains(ts.logs.String(), "wrong\"") || strings.Contains(ts.logs.String(), testPassword) {
		t.Error("a password is in the logs")
	}
	// Two failures so far from 127.0.0.1; the third is the last allowed.
	cl.connect("third", ts.url+"/admin", login(testUser, "still wrong"), "websocket")
	if msg := cl.refused("third"); msg != admin.MessageInvalidCredentials {
		t.Errorf("third failure: %q", msg)
	}
	cl.connect("right", ts.url+"/admin", login(testUser, testPassword), "websocket")
	if msg := cl.refused("right"); msg != admin.MessageTooManyAttempts {
		t.Errorf("the right password after 3 failures: %q, want %q", msg, admin.MessageTooManyAttempts)
	}
	if !strings.Contains(ts.logs.String(), "too many failed logins") {
		t.Error("the lockout is not logged")
	}
}

// TestAdminOff: without New, the admin namespace does not exist.
func TestAdminOff(t *testing.T) {
	ts := startServer(t, nil)
	cl := startClients(t)
	cl.connect("ui", ts.url+"/admin", login(testUser, testPassword), "websocket")
	if msg := cl.refused("ui"); msg != "Invalid namespace" {
		t.Errorf("connect_error %q, want Invalid namespace", msg)
	}
}

// TestNewRefusesBadConfig: a plain password where its hash belongs, and a
// namespace the application serves.
func TestNewRefusesBadConfig(t *testing.T) {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Close(ctx)
	})
	_, err = admin.New(srv, admin.Config{PasswordHash: "hunter2hunter2"})
	var fe *admin.FieldError
	if !errors.Is(err, admin.ErrNotHash) || !errors.As(err, &fe) || fe.Field != "PasswordHash" {
		t.Errorf("a plain password: %v, want ErrNotHash on PasswordHash", err)
	}
	if _, err := admin.New(srv, admin.Config{}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("no hash: %v", err)
	}
	srv.Of("/ops")
	if _, err := admin.New(srv, admin.Config{Namespace: "/ops", PasswordHash: testHash}); !errors.Is(err, admin.ErrNamespaceTaken) {
		t.Errorf("a served namespace: %v, want ErrNamespaceTaken", err)
	}
	err = admin.Config{PasswordHash: testHash, Namespace: "admin", StatsInterval: -1}.Validate()
	for _, want := range []string{"Namespace", "StatsInterval"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want a problem with %s", err, want)
		}
	}
}

func jsonEqual(a json.RawMessage, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
