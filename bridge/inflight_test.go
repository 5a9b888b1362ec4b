package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// heldRequests is a NATS responder on one subject that answers nothing
// until the test releases what it holds, so that requests stay in flight.
type heldRequests struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func holdRequests(t *testing.T, nc *nats.Conn, subject string) *heldRequests {
	t.Helper()
	h := &heldRequests{}
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) {
		h.mu.Lock()
		h.msgs = append(h.msgs, m)
		h.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitHeld waits until the responder holds n requests in all.
func (h *heldRequests) waitHeld(t *testing.T, n int) {
	t.Helper()
	bridgetest.Eventually(t, startBound, fmt.Sprintf("%d requests held by the responder", n), func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.msgs) >= n
	})
}

// release answers every held request with {"echo": <its body>} and
// returns the bodies, by socket id.
func (h *heldRequests) release(t *testing.T) map[string][]string {
	t.Helper()
	h.mu.Lock()
	msgs := h.msgs
	h.msgs = nil
	h.mu.Unlock()
	bySocket := map[string][]string{}
	for _, m := range msgs {
		sid := m.Header.Get(bridge.HeaderSocket)
		bySocket[sid] = append(bySocket[sid], string(m.Data))
		if err := m.Respond(fmt.Appendf(nil, `{"echo":%s}`, m.Data)); err != nil {
			t.Fatal(err)
		}
	}
	return bySocket
}

// emitAcked sends acknowledged "ask" events with ids from..to on s, each
// with the argument {"n":ID}.
func emitAcked(t *testing.T, s *bridgetest.Socket, from, to int) {
	t.Helper()
	for id := from; id <= to; id++ {
		if err := s.Send(fmt.Sprintf(`42%d["ask",{"n":%d}]`, id, id)); err != nil {
			t.Fatal(err)
		}
	}
}

// nextAcks reads n acks from s and returns each one's argument, by id.
func nextAcks(t *testing.T, s *bridgetest.Socket, n int) map[int]string {
	t.Helper()
	acks := map[int]string{}
	for len(acks) < n {
		p, err := s.Next(startBound)
		if err != nil {
			t.Fatalf("waiting for %d acks (have %v): %v", n, acks, err)
		}
		rest, ok := strings.CutPrefix(p, "43")
		if !ok {
			continue
		}
		i := strings.IndexByte(rest, '[')
		id, err := strconv.Atoi(rest[:max(i, 0)])
		var args []json.RawMessage
		if i < 0 || err != nil || json.Unmarshal([]byte(rest[i:]), &args) != nil || len(args) != 1 {
			t.Fatalf("a malformed ack %q", p)
		}
		if _, dup := acks[id]; dup {
			t.Fatalf("ack %d came twice", id)
		}
		acks[id] = string(args[0])
	}
	return acks
}

func dial(t *testing.T, url string) *bridgetest.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	s, err := bridgetest.DialSocket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func echoOf(id int) string { return fmt.Sprintf(`{"echo":{"n":%d}}`, id) }

func bodies(ids ...int) []string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf(`{"n":%d}`, id))
	}
	return out
}

func TestAnAckPastItsSocketsBoundIsRefusedAtOnceAndNothingElseIsLost(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	held := holdRequests(t, nc, "svc.hold")
	b := startBridge(t, bridge.Config{
		NATSURL: ns.ClientURL(), Maps: []string{"tasks.assigned=newTaskAssigned"}, Inbound: []string{"ask=svc.hold"},
		MaxInflightRequestsPerSocket: 3, MaxInflightRequests: 100, RequestTimeout: time.Minute,
	})
	a, other := dial(t, b.URL), dial(t, b.URL)

	// Socket a emits 5 with 3 allowed: the 4th and 5th are refused at
	// once, while the first 3 wait for their replies.
	emitAcked(t, a, 1, 5)
	refused := nextAcks(t, a, 2)
	want := `{"error":"too many requests in flight from this socket (3): wait for an ack before emitting more; \"ask\" not sent"}`
	if refused[4] != want || refused[5] != want {
		t.Fatalf("acks %v, want 4 and 5 refused with %s", refused, want)
	}
	held.waitHeld(t, 3)
	// Another socket's bound is its own.
	emitAcked(t, other, 1, 3)
	held.waitHeld(t, 6)

	got := held.release(t)
	if fmt.Sprint(got[a.ID]) != fmt.Sprint(bodies(1, 2, 3)) || fmt.Sprint(got[other.ID]) != fmt.Sprint(bodies(1, 2, 3)) || len(got) != 2 {
		t.Errorf("NATS got %v, want 1, 2 and 3 from each socket and nothing else", got)
	}
	for name, s := range map[string]*bridgetest.Socket{"a": a, "other": other} {
		acks := nextAcks(t, s, 3)
		for id := 1; id <= 3; id++ {
			if acks[id] != echoOf(id) {
				t.Errorf("socket %s: ack %d is %s, want the reply %s", name, id, acks[id], echoOf(id))
			}
		}
	}
	// The replies gave the places back.
	emitAcked(t, a, 6, 8)
	held.waitHeld(t, 3)
	if got := held.release(t); fmt.Sprint(got[a.ID]) != fmt.Sprint(bodies(6, 7, 8)) {
		t.Errorf("NATS got %v, want 6, 7 and 8 from socket a", got)
	}
	acks := nextAcks(t, a, 3)
	for id := 6; id <= 8; id++ {
		if acks[id] != echoOf(id) {
			t.Errorf("ack %d is %s, want the reply %s", id, acks[id], echoOf(id))
		}
	}
	if st := b.Stats(); st.Requests.Load() != 9 || st.RequestErrs.Load() != 2 {
		t.Errorf("stats: %d requests, %d errors; want 9 and 2", st.Requests.Load(), st.RequestErrs.Load())
	}
}

func TestAnAckPastTheServersBoundIsRefusedAtOnceAndNothingElseIsLost(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	held := holdRequests(t, nc, "svc.hold")
	b := startBridge(t, bridge.Config{
		NATSURL: ns.ClientURL(), Maps: []string{"tasks.assigned=newTaskAssigned"}, Inbound: []string{"ask=svc.hold"},
		MaxInflightRequests: 4, RequestTimeout: time.Minute,
	})
	a, other := dial(t, b.URL), dial(t, b.URL)

	emitAcked(t, a, 1, 3)
	held.waitHeld(t, 3)
	// One place is left, for the other socket's first.
	emitAcked(t, other, 1, 3)
	refused := nextAcks(t, other, 2)
	want := `{"error":"too many requests in flight on this server (4); \"ask\" not sent, try again"}`
	if refused[2] != want || refused[3] != want {
		t.Fatalf("acks %v, want 2 and 3 refused with %s", refused, want)
	}
	held.waitHeld(t, 4)
	got := held.release(t)
	if fmt.Sprint(got[a.ID]) != fmt.Sprint(bodies(1, 2, 3)) || fmt.Sprint(got[other.ID]) != fmt.Sprint(bodies(1)) || len(got) != 2 {
		t.Errorf("NATS got %v, want 1, 2 and 3 from a and 1 from the other socket", got)
	}
	acks := nextAcks(t, a, 3)
	for id := 1; id <= 3; id++ {
		if acks[id] != echoOf(id) {
			t.Errorf("socket a: ack %d is %s, want %s", id, acks[id], echoOf(id))
		}
	}
	if acks := nextAcks(t, other, 1); acks[1] != echoOf(1) {
		t.Errorf("the other socket's ack 1 is %v, want %s", acks, echoOf(1))
	}
	// Every place is free again.
	emitAcked(t, other, 4, 7)
	held.waitHeld(t, 4)
	if got := held.release(t); fmt.Sprint(got[other.ID]) != fmt.Sprint(bodies(4, 5, 6, 7)) {
		t.Errorf("NATS got %v, want 4 to 7 from the other socket", got)
	}
	nextAcks(t, other, 4)
}

func TestARealClientHearsTheBoundsErrorAsItsAck(t *testing.T) {
	t.Parallel()
	bridgetest.RequireNode(t)
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	held := holdRequests(t, nc, "svc.hold")
	b := startBridge(t, bridge.Config{
		NATSURL: ns.ClientURL(), Maps: []string{"tasks.assigned=newTaskAssigned"}, Inbound: []string{"ask=svc.hold"},
		MaxInflightRequestsPerSocket: 2, RequestTimeout: time.Minute,
	})
	c := bridgetest.Start(t, "inflight.js", "--url", b.URL, "--event", "ask", "--count", "4",
		"--timeout", strconv.Itoa(int(nodeTimeout.Milliseconds())))
	c.WaitReady(startBound)
	wantErr := `[{"error":"too many requests in flight from this socket (2): wait for an ack before emitting more; \"ask\" not sent"}]`
	for _, i := range []int64{2, 3} {
		line := c.WaitLine(nodeBound, fmt.Sprintf("the ack of emit %d", i), func(l map[string]json.RawMessage) bool {
			return bridgetest.Int(l, "ack") == i
		})
		if string(line["args"]) != wantErr {
			t.Errorf("emit %d: ack %s, want %s", i, line["args"], wantErr)
		}
	}
	held.waitHeld(t, 2)
	if got := held.release(t); len(got) != 1 || fmt.Sprint(got[firstKey(got)]) != fmt.Sprint(bodies(0, 1)) {
		t.Errorf("NATS got %v, want emits 0 and 1 of the one client", got)
	}
	c.MustOK(nodeBound)
	for _, line := range strings.Split(c.Output(), "\n") {
		for i := range 2 {
			if strings.HasPrefix(line, fmt.Sprintf(`{"ack":%d,`, i)) && !strings.Contains(line, fmt.Sprintf(`"args":[{"echo":{"n":%d}}]`, i)) {
				t.Errorf("emit %d: %s, want the reply", i, line)
			}
		}
	}
}

func firstKey(m map[string][]string) string {
	for k := range m {
		return k
	}
	return ""
}

func TestRequestsWaitingAtShutdownHearThatNATSClosed(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	held := holdRequests(t, nc, "svc.hold")
	b := startBridge(t, bridge.Config{
		NATSURL: ns.ClientURL(), Maps: []string{"tasks.assigned=newTaskAssigned"}, Inbound: []string{"ask=svc.hold"},
		RequestTimeout: time.Minute,
	})
	a := dial(t, b.URL)
	emitAcked(t, a, 1, 2)
	held.waitHeld(t, 2)
	stopped := make(chan error, 1)
	go func() { stopped <- b.stop(t) }()
	acks := nextAcks(t, a, 2)
	want := `{"error":"NATS connection closed before the reply to the request to \"svc.hold\" came"}`
	if acks[1] != want || acks[2] != want {
		t.Errorf("acks %v, want both %s", acks, want)
	}
	if err := <-stopped; err != nil {
		t.Errorf("bridge.Run: %v", err)
	}
}

func TestNegativeInflightBoundsAreRefused(t *testing.T) {
	err := bridge.Config{Maps: []string{"a=b"}, MaxInflightRequestsPerSocket: -1}.Validate()
	var fe *bridge.FieldError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "MaxInflightRequestsPerSocket") {
		t.Errorf("Validate = %v, want an error naming MaxInflightRequestsPerSocket", err)
	}
}
