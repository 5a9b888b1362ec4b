package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gobwas/ws"

	"github.com/natsock/natsock/protocol/socketio"
)

// memRecovery is the seam's own in-memory Recovery: an event log with
// sequence numbers from 1, pids kept in a map and bound to the user the
// middleware found, and replay by room. It stands where natsock's bridge
// puts JetStream.
type memRecovery struct {
	ns *socketio.Namespace

	mu       sync.Mutex
	log      []memEvent
	sessions map[string]memSession
	pids     int
	// gate, when set, stops every replay after its first event until it
	// is closed; paused is told each time a replay stops there.
	gate   chan struct{}
	paused chan struct{}
	// fail, when set, is what every replay returns after its first event.
	fail error
}

type memEvent struct {
	seq   uint64
	room  string
	event string
	d     socketio.Data
}

type memSession struct {
	id, user string
	start    uint64 // the log's last seq when the pid was handed out
}

var (
	errUnknownPID = errors.New("memRecovery: unknown pid")
	errForeignPID = errors.New("memRecovery: the pid belongs to another user")
)

func newMemRecovery() *memRecovery {
	return &memRecovery{sessions: make(map[string]memSession), paused: make(chan struct{}, 16)}
}

var _ socketio.Recovery = (*memRecovery)(nil)

func userOf(s *socketio.Socket) string {
	u, _ := s.Data().(string)
	return u
}

func (m *memRecovery) NewPID(s *socketio.Socket) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pids++
	pid := "pid-" + strconv.Itoa(m.pids)
	m.sessions[pid] = memSession{id: s.ID(), user: userOf(s), start: uint64(len(m.log))}
	return pid, nil
}

func (m *memRecovery) Resume(s *socketio.Socket, req socketio.ResumeRequest) (socketio.Resumption, error) {
	m.mu.Lock()
	sess, ok := m.sessions[req.PID]
	m.mu.Unlock()
	switch {
	case !ok:
		return socketio.Resumption{}, errUnknownPID
	case sess.user != userOf(s):
		return socketio.Resumption{}, errForeignPID
	}
	from := sess.start
	if req.HasOffset {
		from = req.Offset
	}
	rooms := s.Rooms()
	return socketio.Resumption{ID: sess.id, Replay: func(ctx context.Context, emit func(string, socketio.Data, uint64) error) error {
		first := true
		// The log is read as it grows: events published during the
		// replay come both live (held) and from here, and the engine
		// sends each once.
		for i := int(from); ; i++ {
			m.mu.Lock()
			if i >= len(m.log) {
				m.mu.Unlock()
				return nil
			}
			ev, gate, fail := m.log[i], m.gate, m.fail
			m.mu.Unlock()
			if ev.room != "" && !slices.Contains(rooms, ev.room) {
				continue
			}
			if err := emit(ev.event, ev.d, ev.seq); err != nil {
				return err
			}
			if first {
				first = false
				if fail != nil {
					return fail
				}
				if gate != nil {
					m.paused <- struct{}{}
					select {
					case <-gate:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
		}
	}}, nil
}

// forget drops every pid, as a recovery window that has passed.
func (m *memRecovery) forget() {
	m.mu.Lock()
	clear(m.sessions)
	m.mu.Unlock()
}

// publish logs an event for room ("" for the whole namespace) and sends
// it live with its seq, which it returns.
func (m *memRecovery) publish(t *testing.T, room, event string, args ...any) uint64 {
	t.Helper()
	d, err := socketio.Args(args...)
	if err != nil {
		t.Fatal(err)
	}
	return m.publishData(room, event, d)
}

func (m *memRecovery) publishData(room, event string, d socketio.Data) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	seq := uint64(len(m.log) + 1)
	m.log = append(m.log, memEvent{seq: seq, room: room, event: event, d: d})
	b := m.ns.To()
	if room != "" {
		b = m.ns.To(room)
	}
	b.EmitOffset(event, d, seq)
	return seq
}

// recoveryServer serves a namespace "/" whose middleware takes the user
// from the auth ({"user":"ann"}) and joins room "user:ann".
func recoveryServer(t *testing.T, cfg socketio.Config) (*socketio.Server, *memRecovery, string) {
	t.Helper()
	rec := newMemRecovery()
	cfg.Recovery = rec
	srv, url := startRawServer(t, cfg)
	ns := srv.Of("/")
	rec.ns = ns
	ns.Use(func(s *socketio.Socket) error {
		var auth struct {
			User string `json:"user"`
		}
		if err := json.Unmarshal(s.Auth(), &auth); err != nil || auth.User == "" {
			return &socketio.ConnectError{Message: "who are you?"}
		}
		s.SetData(auth.User)
		s.Join("user:" + auth.User)
		return nil
	})
	return srv, rec, url
}

// connectAnswer is a CONNECT answer's payload.
type connectAnswer struct {
	SID string  `json:"sid"`
	PID *string `json:"pid"`
}

// connectWith sends CONNECT for "/" with auth and returns the answer.
func (c *rawClient) connectWith(auth string) connectAnswer {
	c.t.Helper()
	c.text("40" + auth)
	msg := c.readText()
	payload, ok := strings.CutPrefix(msg, "40")
	var a connectAnswer
	if !ok || json.Unmarshal([]byte(payload), &a) != nil || a.SID == "" {
		c.t.Fatalf("CONNECT %s answered %q", auth, msg)
	}
	return a
}

func resumeAuth(user, pid string, offset uint64) string {
	return fmt.Sprintf(`{"user":%q,"pid":%q,"offset":"%d"}`, user, pid, offset)
}

// expectEvents reads one text message for each of want, each exactly so.
func (c *rawClient) expectEvents(want ...string) {
	c.t.Helper()
	for i, w := range want {
		if got := c.readText(); got != w {
			c.t.Fatalf("message %d: got %q, want %q (all wanted: %q)", i, got, w, want)
		}
	}
}

// TestRecoveryOffChangesNothingOnTheWire: without Config.Recovery, a
// CONNECT answer has only the sid (even to a client that sends a pid),
// and EmitOffset is Emit: no offset argument.
func TestRecoveryOffChangesNothingOnTheWire(t *testing.T) {
	srv, url := startRawServer(t, socketio.Config{})
	c := dialRaw(t, url)
	c.text(`40{"pid":"pid-1","offset":"3"}`)
	msg := c.readText()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimPrefix(msg, "40")), &fields); err != nil || len(fields) != 1 || fields["sid"] == nil {
		t.Fatalf("CONNECT answered %q, want only a sid", msg)
	}
	d, _ := socketio.Args(1, "two")
	if n := srv.Of("/").EmitOffset("n", d, 7); n != 1 {
		t.Fatalf("EmitOffset reached %d sockets, want 1", n)
	}
	c.expectEvents(`42["n",1,"two"]`)
}

// TestRecoveryResumesWithTheMissedEvents: a client that comes back with
// its pid and last offset gets its old id and the same pid, then exactly
// the events of its rooms it missed, each with its offset, then what
// OnConnect sends, then live events; the socket says it recovered.
func TestRecoveryResumesWithTheMissedEvents(t *testing.T) {
	srv, rec, url := recoveryServer(t, socketio.Config{})
	ns := srv.Of("/")
	conns := make(chan *socketio.Socket, 4)
	ns.OnConnect(func(s *socketio.Socket) {
		_ = s.Emit("welcome", socketio.Data{Args: []json.RawMessage{json.RawMessage(strconv.FormatBool(s.Recovered()))}})
		conns <- s
	})

	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	if first.PID == nil || *first.PID == "" {
		t.Fatalf("CONNECT answer %+v has no pid", first)
	}
	c1.expectEvents(`42["welcome",false]`)
	recvSocket(t, conns)
	rec.publish(t, "user:ann", "n", 1)
	c1.expectEvents(`42["n",1,"1"]`)
	_ = c1.conn.Close()
	waitUntil(t, "the first socket to leave", func() bool { return ns.Len() == 0 })

	rec.publish(t, "user:ann", "n", 2)
	rec.publish(t, "user:bob", "n", "not ann's")
	rec.publish(t, "", "all", 4)

	c2 := dialRaw(t, url)
	second := c2.connectWith(resumeAuth("ann", *first.PID, 1))
	if second.SID != first.SID || second.PID == nil || *second.PID != *first.PID {
		t.Fatalf("resumed CONNECT answer %+v, want sid %s and pid %s again", second, first.SID, *first.PID)
	}
	c2.expectEvents(`42["n",2,"2"]`, `42["all",4,"4"]`, `42["welcome",true]`)
	s := recvSocket(t, conns)
	if !s.Recovered() || s.ID() != first.SID {
		t.Errorf("socket %s recovered=%v, want %s recovered", s.ID(), s.Recovered(), first.SID)
	}
	rec.publish(t, "user:ann", "n", 5)
	c2.expectEvents(`42["n",5,"5"]`)
}

// TestRecoveryWithoutOffsetResumesFromThePID: a client that got no event
// since its pid sends the pid alone; the implementation resumes it from
// where it bound the pid.
func TestRecoveryWithoutOffsetResumesFromThePID(t *testing.T) {
	srv, rec, url := recoveryServer(t, socketio.Config{})
	rec.publish(t, "user:ann", "n", "before the pid")
	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	_ = c1.conn.Close()
	waitUntil(t, "the first socket to leave", func() bool { return srv.Of("/").Len() == 0 })
	rec.publish(t, "user:ann", "n", "missed")

	c2 := dialRaw(t, url)
	second := c2.connectWith(fmt.Sprintf(`{"user":"ann","pid":%q}`, *first.PID))
	if second.PID == nil || *second.PID != *first.PID {
		t.Fatalf("resumed CONNECT answer %+v, want pid %s", second, *first.PID)
	}
	c2.expectEvents(`42["n","missed","2"]`)
}

// TestRecoveryRefusedConnectsAfresh: an unknown pid, another user's pid,
// or an offset that is no decimal string gets a normal CONNECT answer
// with a new id and a new pid, and nothing replayed.
func TestRecoveryRefusedConnectsAfresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth func(pid string) string
	}{
		{"an unknown pid connects afresh", func(string) string { return resumeAuth("ann", "pid-404", 1) }},
		{"a pid from a forgotten session connects afresh", func(pid string) string { return resumeAuth("ann", pid, 1) }},
		{"another user's pid connects afresh", func(pid string) string { return resumeAuth("bob", pid, 1) }},
		{"an offset with a leading zero connects afresh", func(pid string) string {
			return fmt.Sprintf(`{"user":"ann","pid":%q,"offset":"01"}`, pid)
		}},
		{"a numeric offset connects afresh", func(pid string) string {
			return fmt.Sprintf(`{"user":"ann","pid":%q,"offset":1}`, pid)
		}},
		{"a pid that is no string connects afresh", func(string) string { return `{"user":"ann","pid":1,"offset":"1"}` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec, url := recoveryServer(t, socketio.Config{})
			c1 := dialRaw(t, url)
			first := c1.connectWith(`{"user":"ann"}`)
			rec.publish(t, "", "n", 1)
			c1.expectEvents(`42["n",1,"1"]`)
			_ = c1.conn.Close()
			waitUntil(t, "the first socket to leave", func() bool { return srv.Of("/").Len() == 0 })
			rec.publish(t, "", "n", "missed")
			if strings.Contains(tc.name, "forgotten") {
				rec.forget()
			}

			c2 := dialRaw(t, url)
			second := c2.connectWith(tc.auth(*first.PID))
			if second.SID == first.SID || second.PID == nil || *second.PID == *first.PID || *second.PID == "" {
				t.Fatalf("CONNECT answer %+v after %+v, want a new sid and a new pid", second, first)
			}
			rec.publish(t, "", "n", 3)
			c2.expectEvents(`42["n",3,"3"]`)
		})
	}
}

// TestRecoveryKeepsATakenIDAndStillResumes: when the client's old socket
// is still connected (its loss not yet noticed), the resumed socket keeps
// a new id, and still resumes with its pid.
func TestRecoveryKeepsATakenIDAndStillResumes(t *testing.T) {
	_, rec, url := recoveryServer(t, socketio.Config{})
	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	rec.publish(t, "", "n", 1)
	c1.expectEvents(`42["n",1,"1"]`)
	rec.publish(t, "", "n", 2)

	c2 := dialRaw(t, url)
	second := c2.connectWith(resumeAuth("ann", *first.PID, 1))
	if second.SID == first.SID || second.PID == nil || *second.PID != *first.PID {
		t.Fatalf("CONNECT answer %+v while %s is connected, want a new sid and pid %s", second, first.SID, *first.PID)
	}
	c2.expectEvents(`42["n",2,"2"]`)
}

// TestRecoveryHoldsLiveEventsDuringTheReplay: live events published while
// a replay runs reach the resumed client after the replay, in order, each
// once, though the replay also reads them from the log; and the client's
// own events wait for OnConnect, which runs after the replay.
func TestRecoveryHoldsLiveEventsDuringTheReplay(t *testing.T) {
	srv, rec, url := recoveryServer(t, socketio.Config{})
	ns := srv.Of("/")
	srv.Of("/other")
	var order []string
	var orderMu sync.Mutex
	note := func(s string) {
		orderMu.Lock()
		order = append(order, s)
		orderMu.Unlock()
	}
	ns.OnConnect(func(s *socketio.Socket) {
		if s.Recovered() {
			note("connect")
		}
	})
	ns.On("hi", func(s *socketio.Socket, ev *socketio.Event) {
		note("hi " + string(ev.Args[0]))
		if ev.WantsAck() {
			_ = ev.Ack(socketio.Data{})
		}
	})

	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	rec.publish(t, "user:ann", "n", 1)
	c1.expectEvents(`42["n",1,"1"]`)
	_ = c1.conn.Close()
	waitUntil(t, "the first socket to leave", func() bool { return ns.Len() == 0 })
	rec.publish(t, "user:ann", "n", 2)
	rec.publish(t, "user:ann", "n", 3)

	gate := make(chan struct{})
	rec.mu.Lock()
	rec.gate = gate
	rec.mu.Unlock()
	c2 := dialRaw(t, url)
	c2.connectWith(resumeAuth("ann", *first.PID, 1))
	c2.expectEvents(`42["n",2,"2"]`)
	recv(t, rec.paused, "the replay to pause")
	// While the replay waits: live events for the socket, one without an
	// offset (sent at once), and the client's own events.
	rec.publish(t, "user:ann", "n", 4)
	rec.publish(t, "user:ann", "n", 5)
	ns.To("user:ann").Emit("plain", socketio.Data{})
	c2.expectEvents(`42["plain"]`)
	c2.text(`42["hi",1]`)
	c2.text(`421["hi",2]`)
	// The read goroutine is free for other namespaces meanwhile; once
	// this CONNECT is answered, the events before it were read.
	c2.text(`40/other,`)
	if msg := c2.readText(); !strings.HasPrefix(msg, `40/other,{"sid":`) {
		t.Fatalf("CONNECT /other during the replay answered %q", msg)
	}
	orderMu.Lock()
	if len(order) != 0 {
		t.Errorf("before the replay ended: %q, want nothing (OnConnect and the client's events wait)", order)
	}
	orderMu.Unlock()
	close(gate)
	c2.expectEvents(`42["n",3,"3"]`, `42["n",4,"4"]`, `42["n",5,"5"]`, `431[]`)
	rec.publish(t, "user:ann", "n", 6)
	c2.expectEvents(`42["n",6,"6"]`)
	orderMu.Lock()
	defer orderMu.Unlock()
	if want := []string{"connect", "hi 1", "hi 2"}; !slices.Equal(order, want) {
		t.Errorf("hooks ran as %q, want %q", order, want)
	}
}

// reasonObserver records each socket's disconnect reason.
type reasonObserver struct {
	recorder
	reasons chan socketio.Reason
}

func (o *reasonObserver) Disconnected(s *socketio.Socket, r socketio.Reason) { o.reasons <- r }

// TestRecoveryHoldIsBounded: a replay that holds more live events than
// Config.RecoveryHold closes the connection (the client would resume
// again from its last offset) rather than lose any; the socket was never
// announced, so neither OnConnect nor OnDisconnect ran for it.
func TestRecoveryHoldIsBounded(t *testing.T) {
	srv, rec, url := recoveryServer(t, socketio.Config{RecoveryHold: 2})
	ns := srv.Of("/")
	var connects, disconnects atomic.Int64
	ns.OnConnect(func(*socketio.Socket) { connects.Add(1) })
	ns.OnDisconnect(func(*socketio.Socket, socketio.Reason) { disconnects.Add(1) })
	obs := &reasonObserver{reasons: make(chan socketio.Reason, 4)}
	srv.Observe(obs)

	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	rec.publish(t, "user:ann", "n", 1)
	c1.expectEvents(`42["n",1,"1"]`)
	_ = c1.conn.Close()
	if r := recv(t, obs.reasons, "the first socket's disconnect"); r != socketio.ReasonTransportClose {
		t.Fatalf("first socket left for %q", r)
	}
	rec.publish(t, "user:ann", "n", 2)

	gate := make(chan struct{})
	defer close(gate)
	rec.mu.Lock()
	rec.gate = gate
	rec.mu.Unlock()
	c2 := dialRaw(t, url)
	c2.connectWith(resumeAuth("ann", *first.PID, 1))
	recv(t, rec.paused, "the replay to pause")
	c2.expectEvents(`42["n",2,"2"]`)
	for i := range 3 {
		rec.publish(t, "user:ann", "n", 3+i)
	}
	if got := c2.closed(); len(got) != 0 {
		t.Errorf("before the close the client got %q, want nothing more", got)
	}
	if r := recv(t, obs.reasons, "the resumed socket's disconnect"); r != socketio.ReasonReplayOverflow {
		t.Errorf("resumed socket left for %q, want %q", r, socketio.ReasonReplayOverflow)
	}
	if connects.Load() != 1 || disconnects.Load() != 1 {
		t.Errorf("OnConnect ran %d times, OnDisconnect %d; want 1 each (for the first socket only)", connects.Load(), disconnects.Load())
	}
}

// TestRecoveryReplayFailureClosesTheConnection: a replay that fails closes
// the connection with ReasonReplayFailed, after what it sent.
func TestRecoveryReplayFailureClosesTheConnection(t *testing.T) {
	srv, rec, url := recoveryServer(t, socketio.Config{})
	obs := &reasonObserver{reasons: make(chan socketio.Reason, 4)}
	srv.Observe(obs)
	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	_ = c1.conn.Close()
	recv(t, obs.reasons, "the first socket's disconnect")
	rec.publish(t, "user:ann", "n", 1)
	rec.publish(t, "user:ann", "n", 2)
	rec.mu.Lock()
	rec.fail = errors.New("the store is gone")
	rec.mu.Unlock()

	c2 := dialRaw(t, url)
	c2.text(fmt.Sprintf(`40{"user":"ann","pid":%q}`, *first.PID))
	// The close cuts the transport at once: what was queued may be lost
	// (the client resumes again from what it got).
	got := c2.closed()
	if len(got) > 2 || (len(got) > 0 && !strings.HasPrefix(got[0], `40{"sid":`)) || (len(got) == 2 && got[1] != `42["n",1,"1"]`) {
		t.Errorf("before the close the client got %q, want at most the CONNECT answer and the first replayed event", got)
	}
	if r := recv(t, obs.reasons, "the resumed socket's disconnect"); r != socketio.ReasonReplayFailed {
		t.Errorf("resumed socket left for %q, want %q", r, socketio.ReasonReplayFailed)
	}
}

// TestRecoveryV2ClientsGetNoPID: socket.io v2 clients know nothing of
// recovery: their CONNECT answer stays "40".
func TestRecoveryV2ClientsGetNoPID(t *testing.T) {
	cfg := socketio.Config{}
	cfg.Engine.AllowEIO3 = true
	rec := newMemRecovery()
	cfg.Recovery = rec
	srv, url := startRawServer(t, cfg)
	rec.ns = srv.Of("/")
	ctx, cancel := context.WithTimeout(context.Background(), rawWait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=3&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawClient{t: t, conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	if msg, _ := c.read(); !strings.HasPrefix(msg, "0{") {
		t.Fatalf("open packet: %q", msg)
	}
	if msg := c.readText(); msg != "40" {
		t.Fatalf("v2 CONNECT answer %q, want 40", msg)
	}
	rec.publish(t, "", "n", 1)
	if msg := c.readText(); msg != `42["n",1,"1"]` {
		t.Fatalf("v2 client got %q, want the event with its offset, as socket.io sends it", msg)
	}
}

func FuzzParseResume(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"pid":"a","offset":"1"}`, `{"pid":"a"}`, `{"pid":"a","offset":null}`,
		`{"pid":"","offset":"1"}`, `{"pid":"a","offset":"01"}`, `{"pid":"a","offset":"18446744073709551615"}`,
		`{"pid":"a","offset":"18446744073709551616"}`, `{"pid":"a","offset":"-1"}`, `{"pid":"a","offset":1}`,
		`{"pid":1}`, `[]`, `"pid"`, `null`, `{"pid":"a","pid":"b","offset":"2"}`, `{"PID":"a","offset":"1"}`,
		`{"pid":"\u0000","offset":"0"}`, `{"pid":"a","offset":"1e3"}`, `{"pid":"a","offset":" 1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, auth []byte) {
		req, ok, err := socketio.ParseResume(auth)
		if ok && err != nil {
			t.Fatalf("ok with error %v", err)
		}
		if !ok {
			if req != (socketio.ResumeRequest{}) {
				t.Fatalf("not ok but %+v", req)
			}
			return
		}
		if req.PID == "" {
			t.Fatal("ok with an empty pid")
		}
		// What was read is what a JSON reader finds there.
		var fields map[string]any
		if err := json.Unmarshal(auth, &fields); err != nil {
			t.Fatalf("ok for auth that is no JSON object: %v", err)
		}
		if fields["pid"] != req.PID {
			t.Fatalf("pid %q, JSON says %v", req.PID, fields["pid"])
		}
		off, has := fields["offset"].(string)
		if has != req.HasOffset {
			t.Fatalf("HasOffset %v, JSON offset %v", req.HasOffset, fields["offset"])
		}
		if has && off != strconv.FormatUint(req.Offset, 10) {
			t.Fatalf("offset %d, JSON says %q (not its canonical form)", req.Offset, off)
		}
	})
}

// TestRecoveryReplaySkipsWhatNoQueueCanHold: an event larger than the
// session's queue bound reached no live socket, and a replay skips it too,
// rather than fail the resume forever.
func TestRecoveryReplaySkipsWhatNoQueueCanHold(t *testing.T) {
	cfg := socketio.Config{}
	cfg.Engine.MaxQueueBytes = 256
	srv, rec, url := recoveryServer(t, cfg)
	c1 := dialRaw(t, url)
	first := c1.connectWith(`{"user":"ann"}`)
	_ = c1.conn.Close()
	waitUntil(t, "the first socket to leave", func() bool { return srv.Of("/").Len() == 0 })
	rec.publish(t, "user:ann", "n", 1)
	rec.publish(t, "user:ann", "n", strings.Repeat("x", 300))
	rec.publish(t, "user:ann", "n", 3)

	c2 := dialRaw(t, url)
	second := c2.connectWith(fmt.Sprintf(`{"user":"ann","pid":%q}`, *first.PID))
	if second.PID == nil || *second.PID != *first.PID {
		t.Fatalf("CONNECT answer %+v, want pid %s", second, *first.PID)
	}
	c2.expectEvents(`42["n",1,"1"]`, `42["n",3,"3"]`)
	rec.publish(t, "user:ann", "n", 4)
	c2.expectEvents(`42["n",4,"4"]`)
}
