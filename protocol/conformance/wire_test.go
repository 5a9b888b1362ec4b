package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// This file holds the wire-level helpers of the conformance tests: a
// conformance server on 127.0.0.1, a plain net/http client for the polling
// transport and a gobwas/ws client for the websocket one. Nothing here knows
// socket.io beyond splitting a polling payload.

// Paths served by the conformance server.
const (
	eioPath = "/engine.io/"
	sioPath = "/socket.io/"
)

// bothPaths are the paths every Engine.IO rule applies to.
var bothPaths = []string{eioPath, sioPath}

// Bounds of the waits in these tests. They are generous on purpose: a test
// proves that a deadline of the protocol is honoured, never that the server
// is fast.
const (
	// replyWithin bounds the wait for a frame or response that the server
	// owes the client now.
	replyWithin = 2 * time.Second
	// goneBy is when a session left without pongs must be gone, counted
	// from the handshake (the protocol says 500 ms).
	goneBy = 1500 * time.Millisecond
	// stillAliveAt is a moment, counted from the handshake, at which a
	// session without pongs must still be open.
	stillAliveAt = 200 * time.Millisecond
	// notBefore is the slack allowed below a deadline the server must not
	// act before (a ping before pingInterval, a close before
	// connectTimeout). The server's timers start after the client sent its
	// request, so no slack is needed in theory; some is kept for timer
	// granularity.
	notBefore = 50 * time.Millisecond
)

// env is one conformance server listening on 127.0.0.1 and the HTTP client
// that talks to it. Its Cleanup closes sessions, the server and the
// client's connections, in that order, so that the leak check finds
// nothing.
type env struct {
	srv    *Server
	hs     *httptest.Server
	base   string // http://127.0.0.1:port
	wsBase string // ws://127.0.0.1:port
	client *http.Client

	mu       sync.Mutex
	arrivals map[string]chan struct{} // sid -> a polling GET for it reached the handler
	closed   map[string]bool          // client address -> its server-side conn ended
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := New(nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e := &env{
		srv:      srv,
		arrivals: make(map[string]chan struct{}),
		closed:   make(map[string]bool),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1: %v", err)
	}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	_ = hs.Listener.Close()
	hs.Listener = ln
	hs.Config.ConnState = e.connState
	hs.Start()
	e.hs = hs
	e.base = hs.URL
	e.wsBase = "ws" + strings.TrimPrefix(hs.URL, "http")
	tr := &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}
	e.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("conformance server Close: %v", err)
		}
		hs.Close()
		tr.CloseIdleConnections()
	})
	return e
}

// serve passes every request to the conformance server, noting first when a
// polling GET for a watched session reaches it.
func (e *env) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodGet && q.Get("transport") == "polling" && q.Get("sid") != "" {
		e.mu.Lock()
		ch := e.arrivals[q.Get("sid")]
		e.mu.Unlock()
		if ch != nil {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	e.srv.ServeHTTP(w, r)
}

func (e *env) connState(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		e.mu.Lock()
		e.closed[c.RemoteAddr().String()] = true
		e.mu.Unlock()
	}
}

// watchGETs returns a channel that receives once for each polling GET of
// sid that reaches the server's handler from now on.
func (e *env) watchGETs(sid string) <-chan struct{} {
	ch := make(chan struct{}, 16)
	e.mu.Lock()
	e.arrivals[sid] = ch
	e.mu.Unlock()
	return ch
}

// serverConnClosed reports whether the server has finished with the
// connection whose client end is addr.
func (e *env) serverConnClosed(addr string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed[addr]
}

// awaitSignal waits, at most replyWithin, for ch.
func awaitSignal(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(replyWithin)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("%s did not happen within %v", what, replyWithin)
	}
}

// eventually polls cond every 10ms until it holds or within has passed, and
// reports whether it held.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitUntil blocks until the moment at: the tests use it only to stand at a
// point of a time window the protocol defines (say, 200 ms after the
// handshake), never to wait for a state.
func waitUntil(at time.Time) {
	if d := time.Until(at); d > 0 {
		timer := time.NewTimer(d)
		<-timer.C
	}
}

// Polling.

// reply is an HTTP response as the tests see it.
type reply struct {
	status int
	body   string
	header http.Header
	addr   string // the client end of the connection that carried it
	err    error
}

func pollQuery(sid string) string {
	q := "?EIO=4&transport=polling"
	if sid != "" {
		q += "&sid=" + sid
	}
	return q
}

// do sends one request and reads the whole response.
func (e *env) do(ctx context.Context, method, target, body string, header http.Header) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var rep reply
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		rep.addr = info.Conn.LocalAddr().String()
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, e.base+target, rd)
	if err != nil {
		rep.err = err
		return rep
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.client.Do(req)
	if err != nil {
		rep.err = err
		return rep
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	rep.status, rep.body, rep.header, rep.err = resp.StatusCode, string(b), resp.Header, err
	return rep
}

// mustDo is do that fails the test when the request itself fails.
func (e *env) mustDo(t testing.TB, method, target, body string) reply {
	t.Helper()
	rep := e.do(context.Background(), method, target, body, nil)
	if rep.err != nil {
		t.Fatalf("%s %s: %v", method, target, rep.err)
	}
	return rep
}

func (e *env) get(t testing.TB, path, sid string) reply {
	t.Helper()
	return e.mustDo(t, http.MethodGet, path+pollQuery(sid), "")
}

func (e *env) post(t testing.TB, path, sid, body string) reply {
	t.Helper()
	return e.mustDo(t, http.MethodPost, path+pollQuery(sid), body)
}

// getAsync starts a GET and returns where its reply will arrive. The
// channel is buffered, so an abandoned GET leaks nothing; the test still
// receives from it before it ends.
func (e *env) getAsync(ctx context.Context, path, sid string) <-chan reply {
	ch := make(chan reply, 1)
	go func() { ch <- e.do(ctx, http.MethodGet, path+pollQuery(sid), "", nil) }()
	return ch
}

// awaitReply waits, at most within, for an async reply.
func awaitReply(t testing.TB, ch <-chan reply, within time.Duration) reply {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case rep := <-ch:
		return rep
	case <-timer.C:
		t.Fatalf("no reply within %v", within)
		return reply{}
	}
}

// handshake opens a polling session on path and returns its sid, after
// checking the open packet (CONFORMANCE.md line 1).
func (e *env) handshake(t testing.TB, path string) string {
	t.Helper()
	rep := e.get(t, path, "")
	if rep.status != http.StatusOK {
		t.Fatalf("polling handshake on %s: status %d, body %q", path, rep.status, rep.body)
	}
	return checkOpen(t, rep.body, `["websocket"]`)
}

// records splits a v4 polling payload into its packets.
func records(body string) []string { return strings.Split(body, "\x1e") }

// checkOpen checks an open packet ("0" and the handshake JSON) and returns
// its sid. The JSON must have exactly the five keys of CONFORMANCE.md line
// 1, with the conformance server's settings and upgrades as given.
func checkOpen(t testing.TB, packet, upgrades string) string {
	t.Helper()
	js, ok := strings.CutPrefix(packet, "0")
	if !ok {
		t.Fatalf("open packet %q does not start with 0", packet)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &fields); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(keys, want) {
		t.Errorf("open packet keys are %v, want exactly %v", keys, want)
	}
	var sid string
	if err := json.Unmarshal(fields["sid"], &sid); err != nil || sid == "" {
		t.Fatalf("open packet sid %s is not a non-empty string", fields["sid"])
	}
	for key, want := range map[string]string{
		"upgrades":     upgrades,
		"pingInterval": "300",
		"pingTimeout":  "200",
		"maxPayload":   "1000000",
	} {
		if got := string(fields[key]); got != want {
			t.Errorf("open packet %s = %s, want %s", key, got, want)
		}
	}
	return sid
}

// WebSocket.

// frame is one websocket data message from the server.
type frame struct {
	op   ws.OpCode
	data []byte
}

func (f frame) String() string {
	if f.op == ws.OpBinary {
		return fmt.Sprintf("binary %v", f.data)
	}
	return fmt.Sprintf("text %q", f.data)
}

// wsClient is a raw websocket client: one conn, reads through the dialer's
// buffer when the server's first frame came with the upgrade response.
type wsClient struct {
	t    testing.TB
	conn net.Conn
	rw   io.ReadWriter
}

// dialWS opens a websocket to path with query (which starts with "?").
func (e *env) dialWS(t testing.TB, path, query string) (*wsClient, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replyWithin)
	defer cancel()
	conn, br, _, err := ws.Dialer{}.Dial(ctx, e.wsBase+path+query)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = br // br reads on from conn once its buffer is spent
	}
	return &wsClient{t: t, conn: conn, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}}, nil
}

// openWS opens a websocket session on path and returns it with its sid,
// after checking the open packet (CONFORMANCE.md line 2).
func (e *env) openWS(t testing.TB, path string) (*wsClient, string) {
	t.Helper()
	c, err := e.dialWS(t, path, "?EIO=4&transport=websocket")
	if err != nil {
		t.Fatalf("websocket to %s: %v", path, err)
	}
	f := c.read(replyWithin)
	if f.op != ws.OpText {
		t.Fatalf("first websocket frame is %v, want the text open packet", f)
	}
	return c, checkOpen(t, string(f.data), `[]`)
}

// next reads the next data message, or returns the error that ended the
// connection. A read that passes within is reported as a timeout error.
func (c *wsClient) next(within time.Duration) (frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(within))
	data, op, err := wsutil.ReadServerData(c.rw)
	return frame{op: op, data: data}, err
}

// read is next that fails the test on any error.
func (c *wsClient) read(within time.Duration) frame {
	c.t.Helper()
	f, err := c.next(within)
	if err != nil {
		c.t.Fatalf("reading a websocket frame: %v", err)
	}
	return f
}

// readSkippingPings is read that answers and skips Engine.IO pings.
func (c *wsClient) readSkippingPings(within time.Duration) frame {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for range 100 {
		f := c.read(time.Until(deadline))
		if f.op == ws.OpText && string(f.data) == "2" {
			c.pong()
			continue
		}
		return f
	}
	c.t.Fatal("only pings arrive")
	return frame{}
}

// expectText reads the next message (answering pings on the way) and
// checks it is the text want.
func (c *wsClient) expectText(want string) {
	c.t.Helper()
	f := c.readSkippingPings(replyWithin)
	if f.op != ws.OpText || string(f.data) != want {
		c.t.Fatalf("got %v, want text %s", f, want)
	}
}

// expectBinary reads the next message and checks it is the binary want.
func (c *wsClient) expectBinary(want []byte) {
	c.t.Helper()
	f := c.read(replyWithin)
	if f.op != ws.OpBinary || string(f.data) != string(want) {
		c.t.Fatalf("got %v, want binary %v", f, want)
	}
}

// expectClosed checks that the server closes the connection within the
// given time and sends no data message first.
func (c *wsClient) expectClosed(within time.Duration) {
	c.t.Helper()
	f, err := c.next(within)
	switch {
	case err == nil:
		c.t.Fatalf("got %v, want the connection closed", f)
	case isTimeout(err):
		c.t.Fatalf("connection still open after %v", within)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// pong answers a ping. A failure is not reported here: the server may
// close as the pong leaves, and the next read says so.
func (c *wsClient) pong() {
	_ = c.conn.SetWriteDeadline(time.Now().Add(replyWithin))
	_ = wsutil.WriteClientText(c.conn, []byte("3"))
}

func (c *wsClient) send(text string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(replyWithin))
	if err := wsutil.WriteClientText(c.conn, []byte(text)); err != nil {
		c.t.Fatalf("sending %q: %v", text, err)
	}
}

func (c *wsClient) sendBinary(b []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(replyWithin))
	if err := wsutil.WriteClientBinary(c.conn, b); err != nil {
		c.t.Fatalf("sending binary %v: %v", b, err)
	}
}

// wsStatus returns the HTTP status of a refused websocket handshake, or 0.
func wsStatus(err error) int {
	var se ws.StatusError
	if errors.As(err, &se) {
		return int(se)
	}
	return 0
}
