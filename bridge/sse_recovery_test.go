package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
)

// readNumbers reads events of c until one carries the number last, and
// returns every event read.
func readNumbers(t *testing.T, c *sseClient, last int) []sseEvent {
	t.Helper()
	var out []sseEvent
	for {
		ev := c.next(t)
		out = append(out, ev)
		if n, err := strconv.Atoi(ev.Data); err == nil && n == last {
			return out
		}
	}
}

// TestSSEResumesExactlyTheMissedEvents: with recovery on, every event's
// id is its stream sequence; a stream reopened with the last id it got
// (the Last-Event-ID header, or lastEventId for a client that cannot set
// one) gets exactly the events it missed, in order, then the live ones,
// with none twice and none skipped, while events are published
// throughout the switch from replay to live.
func TestSSEResumesExactlyTheMissedEvents(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	cfg := bridge.Config{NATSURL: js.ClientURL(), Maps: []string{"news.*=news:{2}"}, Recovery: true}
	tb := startBridge(t, cfg)
	nc := connect(t, js.ClientURL())

	first := openSSE(t, tb.URL, "", nil)
	const before, total = 50, 400
	for i := range before {
		publish(t, nc, "news."+"ab"[i%2:i%2+1], []byte(strconv.Itoa(i)))
	}
	got := readNumbers(t, first, before-1)
	if len(got) != before {
		t.Fatalf("the first stream got %d events, want %d", len(got), before)
	}
	for i, ev := range got {
		if ev.ID != strconv.Itoa(i+1) {
			t.Fatalf("event %d has id %q, want its stream sequence %d", i, ev.ID, i+1)
		}
	}
	lastID := got[len(got)-1].ID
	first.close()

	// Events go on while the streams come back.
	done := make(chan error, 1)
	go func() {
		for i := before; i < total; i++ {
			if err := nc.Publish("news."+"ab"[i%2:i%2+1], []byte(strconv.Itoa(i))); err != nil {
				done <- err
				return
			}
		}
		done <- nc.Flush()
	}()
	waitDelivered(t, tb, uint64(before+20))
	byHeader := openSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {lastID}})
	byQuery := openSSE(t, tb.URL, "?events=news:a&lastEventId="+lastID, nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	check := func(who string, evs []sseEvent, want []int) {
		t.Helper()
		if len(evs) != len(want) {
			t.Fatalf("%s got %d events, want %d", who, len(evs), len(want))
		}
		for i, ev := range evs {
			if ev.Data != strconv.Itoa(want[i]) || ev.ID != strconv.Itoa(want[i]+1) || ev.Event != "news:"+"ab"[want[i]%2:want[i]%2+1] {
				t.Fatalf("%s's event %d is %+v, want number %d with id %d", who, i, ev, want[i], want[i]+1)
			}
		}
	}
	var all, evens []int
	for i := before; i < total; i++ {
		all = append(all, i)
		if i%2 == 0 {
			evens = append(evens, i)
		}
	}
	check("the stream resumed by Last-Event-ID", readNumbers(t, byHeader, total-1), all)
	check("the stream resumed by lastEventId, news:a only", readNumbers(t, byQuery, total-2), evens)
	if st := tb.SSEStats(); st.Resumed.Load() != 2 || st.Reset.Load() != 0 || st.Replayed.Load() == 0 {
		t.Errorf("resumed %d, reset %d, replayed %d; want 2, 0 and some", st.Resumed.Load(), st.Reset.Load(), st.Replayed.Load())
	}
	// Live from here on, and nothing more.
	publish(t, nc, "news.b", []byte(`"live"`))
	if ev := byHeader.next(t); ev.Data != `"live"` || ev.ID != strconv.Itoa(total+1) {
		t.Fatalf("then %+v", ev)
	}
	if extra := byQuery.pending(); len(extra) > 0 {
		t.Fatalf("the news:a stream got more: %+v", extra)
	}
	// A stream that missed nothing resumes with nothing to replay.
	upToDate := openSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {strconv.Itoa(total + 1)}})
	publish(t, nc, "news.a", []byte(`"next"`))
	if ev := upToDate.next(t); ev.Data != `"next"` || ev.ID != strconv.Itoa(total+2) {
		t.Fatalf("the up-to-date stream got %+v first", ev)
	}
	if n := tb.SSEStats().Reset.Load(); n != 0 {
		t.Fatalf("%d resets", n)
	}
}

// TestSSEResetWhenTheIdCannotBeResumed: an id whose successors expired
// from the stream, or one past its end, gets a natsock:reset event that
// says why, with the id to go on from, and then the live events; an id
// that is not a sequence number is a bad query.
func TestSSEResetWhenTheIdCannotBeResumed(t *testing.T) {
	t.Parallel()
	js := runJetStream(t, -1, t.TempDir())
	cfg := bridge.Config{NATSURL: js.ClientURL(), Maps: []string{"news.*=news"}, Recovery: true, RecoveryWindow: bridge.MinRecoveryWindow}
	tb := startBridge(t, cfg)
	nc := connect(t, js.ClientURL())
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, nc, "news.a", []byte(`"old"`))
	publish(t, nc, "news.a", []byte(`"missed"`))
	waitDelivered(t, tb, 2)
	bridgetest.Eventually(t, recoveryBound, "the missed message expired from the stream", func() bool {
		st, err := jsc.Stream(context.Background(), bridge.DefaultRecoveryStream)
		return err == nil && st.CachedInfo().State.FirstSeq > 2
	})

	for _, tc := range []struct{ id, reason string }{
		{"1", bridge.SSEResetTooOld},
		{"1000000", bridge.SSEResetUnknownID},
	} {
		c := openSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {tc.id}})
		ev := c.next(t)
		var data struct{ LastEventID, Reason string }
		if err := json.Unmarshal([]byte(ev.Data), &data); err != nil || ev.Event != bridge.SSEResetEvent ||
			data.LastEventID != tc.id || data.Reason != tc.reason || ev.ID != "2" {
			t.Fatalf("Last-Event-ID %s: first event %+v (%v); want %s with reason %s and id 2", tc.id, ev, err, bridge.SSEResetEvent, tc.reason)
		}
		c.close()
	}
	c := openSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {"1"}})
	if ev := c.next(t); ev.Event != bridge.SSEResetEvent {
		t.Fatalf("first event %+v", ev)
	}
	publish(t, nc, "news.a", []byte(`"live"`))
	if ev := c.next(t); ev.Data != `"live"` || ev.ID != "3" {
		t.Fatalf("after the reset: %+v", ev)
	}
	if n := tb.SSEStats().Reset.Load(); n != 3 {
		t.Errorf("Reset = %d, want 3", n)
	}

	for _, id := range []string{"abc", "-1", "01", "1.5", strings.Repeat("9", 21)} {
		_, status, body := tryOpenSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {id}})
		if status != http.StatusBadRequest || !strings.Contains(body, "Last-Event-ID") {
			t.Errorf("Last-Event-ID %q: %d %s", id, status, body)
		}
	}
	// The parameter is read as the header is (HTTP trims the header's
	// spaces; the query keeps them).
	if _, status, body := tryOpenSSE(t, tb.URL, "?lastEventId=1%20", nil); status != http.StatusBadRequest {
		t.Errorf("lastEventId=1%%20: %d %s", status, body)
	}
}

// TestSSEIgnoresLastEventIDWithoutRecovery: without recovery an event has
// no id, and a Last-Event-ID, well-formed or not, changes nothing.
func TestSSEIgnoresLastEventIDWithoutRecovery(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	nc := connect(t, ns.ClientURL())
	tb := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=a"}})
	cs := []*sseClient{
		openSSE(t, tb.URL, "", http.Header{"Last-Event-ID": {"5"}}),
		openSSE(t, tb.URL, "?lastEventId=garbage", nil),
	}
	publish(t, nc, "a", []byte("1"))
	for _, c := range cs {
		if ev := c.next(t); ev.ID != "" || ev.Data != "1" {
			t.Fatalf("got %+v, want event 1 without an id", ev)
		}
	}
	if st := tb.SSEStats(); st.Resumed.Load() != 0 || st.Reset.Load() != 0 {
		t.Fatalf("resumed %d, reset %d", st.Resumed.Load(), st.Reset.Load())
	}
}
