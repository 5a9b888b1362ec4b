package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/internal/bridgetest"
	"github.com/natsock/natsock/protocol/socketio"
)

// testIdentity is the auth payload the targeting tests' stand-in
// authenticator trusts: in production the identity comes from a verified
// token or an authorization service, never from what the client says.
type testIdentity struct {
	Sub    string         `json:"sub"`
	Rooms  []string       `json:"rooms"`
	Claims map[string]any `json:"claims"`
	Emit   []string       `json:"emit"`
	Anon   bool           `json:"anon"`
}

// authFromPayload is the stand-in authenticator: the identity is the
// CONNECT auth payload's.
func authFromPayload(b *bridge.Bridge) {
	bridge.Authenticate(b, func(s *socketio.Socket) *auth.Identity {
		var ti testIdentity
		if err := json.Unmarshal(s.Auth(), &ti); err != nil || ti.Anon {
			return nil
		}
		if ti.Claims == nil {
			ti.Claims = map[string]any{}
		}
		return &auth.Identity{Subject: ti.Sub, Claims: ti.Claims, Rooms: ti.Rooms, Emit: ti.Emit}
	})
}

// roomClient is a raw websocket client joined to one namespace with an
// identity, whose events a goroutine collects.
type roomClient struct {
	*bridgetest.Socket
	ns    string
	ident testIdentity

	mu     sync.Mutex
	events []string // "event seq" for each EVENT received
	fences map[string]bool
	other  []string // packets that are neither events nor pings
	ended  chan struct{}
	end    error
}

// dialNamespace connects a raw client to namespace ns with ident as its
// auth payload and waits for the CONNECT answer.
func dialNamespace(t *testing.T, b *bridge.Bridge, base, ns string, ident testIdentity) *roomClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	s, err := bridgetest.DialEngine(ctx, base, "/socket.io/")
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(ident)
	prefix := "40"
	if ns != "/" {
		prefix += ns + ","
	}
	if err := s.Send(prefix + string(payload)); err != nil {
		t.Fatal(err)
	}
	answer, err := s.Next(startBound)
	if err != nil || !strings.HasPrefix(answer, prefix+`{"sid":`) {
		s.Close()
		t.Fatalf("CONNECT to %s answered %q, %v", ns, answer, err)
	}
	var sid struct{ SID string }
	_ = json.Unmarshal([]byte(strings.TrimPrefix(answer, prefix)), &sid)
	s.ID = sid.SID
	c := &roomClient{Socket: s, ns: ns, ident: ident, fences: map[string]bool{}, ended: make(chan struct{})}
	go c.read()
	t.Cleanup(func() {
		s.Close()
		<-c.ended
	})
	if !ident.Anon {
		// The CONNECT answer may come before the join (on connect): wait
		// until the server has the socket in its rooms.
		bridgetest.Eventually(t, startBound, "the socket in its rooms", func() bool {
			return bridge.InRooms(b, ns, s.ID, ident.Rooms)
		})
	}
	return c
}

// read collects events until the connection ends.
func (c *roomClient) read() {
	defer close(c.ended)
	prefix := "42"
	if c.ns != "/" {
		prefix += c.ns + ","
	}
	for {
		p, err := c.Next(time.Hour)
		if err != nil {
			c.mu.Lock()
			c.end = err
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		if js, ok := strings.CutPrefix(p, prefix); ok {
			var elems []json.RawMessage
			var name string
			var arg struct {
				Seq   int    `json:"seq"`
				Fence string `json:"fence"`
			}
			if json.Unmarshal([]byte(js), &elems) == nil && len(elems) == 2 &&
				json.Unmarshal(elems[0], &name) == nil && json.Unmarshal(elems[1], &arg) == nil {
				if arg.Fence != "" {
					c.fences[arg.Fence] = true
				} else {
					c.events = append(c.events, fmt.Sprintf("%s %d", name, arg.Seq))
				}
				c.mu.Unlock()
				continue
			}
		}
		c.other = append(c.other, p)
		c.mu.Unlock()
	}
}

func (c *roomClient) snapshot() (events []string, fences int, other []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events), len(c.fences), slices.Clone(c.other)
}

// TestTargetedDeliveryReachesOnlyRoomMembers is the live property test of
// targeting: sockets of random users, in random rooms of two namespaces,
// and messages to random subjects (known users, unknown users, empty and
// over-long tokens). Every socket receives exactly the messages whose
// route names its namespace and a room it is in: nothing more, nothing
// less, nothing twice. A subject whose room cannot be built reaches
// nobody and is counted.
func TestTargetedDeliveryReachesOnlyRoomMembers(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x6e61_7473))

	nc := connect(t, startNATS(t).ClientURL())
	maps := []string{
		"notify.user.*=notification@user:{3}",
		"notify.team.*=teamNews@team:{3}",
		"ops.*=alert@/admin#ops:{2}",
	}
	tb := startBridge(t, bridge.Config{NATSURL: nc.ConnectedUrl(), Maps: maps}, authFromPayload)

	users := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"}
	teams := []string{"red", "blue", "green", "gold"}
	ops := []string{"db", "net", "web"}
	pick := func(from []string) []string { // a random non-empty subset
		var out []string
		for len(out) == 0 {
			for _, x := range from {
				if rng.IntN(2) == 0 {
					out = append(out, x)
				}
			}
		}
		return out
	}
	var clients []*roomClient
	for i := 0; i < 30; i++ {
		u := users[rng.IntN(len(users))]
		rooms := []string{"user:" + u}
		for _, team := range pick(teams) {
			rooms = append(rooms, "team:"+team)
		}
		clients = append(clients, dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: u, Rooms: rooms}))
	}
	for i := 0; i < 10; i++ {
		var rooms []string
		for _, o := range pick(ops) {
			rooms = append(rooms, "ops:"+o)
		}
		// Some admin sockets are also in "/"-style rooms: a room name
		// means nothing outside its namespace.
		if rng.IntN(2) == 0 {
			rooms = append(rooms, "user:"+users[rng.IntN(len(users))])
		}
		clients = append(clients, dialNamespace(t, tb.Bridge, tb.URL, "/admin", testIdentity{Sub: "admin", Rooms: rooms}))
	}

	// The messages: random subjects under each rule, some naming rooms
	// nobody is in, some naming no room at all.
	long := strings.Repeat("x", bridge.MaxRoomBytes)
	type sent struct {
		seq       int
		ns, room  string
		event     string
		undeliver bool
	}
	var msgs []sent
	for seq := 0; seq < 400; seq++ {
		var subject string
		m := sent{seq: seq}
		switch rng.IntN(7) {
		case 0, 1:
			u := append(users, "nobody")[rng.IntN(len(users)+1)]
			subject, m.ns, m.room, m.event = "notify.user."+u, "/", "user:"+u, "notification"
		case 2, 3:
			team := append(teams, "none")[rng.IntN(len(teams)+1)]
			subject, m.ns, m.room, m.event = "notify.team."+team, "/", "team:"+team, "teamNews"
		case 4, 5:
			o := ops[rng.IntN(len(ops))]
			subject, m.ns, m.room, m.event = "ops."+o, "/admin", "ops:"+o, "alert"
		case 6:
			// "user:" and the token pass MaxRoomBytes: no room, no delivery.
			subject, m.undeliver = "notify.user."+long, true
		}
		msgs = append(msgs, m)
		tb.publishJSON(t, nc, subject, map[string]any{"seq": seq})
	}
	// Fences: one message through each rule to every room in use, after
	// the rest. A rule's messages reach a socket in order, so once a
	// socket has every fence of its namespace's rules, anything misrouted
	// to it would have arrived before.
	for _, u := range users {
		tb.publishJSON(t, nc, "notify.user."+u, map[string]any{"fence": "user"})
	}
	for _, team := range teams {
		tb.publishJSON(t, nc, "notify.team."+team, map[string]any{"fence": "team"})
	}
	for _, o := range ops {
		tb.publishJSON(t, nc, "ops."+o, map[string]any{"fence": "ops"})
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	wantFences := map[string]int{"/": 2, "/admin": 1}
	bridgetest.Eventually(t, 20*time.Second, "every socket to get its fences", func() bool {
		for _, c := range clients {
			if _, fences, _ := c.snapshot(); fences < wantFences[c.ns] {
				return false
			}
		}
		return true
	})

	undeliverable := 0
	for _, m := range msgs {
		if m.undeliver {
			undeliverable++
		}
	}
	for i, c := range clients {
		var want []string
		for _, m := range msgs {
			if !m.undeliver && m.ns == c.ns && slices.Contains(c.ident.Rooms, m.room) {
				want = append(want, fmt.Sprintf("%s %d", m.event, m.seq))
			}
		}
		got, _, other := c.snapshot()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("client %d (%s, rooms %v) got %d events, want %d:\n got %v\nwant %v", i, c.ns, c.ident.Rooms, len(got), len(want), got, want)
		}
		if len(other) > 0 {
			t.Errorf("client %d got packets that are not events: %q", i, other)
		}
	}
	if got := tb.Stats().BadRoom.Load(); got != uint64(undeliverable) {
		t.Errorf("Stats.BadRoom = %d, want %d (the subjects whose room passes the bound)", got, undeliverable)
	}
	if n := strings.Count(tb.logs.String(), "cannot build"); n != 1 {
		t.Errorf("the room drop was logged %d times, want once for its rule:\n%s", n, tb.logs)
	}
}

// publishJSON publishes v as JSON.
func (tb *testBridge) publishJSON(t *testing.T, nc interface {
	Publish(string, []byte) error
}, subject string, v any) {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(subject, body); err != nil {
		t.Fatal(err)
	}
}

// TestTargetedRoomThatCannotBeBuilt checks that a subject whose room
// cannot be built (too long) is dropped and counted, never broadcast to the
// namespace, while the same rule keeps delivering to well-formed rooms. (A
// subject with an empty token never arrives: nats-server does not deliver
// it to wildcard subscriptions; the pure tests cover that case.)
func TestTargetedRoomThatCannotBeBuilt(t *testing.T) {
	t.Parallel()
	nc := connect(t, startNATS(t).ClientURL())
	tb := startBridge(t, bridge.Config{NATSURL: nc.ConnectedUrl(), Maps: []string{"notify.*.*=n@{2}{3}"}}, authFromPayload)
	in := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "42", Rooms: []string{"user42"}})
	out := dialNamespace(t, tb.Bridge, tb.URL, "/", testIdentity{Sub: "7", Rooms: []string{"user7"}})

	half := strings.Repeat("h", bridge.MaxRoomBytes/2+1)
	tb.publishJSON(t, nc, "notify.."+half, map[string]any{"seq": 0})
	tb.publishJSON(t, nc, "notify."+half+"."+half, map[string]any{"seq": 1})
	tb.publishJSON(t, nc, "notify.user.42", map[string]any{"seq": 2})
	tb.publishJSON(t, nc, "notify.user.7", map[string]any{"fence": "f"})
	bridgetest.Eventually(t, startBound, "user42's notification and user7's fence", func() bool {
		got, _, _ := in.snapshot()
		_, fences, _ := out.snapshot()
		return len(got) > 0 && fences == 1
	})
	if got, _, _ := in.snapshot(); !slices.Equal(got, []string{"n 2"}) {
		t.Errorf("user42 got %q, want only its own notification", got)
	}
	if got, _, _ := out.snapshot(); len(got) != 0 {
		t.Errorf("user7 got %q, want nothing but its fence", got)
	}
	if got := tb.Stats().BadRoom.Load(); got != 1 {
		t.Errorf("Stats.BadRoom = %d, want 1 (the over-long room)", got)
	}
	if !strings.Contains(tb.logs.String(), "cannot build") || !strings.Contains(tb.logs.String(), "over the 256-byte bound") {
		t.Errorf("the drop was not logged with its reason:\n%s", tb.logs)
	}
}

// TestTargetingWithRealClients: socket.io-client in node, for two users
// and an admin, over each transport set: each gets only its own room's
// messages, and a member's emit that needs the manager role is answered
// with the reason.
func TestTargetingWithRealClients(t *testing.T) {
	bridgetest.RequireNode(t)
	for _, transports := range transportSets {
		t.Run("socket.io-client 4.8.4 on "+transports, func(t *testing.T) {
			t.Parallel()
			nc := connect(t, startNATS(t).ClientURL())
			tb := startBridge(t, bridge.Config{NATSURL: nc.ConnectedUrl(),
				Maps:    []string{"notify.user.*=notification@user:{3}", "ops.*=alert@/admin#ops:{2}"},
				Inbound: []string{"taskAssigned=tasks.assigned?role=manager"}}, authFromPayload)
			start := func(url, ns, event, count string, ident testIdentity) *bridgetest.Client {
				auth, _ := json.Marshal(ident)
				c := interop(t, url, "4.8.4", transports, "receive", "--event", event, "--count", count, "--auth", string(auth))
				var ready struct{ ID string }
				if err := json.Unmarshal([]byte(c.WaitReady(startBound)), &ready); err != nil {
					t.Fatal(err)
				}
				bridgetest.Eventually(t, startBound, "the client in its rooms", func() bool {
					return bridge.InRooms(tb.Bridge, ns, ready.ID, ident.Rooms)
				})
				return c
			}
			u42 := start(tb.URL, "/", "notification", "2", testIdentity{Sub: "42", Rooms: []string{"user:42"}})
			u7 := start(tb.URL, "/", "notification", "2", testIdentity{Sub: "7", Rooms: []string{"user:7"}})
			ops := start(tb.URL+"/admin", "/admin", "alert", "1", testIdentity{Sub: "root", Rooms: []string{"ops:db"}})
			// Interleaved, with messages for nobody here: a misrouted one
			// would be among a client's first events.
			for i, subject := range []string{"notify.user.42", "notify.user.99", "ops.web", "notify.user.7", "notify.user.42", "ops.db", "notify.user.7"} {
				tb.publishJSON(t, nc, subject, map[string]any{"to": subject, "n": i})
			}
			for _, c := range []struct {
				client *bridgetest.Client
				want   []string
			}{
				{u42, []string{`{"to":"notify.user.42","n":0}`, `{"to":"notify.user.42","n":4}`}},
				{u7, []string{`{"to":"notify.user.7","n":3}`, `{"to":"notify.user.7","n":6}`}},
				{ops, []string{`{"to":"ops.db","n":5}`}},
			} {
				r := c.client.MustOK(nodeBound)
				if len(r.Events) != len(c.want) {
					t.Fatalf("got %s, want %d events", r.Raw, len(c.want))
				}
				for i, ev := range r.Events {
					if !bridgetest.JSONEqual(ev.Args[0], []byte(c.want[i])) {
						t.Errorf("event %d is %s, want %s (all: %s)", i, ev.Args[0], c.want[i], r.Raw)
					}
				}
			}

			auth, _ := json.Marshal(testIdentity{Sub: "7", Claims: map[string]any{"role": "member"}})
			r := interop(t, tb.URL, "4.8.4", transports, "emit", "--event", "taskAssigned", "--data", `{"task":17}`,
				"--ack", "--auth", string(auth)).MustOK(nodeBound)
			if len(r.Ack) != 1 || !bridgetest.JSONEqual(r.Ack[0], []byte(`{"error":"event \"taskAssigned\" needs claim role=manager"}`)) {
				t.Errorf("the member's taskAssigned was acknowledged %s, want the refusal", r.Raw)
			}
		})
	}
}
