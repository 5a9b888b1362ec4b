package conformance

// These tests check the conformance server against every rule of
// shared/CONFORMANCE.md, over raw HTTP (net/http) and raw websocket
// (gobwas/ws), with no socket.io client library. Each test's comment names
// the numbered line or the table row it covers. Waits for a state are
// bounded polls; where the protocol defines a time window the bounds are
// generous and only prove that the protocol's deadlines are honoured. Tests
// that depend on the protocol's short windows run as attempts (see
// attempt_test.go), made again only when the process was seen to stall.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pathName names a path in a test name without a slash, so that -run
// patterns stay simple.
func pathName(path string) string { return strings.Trim(path, "/") }

// TestHandshake covers CONFORMANCE.md lines 1 and 2, on both paths.
func TestHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		// Line 1: GET ?EIO=4&transport=polling -> 200, 0{...} with exactly
		// sid, upgrades ["websocket"], pingInterval, pingTimeout, maxPayload.
		t.Run("a polling handshake on "+pathName(path)+" announces exactly the five settings", func(t *testing.T) {
			t.Parallel()
			e.handshake(t, path)
		})
		// Line 2: the websocket's first text frame is the open packet, with
		// upgrades an empty array.
		t.Run("a websocket handshake on "+pathName(path)+" sends the same keys with upgrades []", func(t *testing.T) {
			t.Parallel()
			e.openWS(t, path)
		})
	}
}

// TestBadRequests covers CONFORMANCE.md line 3: bad EIO, bad transport, a
// POST or PUT without sid get 400; over websocket the same parameters close
// the connection. (EIO=3 is allowed here: see TestEngineIOv3.)
func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	polling := []struct {
		name, method, query string
	}{
		{"a GET without EIO is refused", http.MethodGet, "?transport=polling"},
		{"a GET with EIO=5 is refused", http.MethodGet, "?EIO=5&transport=polling"},
		{"a GET with EIO=abc is refused", http.MethodGet, "?EIO=abc&transport=polling"},
		{"a GET without transport is refused", http.MethodGet, "?EIO=4"},
		{"a GET with an unknown transport is refused", http.MethodGet, "?EIO=4&transport=carrier-pigeon"},
		{"a POST without sid is refused", http.MethodPost, "?EIO=4&transport=polling"},
		{"a PUT without sid is refused", http.MethodPut, "?EIO=4&transport=polling"},
	}
	websocket := []struct{ name, query string }{
		{"a websocket without EIO is closed", "?transport=websocket"},
		{"a websocket with EIO=5 is closed", "?EIO=5&transport=websocket"},
		{"a websocket without transport is closed", "?EIO=4"},
		{"a websocket with an unknown transport is closed", "?EIO=4&transport=carrier-pigeon"},
	}
	for _, path := range bothPaths {
		for _, tc := range polling {
			t.Run(tc.name+" on "+pathName(path), func(t *testing.T) {
				t.Parallel()
				body := ""
				if tc.method != http.MethodGet {
					body = "4hello"
				}
				rep := e.mustDo(t, tc.method, path+tc.query, body)
				if rep.status != http.StatusBadRequest {
					t.Errorf("%s %s: status %d, body %q; want 400", tc.method, tc.query, rep.status, rep.body)
				}
			})
		}
		for _, tc := range websocket {
			t.Run(tc.name+" on "+pathName(path), func(t *testing.T) {
				t.Parallel()
				c, err := e.dialWS(t, path, tc.query)
				if err != nil {
					if st := wsStatus(err); st != 0 && st != http.StatusBadRequest {
						t.Errorf("websocket %s refused with status %d, want 400", tc.query, st)
					}
					return
				}
				c.expectClosed(replyWithin)
			})
		}
	}
}

// TestPollingEcho covers CONFORMANCE.md lines 4, 5 and 6 on the echo path.
func TestPollingEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, line, body string
	}{
		// Line 4.
		{"POST 4hello is answered ok and the next GET returns exactly 4hello", "4", "4hello"},
		// Line 5.
		{"three messages posted at once come back in one GET, in order", "5", "4test1\x1e4test2\x1e4test3"},
		// Line 6.
		{"a text and a base64 binary message come back exactly as posted", "6", "4hello\x1ebAQIDBA=="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				sid := e.handshake(t, eioPath)
				rep := e.post(t, eioPath, sid, tc.body)
				if rep.status != http.StatusOK || rep.body != "ok" {
					t.Fatalf("line %s: POST %q: status %d, body %q; want 200 ok", tc.line, tc.body, rep.status, rep.body)
				}
				rep = e.get(t, eioPath, sid)
				if rep.status != http.StatusOK || withoutPings(rep.body) != tc.body {
					t.Fatalf("line %s: GET: status %d, body %q; want 200 %q", tc.line, rep.status, rep.body, tc.body)
				}
			})
		})
	}
}

// withoutPings drops the pings from a polling payload: a test slowed past
// pingInterval finds one queued with the messages, which is no fault of
// the server's.
func withoutPings(body string) string {
	recs := slices.DeleteFunc(records(body), func(r string) bool { return r == "2" })
	return strings.Join(recs, "\x1e")
}

// TestPollingErrorsCloseTheSession covers CONFORMANCE.md lines 7, 8 and 9,
// on both paths.
func TestPollingErrorsCloseTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		// Line 7: POST abc -> 400 (or a dropped connection); the next GET
		// with that sid -> 400.
		t.Run("POST abc on "+pathName(path)+" is refused and closes the session", func(t *testing.T) {
			t.Parallel()
			sid := e.handshake(t, path)
			rep := e.do(context.Background(), http.MethodPost, path+pollQuery(sid), "abc", nil)
			if rep.err == nil && rep.status != http.StatusBadRequest {
				t.Fatalf("POST abc: status %d, body %q; want 400 or a dropped connection", rep.status, rep.body)
			}
			if rep := e.get(t, path, sid); rep.status != http.StatusBadRequest {
				t.Fatalf("GET after POST abc: status %d, body %q; want 400", rep.status, rep.body)
			}
		})

		// Line 8: two overlapping GETs: the one held first -> 200 "1", the
		// other -> 400 or 500; later GETs -> 400. Which of the two the
		// server holds first is the server's to say, so either order is
		// accepted.
		t.Run("two overlapping GETs on "+pathName(path)+" end the session: one gets 1, the other an error", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				sid := e.handshake(t, path)
				arrived := e.watchGETs(sid)
				first := e.getAsync(context.Background(), path, sid)
				awaitSignal(t, arrived, "the first GET reaching the server")
				second := e.getAsync(context.Background(), path, sid)
				r1, r2 := awaitReply(t, first, replyWithin), awaitReply(t, second, replyWithin)
				for _, r := range []reply{r1, r2} {
					if r.err != nil {
						t.Fatalf("GET: %v", r.err)
					}
				}
				ok := func(r reply) bool { return r.status == http.StatusOK && r.body == "1" }
				bad := func(r reply) bool {
					return r.status == http.StatusBadRequest || r.status == http.StatusInternalServerError
				}
				if !(ok(r1) && bad(r2)) && !(ok(r2) && bad(r1)) {
					t.Fatalf("overlapping GETs got %d %q and %d %q; want 200 \"1\" and 400 or 500",
						r1.status, r1.body, r2.status, r2.body)
				}
				if !ok(r1) {
					t.Logf("the second GET reached the session first")
				}
				if rep := e.get(t, path, sid); rep.status != http.StatusBadRequest {
					t.Fatalf("GET after the conflict: status %d, body %q; want 400", rep.status, rep.body)
				}
			})
		})

		// Line 9: a client that aborts its pending GET closes the session.
		t.Run("aborting the pending GET on "+pathName(path)+" closes the session", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				sid := e.handshake(t, path)
				arrived := e.watchGETs(sid)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				pending := e.getAsync(ctx, path, sid)
				awaitSignal(t, arrived, "the GET reaching the server")
				cancel()
				aborted := awaitReply(t, pending, replyWithin)
				if aborted.err == nil {
					t.Fatalf("the aborted GET was answered: %d %q", aborted.status, aborted.body)
				}
				// Wait until the server is done with the aborted request, so
				// the next GET cannot overlap it.
				if aborted.addr == "" || !eventually(replyWithin, func() bool { return e.serverConnClosed(aborted.addr) }) {
					t.Fatalf("the server did not finish the aborted GET (conn %q) within %v", aborted.addr, replyWithin)
				}
				if rep := e.get(t, path, sid); rep.status != http.StatusBadRequest {
					t.Fatalf("GET after the abort: status %d, body %q; want 400", rep.status, rep.body)
				}
			})
		})
	}
}

// TestWebSocketEcho covers CONFORMANCE.md line 10.
func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("4hello is echoed as 4hello", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			c, _ := e.openWS(t, eioPath)
			c.send("4hello")
			c.expectText("4hello")
		})
	})
	t.Run("a binary frame is echoed as a binary frame without prefix", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			c, _ := e.openWS(t, eioPath)
			c.sendBinary([]byte{1, 2, 3, 4})
			c.expectBinary([]byte{1, 2, 3, 4})
		})
	})
	for _, path := range bothPaths {
		t.Run("abc closes the websocket on "+pathName(path), func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				c, _ := e.openWS(t, path)
				c.send("abc")
				c.expectClosed(replyWithin)
			})
		})
	}
}

// TestHeartbeat covers CONFORMANCE.md line 11: a ping every pingInterval,
// counted from the handshake or the last pong; a held GET is answered 2;
// POST 3 -> 200. On /socket.io/ the session joins "/" first, so that the
// connect timeout is not what ends it.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		t.Run("on polling "+pathName(path)+" pings a held GET every pingInterval after the handshake and each pong", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				from := time.Now()
				sid := e.handshake(t, path)
				e.joinPolling(t, path, sid)
				for i := range 2 {
					if body := e.getEngine(t, path, sid); body != "2" {
						t.Fatalf("GET %d: body %q; want the ping 2", i+1, body)
					}
					if d := time.Since(from); d < PingInterval-notBefore {
						t.Fatalf("ping %d came %v after the handshake or pong, before pingInterval %v", i+1, d, PingInterval)
					}
					from = time.Now()
					if rep := e.post(t, path, sid, "3"); rep.status != http.StatusOK || rep.body != "ok" {
						t.Fatalf("POST 3: status %d, body %q; want 200 ok", rep.status, rep.body)
					}
				}
			})
		})
		t.Run("on websocket "+pathName(path)+" pings every pingInterval after the handshake and each pong", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				from := time.Now()
				c, _ := e.openWS(t, path)
				joinWS(c, path)
				for i := range 2 {
					if f := c.readEngine(replyWithin); f.op != ws.OpText || string(f.data) != "2" {
						t.Fatalf("frame %d is %v, want the ping 2", i+1, f)
					}
					if d := time.Since(from); d < PingInterval-notBefore {
						t.Fatalf("ping %d came %v after the handshake or pong, before pingInterval %v", i+1, d, PingInterval)
					}
					from = time.Now()
					c.send("3")
				}
				// The second pong counted too: the session is still open
				// after a further pingInterval.
				if f := c.readEngine(replyWithin); f.op != ws.OpText || string(f.data) != "2" {
					t.Fatalf("frame 3 is %v, want the ping 2", f)
				}
			})
		})
	}
}

// joinPolling makes a polling session on /socket.io/ join the main
// namespace, so that the connect timeout (1 s) cannot be what ends it in a
// heartbeat test. On /engine.io/ it does nothing.
func (e *env) joinPolling(t testing.TB, path, sid string) {
	t.Helper()
	if path != sioPath {
		return
	}
	if rep := e.post(t, path, sid, "40"); rep.status != http.StatusOK {
		t.Fatalf("POST 40: status %d, body %q", rep.status, rep.body)
	}
}

// joinWS is joinPolling for a websocket.
func joinWS(c *wsClient, path string) {
	c.t.Helper()
	if path == sioPath {
		c.send("40")
	}
}

// getEngine GETs until a body holds an Engine.IO packet other than a
// message (the answers to joinPolling's CONNECT are dropped) and returns
// those packets.
func (e *env) getEngine(t testing.TB, path, sid string) string {
	t.Helper()
	for range 10 {
		rep := e.get(t, path, sid)
		if rep.status != http.StatusOK {
			t.Fatalf("GET: status %d, body %q", rep.status, rep.body)
		}
		var kept []string
		for _, r := range records(rep.body) {
			if !strings.HasPrefix(r, "4") {
				kept = append(kept, r)
			}
		}
		if len(kept) > 0 {
			return strings.Join(kept, "\x1e")
		}
	}
	t.Fatal("only messages arrive")
	return ""
}

// readEngine reads the next frame that is not an Engine.IO message (the
// answers to joinWS's CONNECT are skipped).
func (c *wsClient) readEngine(within time.Duration) frame {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for range 10 {
		f := c.read(time.Until(deadline))
		if f.op == ws.OpText && !strings.HasPrefix(string(f.data), "4") {
			return f
		}
	}
	c.t.Fatal("only messages arrive")
	return frame{}
}

// TestPingTimeout covers CONFORMANCE.md line 12: without a pong the session
// is gone pingInterval + pingTimeout (500 ms) after the handshake; the
// pingTimeout runs from when the ping is queued. On /socket.io/ the session
// joins "/" first, so that the connect timeout is not what ends it.
func TestPingTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		t.Run("on polling "+pathName(path)+" a session that gets the ping and never answers is gone by 1.5 s", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				start := time.Now()
				sid := e.handshake(t, path)
				e.joinPolling(t, path, sid)
				if body := e.getEngine(t, path, sid); body != "2" {
					t.Fatalf("GET: body %q; want the ping 2", body)
				}
				gone := eventually(time.Until(start.Add(goneBy)), func() bool {
					return e.post(t, path, sid, "6").status == http.StatusBadRequest
				})
				if !gone {
					t.Fatalf("session still open %v after the handshake without a pong", goneBy)
				}
				if rep := e.get(t, path, sid); rep.status != http.StatusBadRequest {
					t.Fatalf("GET after the ping timeout: status %d, body %q; want 400", rep.status, rep.body)
				}
			})
		})
		t.Run("on polling "+pathName(path)+" the ping timeout runs from when the ping is queued, not delivered", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				start := time.Now()
				sid := e.handshake(t, path)
				e.joinPolling(t, path, sid)
				// No GET collects the ping; POSTs of noop probe the session
				// without delivering anything.
				waitUntil(start.Add(stillAliveAt))
				if rep := e.post(t, path, sid, "6"); rep.status != http.StatusOK {
					t.Fatalf("session gone %v after the handshake: POST 6 got %d %q", stillAliveAt, rep.status, rep.body)
				}
				gone := eventually(time.Until(start.Add(goneBy)), func() bool {
					return e.post(t, path, sid, "6").status == http.StatusBadRequest
				})
				if !gone {
					t.Fatalf("session with an undelivered ping still open %v after the handshake", goneBy)
				}
			})
		})
		t.Run("on websocket "+pathName(path)+" a session that never answers the ping is closed by 1.5 s", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				start := time.Now()
				c, _ := e.openWS(t, path)
				joinWS(c, path)
				if f := c.readEngine(replyWithin); f.op != ws.OpText || string(f.data) != "2" {
					t.Fatalf("first Engine.IO frame after the open packet is %v, want the ping 2", f)
				}
				c.expectClosed(time.Until(start.Add(goneBy)))
			})
		})
	}
}

// TestClientClose covers CONFORMANCE.md line 13.
func TestClientClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		t.Run("POST 1 on "+pathName(path)+" answers the pending GET with 6 and closes the session", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				sid := e.handshake(t, path)
				arrived := e.watchGETs(sid)
				pending := e.getAsync(context.Background(), path, sid)
				awaitSignal(t, arrived, "the GET reaching the server")
				if rep := e.post(t, path, sid, "1"); rep.status != http.StatusOK {
					t.Fatalf("POST 1: status %d, body %q; want 200", rep.status, rep.body)
				}
				rep := awaitReply(t, pending, replyWithin)
				if rep.err != nil || rep.status != http.StatusOK || rep.body != "6" {
					t.Fatalf("pending GET: %v, status %d, body %q; want 200 6", rep.err, rep.status, rep.body)
				}
				if rep := e.get(t, path, sid); rep.status != http.StatusBadRequest {
					t.Fatalf("GET after close: status %d, body %q; want 400", rep.status, rep.body)
				}
			})
		})
		t.Run("1 over websocket on "+pathName(path)+" makes the server close", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				c, _ := e.openWS(t, path)
				c.send("1")
				// Closed before the first ping: not by the heartbeat.
				c.expectClosed(replyWithin)
			})
		})
	}
}

// TestUpgrade covers CONFORMANCE.md lines 14, 15 and 16, on both paths.
func TestUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range bothPaths {
		t.Run("a polling session on "+pathName(path)+" upgrades to websocket", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) { upgrade(t, e, path) })
		})
	}
}

func upgrade(t testing.TB, e *env, path string) {
	sid := e.handshake(t, path)
	arrived := e.watchGETs(sid)
	pending := e.getAsync(context.Background(), path, sid)
	awaitSignal(t, arrived, "the pending GET reaching the server")

	// Line 14: 2probe -> 3probe.
	c, err := e.dialWS(t, path, "?EIO=4&transport=websocket&sid="+sid)
	if err != nil {
		t.Fatalf("line 14: websocket with the sid: %v", err)
	}
	c.send("2probe")
	if f := c.read(replyWithin); f.op != ws.OpText || string(f.data) != "3probe" {
		t.Fatalf("line 14: got %v, want 3probe", f)
	}

	// Line 15: the pending GET and a new GET are answered noop. The body
	// being 6, not the ping 2, shows it came before the heartbeat could
	// answer it (within pingInterval of the handshake).
	rep := awaitReply(t, pending, replyWithin)
	if rep.err != nil || rep.status != http.StatusOK || rep.body != "6" {
		t.Fatalf("line 15: pending GET: %v, status %d, body %q; want 200 6", rep.err, rep.status, rep.body)
	}
	if rep := e.get(t, path, sid); rep.status != http.StatusOK || rep.body != "6" {
		t.Fatalf("line 15: new GET during the probe: status %d, body %q; want 200 6", rep.status, rep.body)
	}

	// Line 16: after 5, GETs -> 400, traffic flows over the websocket, and
	// a second websocket with the sid is closed.
	c.send("5")
	refused := eventually(replyWithin, func() bool {
		return e.get(t, path, sid).status == http.StatusBadRequest
	})
	if !refused {
		t.Fatalf("line 16: GETs still served %v after the upgrade", replyWithin)
	}
	if path == eioPath {
		c.send("4hello")
		c.expectText("4hello")
	} else {
		c.send("40")
		expectConnectOK(t, c, "40")
		c.expectText(`42["auth",{}]`)
	}
	// As in Node.js (and the official suite), its handshake completes and
	// then the server closes it.
	second, err := e.dialWS(t, path, "?EIO=4&transport=websocket&sid="+sid)
	if err != nil {
		t.Fatalf("line 16: second websocket with the sid: %v (status %d); want its handshake, then a close", err, wsStatus(err))
	}
	second.expectClosed(replyWithin)
	// The first websocket is still the session's transport.
	if path == eioPath {
		c.send("4still here")
		c.expectText("4still here")
	}
}

// TestEngineIOv3 covers the Engine.IO v3 path lightly (line 3 allows EIO=3
// when the server does): a length-prefixed polling handshake and a client
// ping answered with pong.
func TestEngineIOv3(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const v3 = "?EIO=3&transport=polling"
	handshake := func(t testing.TB, path string) string {
		t.Helper()
		rep := e.mustDo(t, http.MethodGet, path+v3, "")
		if rep.status != http.StatusOK {
			t.Fatalf("EIO=3 handshake: status %d, body %q", rep.status, rep.body)
		}
		recs := v3Records(t, rep.body)
		if len(recs) != 1 || !strings.HasPrefix(recs[0], "0{") {
			t.Fatalf("EIO=3 handshake body %q, want one record 0{...}", rep.body)
		}
		var open struct {
			SID          string   `json:"sid"`
			Upgrades     []string `json:"upgrades"`
			PingInterval int      `json:"pingInterval"`
			PingTimeout  int      `json:"pingTimeout"`
		}
		if err := json.Unmarshal([]byte(recs[0][1:]), &open); err != nil {
			t.Fatalf("EIO=3 open packet %q: %v", recs[0], err)
		}
		if open.SID == "" || !slices.Equal(open.Upgrades, []string{"websocket"}) ||
			open.PingInterval != 300 || open.PingTimeout != 200 {
			t.Fatalf("EIO=3 open packet %q: want a sid, upgrades [websocket], pingInterval 300, pingTimeout 200", recs[0])
		}
		return open.SID
	}
	t.Run("an EIO=3 polling handshake is one length-prefixed open packet", func(t *testing.T) {
		t.Parallel()
		handshake(t, eioPath)
	})
	t.Run("an EIO=3 client ping 2 is answered 3", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			sid := handshake(t, eioPath)
			rep := e.mustDo(t, http.MethodPost, eioPath+v3+"&sid="+sid, "1:2")
			if rep.status != http.StatusOK || rep.body != "ok" {
				t.Fatalf("POST 1:2: status %d, body %q; want 200 ok", rep.status, rep.body)
			}
			rep = e.mustDo(t, http.MethodGet, eioPath+v3+"&sid="+sid, "")
			if rep.status != http.StatusOK || rep.body != "1:3" {
				t.Fatalf("GET: status %d, body %q; want 200 1:3", rep.status, rep.body)
			}
		})
	})
	t.Run("an EIO=3 client on socket.io joins the main namespace at once", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			sid := handshake(t, sioPath)
			rep := e.mustDo(t, http.MethodGet, sioPath+v3+"&sid="+sid, "")
			if got, want := v3Records(t, rep.body), []string{"40", `42["auth",{}]`}; !slices.Equal(got, want) {
				t.Fatalf("GET: records %q, want %q", got, want)
			}
		})
	})
	t.Run("an EIO=3 websocket ping 2 is answered 3", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			c, err := e.dialWS(t, eioPath, "?EIO=3&transport=websocket")
			if err != nil {
				t.Fatalf("EIO=3 websocket: %v", err)
			}
			if f := c.read(replyWithin); f.op != ws.OpText || !strings.HasPrefix(string(f.data), "0{") {
				t.Fatalf("first frame %v, want the open packet", f)
			}
			c.send("2")
			if f := c.read(replyWithin); f.op != ws.OpText || string(f.data) != "3" {
				t.Fatalf("got %v, want the pong 3", f)
			}
		})
	})
}

// v3Records splits an Engine.IO v3 text payload: records "<n>:<packet>"
// where n counts UTF-16 code units.
func v3Records(t testing.TB, body string) []string {
	t.Helper()
	var recs []string
	for range 100 {
		if body == "" {
			return recs
		}
		n, rest, ok := strings.Cut(body, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size <= 0 {
			t.Fatalf("v3 payload %q: bad length prefix", body)
		}
		i, units := 0, 0
		for _, r := range rest {
			if units >= size {
				break
			}
			units += len(utf16.Encode([]rune{r}))
			i += len(string(r))
		}
		if units != size {
			t.Fatalf("v3 payload %q: record shorter than %d", body, size)
		}
		recs = append(recs, rest[:i])
		body = rest[i:]
	}
	t.Fatalf("v3 payload has over 100 records")
	return nil
}

// TestSocketIOConnect covers the CONFORMANCE.md table rows for CONNECT:
// "40", "40{"token":"123"}", "40/custom," (with and without auth),
// "40/custom" and "40/random".
func TestSocketIOConnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, send, prefix, auth string
	}{
		// Row `40`.
		{"40 is answered 40 with only a sid, then auth {}", "40", "40", `42["auth",{}]`},
		// Row `40{"token":"123"}`.
		{"40 with a token is answered 40, then auth with the token", `40{"token":"123"}`, "40", `42["auth",{"token":"123"}]`},
		// Row `40/custom,`.
		{"40/custom, is answered 40/custom, then auth {}", "40/custom,", "40/custom,", `42/custom,["auth",{}]`},
		// Row `40/custom,{"token":"abc"}`.
		{"40/custom, with a token is answered 40/custom, then auth with the token", `40/custom,{"token":"abc"}`, "40/custom,", `42/custom,["auth",{"token":"abc"}]`},
		// Row `40/custom` (no trailing comma).
		{"40/custom without a comma is answered as with one", "40/custom", "40/custom,", `42/custom,["auth",{}]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				c, _ := e.openWS(t, sioPath)
				c.send(tc.send)
				expectConnectOK(t, c, tc.prefix)
				c.expectText(tc.auth)
			})
		})
	}
	// Row `40/random`.
	t.Run("40/random is refused with Invalid namespace", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			c, _ := e.openWS(t, sioPath)
			c.send("40/random")
			c.expectText(`44/random,{"message":"Invalid namespace"}`)
		})
	})
	// Row `40`, over polling.
	t.Run("40 over polling is answered 40 with only a sid, then auth {}", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			sid := e.handshake(t, sioPath)
			if rep := e.post(t, sioPath, sid, "40"); rep.status != http.StatusOK || rep.body != "ok" {
				t.Fatalf("POST 40: status %d, body %q; want 200 ok", rep.status, rep.body)
			}
			rep := e.get(t, sioPath, sid)
			recs := records(withoutPings(rep.body))
			if rep.status != http.StatusOK || len(recs) != 2 {
				t.Fatalf("GET: status %d, body %q; want 200 and two packets", rep.status, rep.body)
			}
			checkConnectOK(t, recs[0], "40")
			if recs[1] != `42["auth",{}]` {
				t.Fatalf("second packet %q, want 42[\"auth\",{}]", recs[1])
			}
		})
	})
}

// expectConnectOK reads the next frame and checks it is a CONNECT answer.
func expectConnectOK(t testing.TB, c *wsClient, prefix string) {
	t.Helper()
	f := c.readSkippingPings(replyWithin)
	if f.op != ws.OpText {
		t.Fatalf("got %v, want %s{\"sid\":...}", f, prefix)
	}
	checkConnectOK(t, string(f.data), prefix)
}

// checkConnectOK checks a CONNECT answer: prefix then an object holding only
// a non-empty string sid.
func checkConnectOK(t testing.TB, packet, prefix string) {
	t.Helper()
	js, ok := strings.CutPrefix(packet, prefix)
	var fields map[string]json.RawMessage
	if !ok || json.Unmarshal([]byte(js), &fields) != nil {
		t.Fatalf("got %q, want %s{\"sid\":...}", packet, prefix)
	}
	var sid string
	if len(fields) != 1 || json.Unmarshal(fields["sid"], &sid) != nil || sid == "" {
		t.Fatalf("got %q, want an object with only a string sid", packet)
	}
}

// connectMain opens a websocket on /socket.io/ and joins "/".
func connectMain(t testing.TB, e *env) *wsClient {
	t.Helper()
	c, _ := e.openWS(t, sioPath)
	c.send("40")
	expectConnectOK(t, c, "40")
	c.expectText(`42["auth",{}]`)
	return c
}

// TestSocketIOConnectionClosed covers the table row "4abc as first packet,
// or no CONNECT within connectTimeout -> connection closed".
func TestSocketIOConnectionClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("4abc as the first packet closes the connection", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			c, _ := e.openWS(t, sioPath)
			c.send("4abc")
			c.expectClosed(replyWithin)
		})
	})
	t.Run("no CONNECT within connectTimeout closes the connection", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			start := time.Now()
			c, _ := e.openWS(t, sioPath)
			deadline := start.Add(ConnectTimeout + replyWithin)
			for range 100 {
				f, err := c.next(time.Until(deadline))
				if isTimeout(err) {
					t.Fatalf("connection still open %v after the handshake", ConnectTimeout+replyWithin)
				}
				if err != nil {
					if d := time.Since(start); d < ConnectTimeout-notBefore {
						t.Fatalf("closed %v after the handshake, before connectTimeout %v", d, ConnectTimeout)
					}
					return
				}
				if f.op != ws.OpText || string(f.data) != "2" {
					t.Fatalf("got %v before any CONNECT", f)
				}
				c.pong() // keep the Engine.IO session alive
			}
			t.Fatal("only pings arrive")
		})
	})
}

// TestSocketIODisconnectMain covers the table row "41 after connecting ->
// nothing; the Engine.IO session stays open (next frame is ping 2)".
func TestSocketIODisconnectMain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("41 after connecting is not answered and the next frame is the ping", func(t *testing.T) {
		attempt(t, func(t testing.TB) {
			c := connectMain(t, e)
			c.send("41")
			if f := c.read(replyWithin); f.op != ws.OpText || string(f.data) != "2" {
				t.Fatalf("got %v after 41, want the ping 2", f)
			}
		})
	})
}

// TestSocketIOEvents covers the table rows for EVENT, BINARY_EVENT and
// acknowledgements on the main namespace.
func TestSocketIOEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	placeholders := `{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}`
	att0, att1 := []byte{1, 2, 3}, []byte{4, 5, 6}
	cases := []struct {
		name string
		send string
		atts bool
		want string
	}{
		// Row `42["message",1,"2",{"3":[true]}]`.
		{"message is answered message-back with the arguments byte for byte",
			`42["message",1,"2",{"3":[true]}]`, false, `42["message-back",1,"2",{"3":[true]}]`},
		// Row `452-["message",<2 placeholders>]` + 2 binary frames.
		{"a binary message is answered message-back with the same placeholders and frames",
			`452-["message",` + placeholders + `]`, true, `452-["message-back",` + placeholders + `]`},
		// Row `42456["message-with-ack",1,"2",{"3":[false]}]`.
		{"message-with-ack is acknowledged with the same arguments",
			`42456["message-with-ack",1,"2",{"3":[false]}]`, false, `43456[1,"2",{"3":[false]}]`},
		// Row `452-789["message-with-ack",<2 placeholders>]` + 2 binary frames.
		{"a binary message-with-ack is acknowledged with a binary ack and the same frames",
			`452-789["message-with-ack",` + placeholders + `]`, true, `462-789[` + placeholders + `]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				c := connectMain(t, e)
				c.send(tc.send)
				if tc.atts {
					c.sendBinary(att0)
					c.sendBinary(att1)
				}
				c.expectText(tc.want)
				if tc.atts {
					c.expectBinary(att0)
					c.expectBinary(att1)
				}
			})
		})
	}
	// Row `452-["message",<2 placeholders>]`, over polling: attachments
	// travel as b + base64 records.
	t.Run("a binary message over polling comes back with base64 attachments", func(t *testing.T) {
		t.Parallel()
		attempt(t, func(t testing.TB) {
			sid := e.handshake(t, sioPath)
			e.post(t, sioPath, sid, "40")
			if rep := e.get(t, sioPath, sid); len(records(withoutPings(rep.body))) != 2 {
				t.Fatalf("GET after 40: %q, want the CONNECT answer and auth", rep.body)
			}
			body := `452-["message",` + placeholders + "]\x1ebAQID\x1ebBAUG"
			if rep := e.post(t, sioPath, sid, body); rep.status != http.StatusOK {
				t.Fatalf("POST: status %d, body %q", rep.status, rep.body)
			}
			want := `452-["message-back",` + placeholders + "]\x1ebAQID\x1ebBAUG"
			if rep := e.get(t, sioPath, sid); withoutPings(rep.body) != want {
				t.Fatalf("GET: %q, want %q", rep.body, want)
			}
		})
	})
}

// TestSocketIOMalformedAfterConnect covers the table row "4abc, 42{},
// 42abc[...] after connecting -> connection closed".
func TestSocketIOMalformedAfterConnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, bad := range []string{"4abc", "42{}", `42abc["message"]`} {
		t.Run(bad+" after connecting closes the connection", func(t *testing.T) {
			t.Parallel()
			attempt(t, func(t testing.TB) {
				c := connectMain(t, e)
				c.send(bad)
				c.expectClosed(replyWithin)
			})
		})
	}
}

// TestSocketIORepliesWithinPingTimeout covers the final paragraph of
// CONFORMANCE.md: a client that never answers pings connects /custom after
// /, disconnects /custom, then sends a message on /; every reply arrives
// inside the pingTimeout window that follows the ping.
func TestSocketIORepliesWithinPingTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("connect custom after main, disconnect custom and message main, all inside one pingTimeout", func(t *testing.T) {
		attempt(t, func(t testing.TB) { repliesWithinPingTimeout(t, e) })
	})
}

func repliesWithinPingTimeout(t testing.TB, e *env) {
	c, _ := e.openWS(t, sioPath)
	// read never answers pings; it counts them.
	pings := 0
	read := func(what string) frame {
		t.Helper()
		for range 10 {
			f, err := c.next(replyWithin)
			if err != nil {
				t.Fatalf("waiting for %s: %v (after %d unanswered pings: replies must come within pingTimeout)", what, err, pings)
			}
			if f.op == ws.OpText && string(f.data) == "2" {
				pings++
				continue
			}
			return f
		}
		t.Fatalf("waiting for %s: only pings arrive", what)
		return frame{}
	}
	expect := func(want string) {
		t.Helper()
		if f := read(want); f.op != ws.OpText || string(f.data) != want {
			t.Fatalf("got %v, want %s", f, want)
		}
	}
	c.send("40")
	checkConnectOK(t, string(read("the CONNECT answer").data), "40")
	expect(`42["auth",{}]`)
	// Wait for the ping: from now on the session lives pingTimeout.
	for pings == 0 {
		f, err := c.next(replyWithin)
		if err != nil {
			t.Fatalf("waiting for the ping: %v", err)
		}
		if f.op != ws.OpText || string(f.data) != "2" {
			t.Fatalf("got %v, want the ping 2", f)
		}
		pings++
	}
	c.send("40/custom")
	checkConnectOK(t, string(read("the /custom CONNECT answer").data), "40/custom,")
	expect(`42/custom,["auth",{}]`)
	c.send("41/custom")
	c.send(`42["message","message to main namespace"]`)
	expect(`42["message-back","message to main namespace"]`)
	// The ping was never answered, so the session does end: the replies
	// above really did come inside its window.
	c.expectClosed(goneBy)
	if pings != 1 {
		t.Fatalf("%d pings arrived, want 1", pings)
	}
}

// TestSettings covers the settings paragraph of CONFORMANCE.md (the
// handshake's values are checked by TestHandshake): CORS origin "*".
func TestSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	origin := http.Header{"Origin": {"http://example.test"}}
	for _, path := range bothPaths {
		t.Run("a cross-origin handshake on "+pathName(path)+" is allowed for any origin", func(t *testing.T) {
			t.Parallel()
			rep := e.do(context.Background(), http.MethodGet, path+pollQuery(""), "", origin)
			if rep.err != nil || rep.status != http.StatusOK {
				t.Fatalf("GET with Origin: %v, status %d, body %q", rep.err, rep.status, rep.body)
			}
			if got := rep.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Fatalf("Access-Control-Allow-Origin = %q, want *", got)
			}
		})
		t.Run("a CORS preflight on "+pathName(path)+" is allowed for any origin", func(t *testing.T) {
			t.Parallel()
			h := origin.Clone()
			h.Set("Access-Control-Request-Method", "POST")
			rep := e.do(context.Background(), http.MethodOptions, path+pollQuery(""), "", h)
			if rep.err != nil || rep.status >= 300 {
				t.Fatalf("OPTIONS: %v, status %d", rep.err, rep.status)
			}
			if got := rep.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Fatalf("Access-Control-Allow-Origin = %q, want *", got)
			}
		})
	}
}

// TestCloseDuringHandshakes is not a line of CONFORMANCE.md but the
// shutdown of the server that serves it (natsock-conformance stops on
// SIGTERM): Close, racing with polling and websocket handshakes, closes
// every session it let in, waits for their goroutines and returns; later
// handshakes are refused.
func TestCloseDuringHandshakes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const clients, rounds = 4, 50
	var (
		mu      sync.Mutex
		opened  []*wsClient
		started = make(chan struct{}, clients*rounds)
		wg      sync.WaitGroup
	)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if i%2 == 0 {
					rep := e.do(context.Background(), http.MethodGet, sioPath+pollQuery(""), "", nil)
					if rep.err != nil || rep.status != http.StatusOK {
						return // refused: the server is closing
					}
				} else {
					c, err := e.dialWS(t, sioPath, "?EIO=4&transport=websocket")
					if err != nil {
						return
					}
					mu.Lock()
					opened = append(opened, c)
					mu.Unlock()
				}
				started <- struct{}{}
			}
		}()
	}
	awaitSignal(t, started, "a first handshake")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Close(ctx); err != nil {
		t.Errorf("Close while handshakes run: %v", err)
	}
	wg.Wait()
	// Every websocket the server let in is closed by the server.
	for _, c := range opened {
		for range 10 {
			if _, err := c.next(replyWithin); err != nil {
				if isTimeout(err) {
					t.Errorf("a websocket opened during Close is still open")
				}
				break
			}
		}
	}
	if rep := e.do(context.Background(), http.MethodGet, sioPath+pollQuery(""), "", nil); rep.err == nil && rep.status == http.StatusOK {
		t.Errorf("a handshake after Close was accepted")
	}
}
