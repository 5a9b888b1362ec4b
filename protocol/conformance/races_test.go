package conformance

// These tests cover requests that race in the official suites: a client
// sends two things at once (on two connections, or on a websocket and an
// HTTP request), and the server must answer as if they arrived in the order
// they were sent, as Node.js's single event loop does.

import (
	"context"
	"net/http"
	"testing"

	"github.com/gobwas/ws"
)

// CONFORMANCE.md line 13, when the client's GET reaches the server after
// its POST 1 (the suite sends both at once): the GET still gets noop, and
// only the GET after it gets 400.
func TestAGETThatArrivesAfterTheClientsCloseGetsNoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		t.Run("on "+pathName(path), func(t *testing.T) {
			t.Parallel()
			sid := e.handshake(t, path)
			if rep := e.post(t, path, sid, "1"); rep.status != http.StatusOK {
				t.Fatalf("POST 1: status %d, body %q; want 200", rep.status, rep.body)
			}
			if rep := e.get(t, path, sid); rep.status != http.StatusOK || rep.body != "6" {
				t.Fatalf("GET after the close: status %d, body %q; want 200 6", rep.status, rep.body)
			}
			if rep := e.get(t, path, sid); rep.status != http.StatusBadRequest {
				t.Fatalf("second GET after the close: status %d, body %q; want 400", rep.status, rep.body)
			}
		})
	}
}

// CONFORMANCE.md lines 15 and 16, when the client sends 5 and then a GET
// (the suite's "ignores HTTP requests with same sid after upgrade"), and
// the GET reaches the server first: it is held a moment, as Node.js holds
// a GET during a probe until its next noop, and the upgrade that completes
// meanwhile answers it 400.
func TestAGETRacingTheUpgradeIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		t.Run("on "+pathName(path), func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				sid := e.handshake(t, path)
				c, err := e.dialWS(t, path, "?EIO=4&transport=websocket&sid="+sid)
				if err != nil {
					t.Fatalf("websocket with the sid: %v", err)
				}
				c.send("2probe")
				if f := c.read(replyWithin); f.op != ws.OpText || string(f.data) != "3probe" {
					t.Fatalf("got %v, want 3probe", f)
				}
				arrived := e.watchGETs(sid)
				pending := e.getAsync(context.Background(), path, sid)
				awaitSignal(t, arrived, "the GET reaching the server")
				c.send("5")
				if rep := awaitReply(t, pending, replyWithin); rep.err != nil || rep.status != http.StatusBadRequest {
					t.Fatalf("GET held while the upgrade completed: %v, status %d, body %q; want 400", rep.err, rep.status, rep.body)
				}
				if path == eioPath {
					c.send("4hello")
					c.expectText("4hello")
				}
			})
		})
	}
}
