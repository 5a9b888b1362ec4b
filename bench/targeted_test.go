package bench

import (
	"strconv"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
)

// targetedRun is the run state of a targeted run of n clients, m messages.
func targetedRun(t *testing.T, n, m int) *runState {
	t.Helper()
	cfg := Config{Scenario: ScenarioTargeted, JWTSecret: "s3cret", Clients: n, Messages: m}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.setDefaults()
	rs, err := newRunState(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestATargetedClientCountsOnlyItsOwnUsersMessages(t *testing.T) {
	rs := targetedRun(t, 10, 100)
	event := func(seq, to uint64) []byte {
		return frame(rs.cfg.Event, appendTargetedMessage(nil, rs.run, seq, rs.now(), to, 128))
	}
	tests := []struct {
		name   string
		frames [][]byte
		// what client 4 (user 5) counts
		got, misdelivered, dups, foreign uint64
	}{
		{"its own user's messages are received", [][]byte{event(0, 5), event(1, 5)}, 2, 0, 0, 0},
		{"another user's message is misdelivered, not received", [][]byte{event(0, 6), event(0, 5)}, 1, 1, 0, 0},
		{"its own message twice is a duplicate", [][]byte{event(0, 5), event(0, 5)}, 1, 0, 1, 0},
		{"a message that names no user is foreign", [][]byte{frame(rs.cfg.Event, appendMessage(nil, rs.run, 0, 1, 128))}, 0, 0, 0, 1},
		{"another run's message for its user is foreign",
			[][]byte{frame(rs.cfg.Event, appendTargetedMessage(nil, rs.run+1, 0, 1, 5, 128))}, 0, 0, 0, 1},
		{"another run's message for another user is foreign, not misdelivered",
			[][]byte{frame(rs.cfg.Event, appendTargetedMessage(nil, rs.run+1, 0, 1, 6, 128))}, 0, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c client
			c.setUp(rs, 4)
			if c.user != 5 {
				t.Fatalf("client 4 is user %d, want 5", c.user)
			}
			for _, f := range tc.frames {
				if k := c.packet(f, rs.now(), rs.prefix); k != packetEvent {
					t.Fatalf("packet(%q) = %v, want an event", f, k)
				}
			}
			if c.got.Load() != tc.got || c.misdelivered != tc.misdelivered || c.seq.dups != tc.dups || c.foreign != tc.foreign {
				t.Errorf("got %d, misdelivered %d, dups %d, foreign %d; want %d, %d, %d, %d",
					c.got.Load(), c.misdelivered, c.seq.dups, c.foreign, tc.got, tc.misdelivered, tc.dups, tc.foreign)
			}
		})
	}
}

func TestABroadcastClientHasNoUser(t *testing.T) {
	rs := targetedRun(t, 10, 100)
	rs.cfg.Scenario = ScenarioBroadcast
	var c client
	c.setUp(rs, 4)
	if c.user != 0 {
		t.Errorf("a broadcast client is user %d, want none", c.user)
	}
}

func TestTheTargetedPublisherSendsEachMessageToTheUserItNames(t *testing.T) {
	opts := natsserver.DefaultTestOptions
	opts.Port = -1
	ns := natsserver.RunServer(&opts)
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync("notify.user.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}

	const users, messages = 50, 500
	rs := targetedRun(t, users, messages)
	clients := make([]*client, users)
	for i := range clients {
		clients[i] = &client{}
	}
	p := newPublisher(rs, nc, clients)
	for range messages {
		if err := p.publish(); err != nil {
			t.Fatal(err)
		}
		p.sent++
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	seen := map[uint64]uint64{} // user -> messages received for it
	for n := range messages {
		msg, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("message %d: %v", n, err)
		}
		prefix := eventPrefix(rs.cfg.Event, rs.run)
		seq, _, rest, ok := parseEventRest(frame(rs.cfg.Event, msg.Data), prefix)
		to, okTo := parseTarget(rest)
		if !ok || !okTo {
			t.Fatalf("message %d: %q is not a targeted message of this run", n, msg.Data)
		}
		if want := "notify.user." + strconv.FormatUint(to, 10); msg.Subject != want {
			t.Errorf("the message for user %d went to %s, want %s", to, msg.Subject, want)
		}
		if seq != seen[to] {
			t.Errorf("user %d's message %d carries sequence number %d", to, seen[to], seq)
		}
		seen[to]++
		if len(msg.Data) != rs.cfg.Size {
			t.Errorf("a message of %d bytes, want %d", len(msg.Data), rs.cfg.Size)
		}
	}
	var total int64
	for i := range users {
		if got := p.expected(i); got != int64(seen[userID(i)]) {
			t.Errorf("client %d expects %d messages; %d were published to its user", i, got, seen[userID(i)])
		}
		total += p.expected(i)
	}
	if total != messages {
		t.Errorf("the clients expect %d messages in all, want %d", total, messages)
	}
	if len(seen) < 2 {
		t.Errorf("every message went to one user: %v", seen)
	}
}

func TestTheTargetedWindowCountsWhatConnectedClientsHaveYetToReceive(t *testing.T) {
	rs := targetedRun(t, 3, 100)
	clients := make([]*client, 3)
	for i := range clients {
		clients[i] = &client{}
		clients[i].setUp(rs, i)
	}
	p := newPublisher(rs, nil, clients)
	p.perUser, p.sent = []int64{5, 7, 9}, 21
	for i, got := range []uint64{5, 3, 1} {
		for s := range got {
			clients[i].event(frame(rs.cfg.Event, appendTargetedMessage(nil, rs.run, s, 1, userID(i), 64)), 2, rs.prefix)
		}
	}
	if ahead, live := p.ahead(); ahead != 0+4+8 || !live {
		t.Errorf("ahead = %d, %v; want 12, true", ahead, live)
	}
	// A client the server ended will receive nothing more: once counted
	// again, its messages leave the window, or publishing would stall on
	// them. Until then the window takes the last count.
	clients[2].ended.Store(true)
	if ahead, _ := p.ahead(); ahead != 12 {
		t.Errorf("before a recount, ahead = %d, want the last count's 12", ahead)
	}
	p.counted = time.Time{}
	if ahead, live := p.ahead(); ahead != 4 || !live {
		t.Errorf("with client 2 ended, ahead = %d, %v; want 4, true", ahead, live)
	}
	clients[0].ended.Store(true)
	clients[1].ended.Store(true)
	p.counted = time.Time{}
	if _, live := p.ahead(); live {
		t.Error("with every client ended, a client is still live")
	}
}

func TestATargetedTallyCountsLostAndMisdeliveredByUser(t *testing.T) {
	rs := targetedRun(t, 3, 100)
	clients := make([]*client, 3)
	for i := range clients {
		clients[i] = &client{}
		clients[i].setUp(rs, i)
	}
	// User 1 got both of its messages, user 2 one of its three and a
	// message for user 1, user 3 its only one twice.
	for _, s := range []uint64{0, 1} {
		clients[0].seq.observe(s)
		clients[0].frames++
	}
	clients[1].seq.observe(2)
	clients[1].frames++
	clients[1].misdelivered++
	clients[2].seq.observe(0)
	clients[2].seq.observe(0)
	clients[2].frames += 2

	r := &runner{rs: rs, clients: clients, pub: newPublisher(rs, nil, clients)}
	r.pub.perUser = []int64{2, 3, 1}
	var res Result
	r.tally(&res, 6, 0)
	if res.Published != 6 || res.Expected != 6 || res.Delivered != 5 {
		t.Errorf("published %d, expected %d, delivered %d; want 6, 6, 5", res.Published, res.Expected, res.Delivered)
	}
	if res.Lost != 2 || res.Misdelivered != 1 || res.Duplicates != 1 {
		t.Errorf("lost %d, misdelivered %d, duplicated %d; want 2, 1, 1", res.Lost, res.Misdelivered, res.Duplicates)
	}
}
