package conformance

// TestMalformedInputIsRefused runs every input of testdata/malformed (see
// its README) against a Socket.IO server while well-behaved clients,
// connected the whole time, receive a stream of broadcasts: each input
// must get its refusal (an HTTP status, a websocket close frame with its
// status and reason, or a connect_error), nothing may panic (net/http
// recovers a handler's panic and logs it: the log is checked), and the
// other clients must receive every broadcast, in order, and stay
// connected.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// The malformed-input server's settings: a small maxPayload so that the
// inputs over it stay cheap, a heartbeat slow enough for the race
// detector on a small machine, and a short connect timeout for the input
// that never sends CONNECT.
const (
	malformedMaxPayload     = 64 << 10
	malformedConnectTimeout = 500 * time.Millisecond
	malformedWithin         = 5 * time.Second // bound on each refusal
)

// malformedInput is one line of the corpus.
type malformedInput struct {
	where  string // file:line
	name   string
	kind   string
	frames []inputFrame
	expect expectation
}

type inputFrame struct {
	data   []byte
	binary bool
}

// expectation is a refusal: "status" (code), "close" (code and text) or
// "packet" (text, a prefix of the packet the server answers with).
type expectation struct {
	kind string
	code int
	text string
}

func (e expectation) String() string {
	switch e.kind {
	case "status":
		return fmt.Sprintf("HTTP %d", e.code)
	case "close":
		return fmt.Sprintf("close frame %d %q", e.code, e.text)
	}
	return fmt.Sprintf("packet %q", e.text)
}

// loadMalformed reads every corpus file.
func loadMalformed(t *testing.T) []malformedInput {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "malformed", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in testdata/malformed: %v", err)
	}
	var all []malformedInput
	names := make(map[string]string)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			where := fmt.Sprintf("%s:%d", filepath.Base(f), i+1)
			in, err := parseMalformed(line)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			in.where = where
			key := filepath.Base(f) + "/" + in.name
			if prev, dup := names[key]; dup {
				t.Fatalf("%s: the name %q is already used at %s", where, in.name, prev)
			}
			names[key] = where
			all = append(all, in)
		}
	}
	return all
}

// parseMalformed reads "name | kind | input | expectation".
func parseMalformed(line string) (malformedInput, error) {
	var in malformedInput
	first := strings.Index(line, " | ")
	if first < 0 {
		return in, errors.New("want name | kind | input | expectation")
	}
	rest := line[first+3:]
	second := strings.Index(rest, " | ")
	last := strings.LastIndex(rest, " | ")
	if second < 0 || last == second {
		return in, errors.New("want name | kind | input | expectation")
	}
	in.name = strings.TrimSpace(line[:first])
	in.kind = strings.TrimSpace(rest[:second])
	switch in.kind {
	case "http", "ws-dial", "ws-raw", "ws", "sio-ws", "polling", "sio-polling", "silent":
	default:
		return in, fmt.Errorf("unknown kind %q", in.kind)
	}
	var err error
	if in.frames, err = parseFrames(rest[second+3 : last]); err != nil {
		return in, fmt.Errorf("input: %w", err)
	}
	if in.expect, err = parseExpectation(strings.TrimSpace(rest[last+3:])); err != nil {
		return in, fmt.Errorf("expectation: %w", err)
	}
	return in, nil
}

// parseFrames reads the input grammar of the README: literals, *N, + and ,.
func parseFrames(s string) ([]inputFrame, error) {
	var (
		frames []inputFrame
		cur    inputFrame
	)
	s = strings.TrimSpace(s)
	for {
		binary := false
		if strings.HasPrefix(s, "b\"") || strings.HasPrefix(s, "b`") {
			binary, s = true, s[1:]
		}
		lit, err := strconv.QuotedPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("at %q: want a Go string literal", s)
		}
		str, err := strconv.Unquote(lit)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lit, err)
		}
		s = strings.TrimSpace(s[len(lit):])
		n := 1
		if strings.HasPrefix(s, "*") {
			s = strings.TrimSpace(s[1:])
			end := 0
			for end < len(s) && s[end] >= '0' && s[end] <= '9' {
				end++
			}
			if n, err = strconv.Atoi(s[:end]); err != nil {
				return nil, fmt.Errorf("after *: want a count at %q", s)
			}
			s = strings.TrimSpace(s[end:])
		}
		cur.data = append(cur.data, strings.Repeat(str, n)...)
		cur.binary = cur.binary || binary
		if s == "" {
			return append(frames, cur), nil
		}
		switch s[0] {
		case '+':
		case ',':
			frames = append(frames, cur)
			cur = inputFrame{}
		default:
			return nil, fmt.Errorf("at %q: want + or ,", s)
		}
		s = strings.TrimSpace(s[1:])
	}
}

func parseExpectation(s string) (expectation, error) {
	kind, rest, _ := strings.Cut(s, " ")
	e := expectation{kind: kind}
	switch kind {
	case "status", "close":
		code, text, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(code)
		if err != nil {
			return e, fmt.Errorf("%q: want a status code", s)
		}
		e.code = n
		if kind == "close" {
			if e.text, err = strconv.Unquote(text); err != nil {
				return e, fmt.Errorf("%q: want the close reason as a string literal", s)
			}
		}
	case "packet":
		var err error
		if e.text, err = strconv.Unquote(rest); err != nil {
			return e, fmt.Errorf("%q: want the packet as a string literal", s)
		}
	default:
		return e, fmt.Errorf("%q: want status, close or packet", s)
	}
	return e, nil
}

// malformedEnv is the server under test, its HTTP client, and the log in
// which net/http reports a recovered panic.
type malformedEnv struct {
	srv    *socketio.Server
	base   string
	wsBase string
	client *http.Client
	errLog *lockedBuffer

	mu   sync.Mutex
	left map[string]socketio.Reason // socket id -> why it left
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newMalformedEnv(t *testing.T) *malformedEnv {
	t.Helper()
	errLog := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(errLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := socketio.NewServer(socketio.Config{
		Engine: engine.Config{
			PingInterval: time.Second,
			PingTimeout:  10 * time.Second,
			MaxPayload:   malformedMaxPayload,
			AllowOrigins: []string{"*"},
		},
		ConnectTimeout: malformedConnectTimeout,
		Logger:         logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &malformedEnv{srv: srv, errLog: errLog, left: make(map[string]socketio.Reason)}
	srv.Of("/").OnDisconnect(func(s *socketio.Socket, why socketio.Reason) {
		e.mu.Lock()
		e.left[s.ID()] = why
		e.mu.Unlock()
	})
	srv.Of("/custom")
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ErrorLog = log.New(errLog, "http: ", 0)
	hs.Start()
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	e.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	e.base = hs.URL + "/socket.io/"
	e.wsBase = "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		hs.Close()
		tr.CloseIdleConnections()
	})
	return e
}

func (e *malformedEnv) leftFor(id string) (socketio.Reason, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	why, ok := e.left[id]
	return why, ok
}

// request sends one HTTP request and returns its status and body.
func (e *malformedEnv) request(method, query, body string) (int, string, error) {
	req, err := http.NewRequest(method, e.base+query, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// pollingSession makes a polling handshake and returns the sid.
func (e *malformedEnv) pollingSession(t *testing.T) string {
	t.Helper()
	code, body, err := e.request(http.MethodGet, "?EIO=4&transport=polling", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("polling handshake: %d %q %v", code, body, err)
	}
	i, j := strings.Index(body, `"sid":"`), strings.Index(body, `","upgrades"`)
	if i < 0 || j < i {
		t.Fatalf("polling handshake %q has no sid", body)
	}
	return body[i+7 : j]
}

// rawWS is a websocket client that reads what the server sends and writes
// anything, frames or not.
type rawWS struct {
	conn net.Conn
	rw   io.ReadWriter
}

func (e *malformedEnv) dialWS(query string) (*rawWS, error) {
	ctx, cancel := context.WithTimeout(context.Background(), malformedWithin)
	defer cancel()
	conn, br, _, err := ws.Dialer{}.Dial(ctx, e.wsBase+query)
	if err != nil {
		return nil, err
	}
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	return &rawWS{conn: conn, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}}, nil
}

// openWS opens a websocket session and reads its open packet.
func (e *malformedEnv) openWS(t *testing.T) *rawWS {
	t.Helper()
	c, err := e.dialWS("?EIO=4&transport=websocket")
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	t.Cleanup(func() { _ = c.conn.Close() })
	if p, err := c.next(); err != nil || !strings.HasPrefix(p, "0{") {
		t.Fatalf("open packet: %q, %v", p, err)
	}
	return c
}

// next reads one data message as text ("2" pings are answered and
// skipped); a close frame comes back as wsutil.ClosedError. It reads the
// frames itself: a client library would answer the close frame, and once
// that answer fails (the server has gone, which it may after a refusal)
// report the failed write instead of the close frame it read.
func (c *rawWS) next() (string, error) {
	var msg []byte
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(malformedWithin))
		h, err := ws.ReadHeader(c.rw)
		if err != nil {
			return "", err
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c.rw, payload); err != nil {
			return "", err
		}
		switch {
		case h.OpCode == ws.OpClose:
			code, reason := ws.ParseCloseFrameData(payload)
			return "", wsutil.ClosedError{Code: code, Reason: reason}
		case h.OpCode.IsControl():
			continue
		}
		msg = append(msg, payload...)
		if !h.Fin {
			continue
		}
		if string(msg) == "2" {
			_ = c.send(inputFrame{data: []byte("3")})
			msg = msg[:0]
			continue
		}
		return string(msg), nil
	}
}

func (c *rawWS) send(f inputFrame) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(malformedWithin))
	op := ws.OpText
	if f.binary {
		op = ws.OpBinary
	}
	return wsutil.WriteClientMessage(c.conn, op, f.data)
}

// expectRefusal reads until the server closes (or sends the expected
// packet) and checks the refusal.
func (c *rawWS) expectRefusal(t *testing.T, want expectation) {
	t.Helper()
	for range 10000 {
		p, err := c.next()
		var closed wsutil.ClosedError
		switch {
		case errors.As(err, &closed):
			if want.kind != "close" || int(closed.Code) != want.code || closed.Reason != want.text {
				t.Fatalf("got close frame %d %q, want %v", closed.Code, closed.Reason, want)
			}
			return
		case err != nil:
			t.Fatalf("the connection ended without a close frame (%v), want %v", err, want)
		case want.kind == "packet" && strings.HasPrefix(p, want.text):
			return
		}
		// Anything else (a broadcast, the CONNECT answer) is not the
		// refusal: read on.
	}
	t.Fatalf("only data messages arrive, want %v", want)
}

// run delivers one input and checks its refusal.
func (e *malformedEnv) run(t *testing.T, in malformedInput) {
	join := func(frames []inputFrame) string {
		var b []byte
		for _, f := range frames {
			b = append(b, f.data...)
		}
		return string(b)
	}
	switch in.kind {
	case "http":
		method, query, _ := strings.Cut(join(in.frames), " ")
		code, body, err := e.request(method, query, "")
		if err != nil || code != in.expect.code {
			t.Fatalf("%s: %d %q (%v), want %v", method, code, body, err, in.expect)
		}
	case "ws-dial":
		c, err := e.dialWS(join(in.frames))
		var se ws.StatusError
		if err == nil {
			c.conn.Close()
			t.Fatalf("websocket handshake accepted, want %v", in.expect)
		}
		if !errors.As(err, &se) || int(se) != in.expect.code {
			t.Fatalf("websocket handshake: %v, want %v", err, in.expect)
		}
	case "ws-raw":
		c := e.openWS(t)
		_ = c.conn.SetWriteDeadline(time.Now().Add(malformedWithin))
		if _, err := c.conn.Write([]byte(join(in.frames))); err != nil {
			t.Fatal(err)
		}
		c.expectRefusal(t, in.expect)
	case "ws", "sio-ws", "silent":
		c := e.openWS(t)
		if in.kind == "sio-ws" {
			if err := c.send(inputFrame{data: []byte("40")}); err != nil {
				t.Fatal(err)
			}
			if p, err := c.next(); err != nil || !strings.HasPrefix(p, "40{") {
				t.Fatalf("CONNECT answer: %q, %v", p, err)
			}
		}
		if in.kind != "silent" {
			for _, f := range in.frames {
				// A write may fail once the server has closed; the read
				// below says why.
				if err := c.send(f); err != nil {
					break
				}
			}
		}
		c.expectRefusal(t, in.expect)
	case "polling", "sio-polling":
		sid := e.pollingSession(t)
		q := "?EIO=4&transport=polling&sid=" + sid
		if in.kind == "sio-polling" {
			if code, body, err := e.request(http.MethodPost, q, "40"); err != nil || code != http.StatusOK {
				t.Fatalf("POST 40: %d %q %v", code, body, err)
			}
			if code, body, err := e.request(http.MethodGet, q, ""); err != nil || !strings.Contains(body, "40{") {
				t.Fatalf("GET after CONNECT: %d %q %v", code, body, err)
			}
		}
		code, body, err := e.request(http.MethodPost, q, join(in.frames))
		if err != nil || code != in.expect.code {
			t.Fatalf("POST: %d %q (%v), want %v", code, body, err, in.expect)
		}
		if in.kind == "sio-polling" {
			if code, body, _ := e.request(http.MethodGet, q, ""); code != http.StatusBadRequest {
				t.Fatalf("GET after the refused POST: %d %q; want 400, the session closed", code, body)
			}
		}
	}
}

// goodClient is a well-behaved client: it reads "tick" broadcasts and
// checks their numbers come in order with none missing.
type goodClient struct {
	name string
	id   string
	got  atomic.Int64 // ticks received; the next one expected
	err  atomic.Pointer[error]
}

func (g *goodClient) tick(p string) {
	n, ok := strings.CutPrefix(p, `42["tick",`)
	if !ok {
		return
	}
	seq, err := strconv.ParseInt(strings.TrimSuffix(n, "]"), 10, 64)
	if want := g.got.Load(); err != nil || seq != want {
		e := fmt.Errorf("%s got %q, want tick %d", g.name, p, want)
		g.err.CompareAndSwap(nil, &e)
		return
	}
	g.got.Add(1)
}

func (g *goodClient) fail(err error) {
	e := fmt.Errorf("%s: %w", g.name, err)
	g.err.CompareAndSwap(nil, &e)
}

// startGoodWS joins "/" over websocket and reads ticks until ctx ends.
func (e *malformedEnv) startGoodWS(t *testing.T, ctx context.Context, wg *sync.WaitGroup, name string) *goodClient {
	g := &goodClient{name: name}
	c := e.openWS(t)
	if err := c.send(inputFrame{data: []byte("40")}); err != nil {
		t.Fatal(err)
	}
	p, err := c.next()
	if err != nil || !strings.HasPrefix(p, `40{"sid":"`) {
		t.Fatalf("CONNECT answer: %q, %v", p, err)
	}
	g.id = strings.TrimSuffix(strings.TrimPrefix(p, `40{"sid":"`), `"}`)
	wg.Go(func() {
		for {
			p, err := c.next()
			if err != nil {
				if ctx.Err() == nil {
					g.fail(err)
				}
				return
			}
			g.tick(p)
		}
	})
	context.AfterFunc(ctx, func() { _ = c.conn.Close() })
	return g
}

// startGoodPolling joins "/" over polling and reads ticks until ctx ends.
func (e *malformedEnv) startGoodPolling(t *testing.T, ctx context.Context, wg *sync.WaitGroup) *goodClient {
	g := &goodClient{name: "the polling client"}
	sid := e.pollingSession(t)
	q := "?EIO=4&transport=polling&sid=" + sid
	if code, body, err := e.request(http.MethodPost, q, "40"); err != nil || code != http.StatusOK {
		t.Fatalf("POST 40: %d %q %v", code, body, err)
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+q, nil)
			resp, err := e.client.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					g.fail(err)
				}
				return
			}
			body, err := io.ReadAll(bufio.NewReader(resp.Body))
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				if ctx.Err() == nil {
					g.fail(fmt.Errorf("GET: %d %q %v", resp.StatusCode, body, err))
				}
				return
			}
			for _, rec := range strings.Split(string(body), "\x1e") {
				switch {
				case rec == "2":
					if code, _, err := e.request(http.MethodPost, q, "3"); (err != nil || code != http.StatusOK) && ctx.Err() == nil {
						g.fail(fmt.Errorf("POST pong: %d %v", code, err))
						return
					}
				case strings.HasPrefix(rec, `40{"sid":"`):
					g.id = strings.TrimSuffix(strings.TrimPrefix(rec, `40{"sid":"`), `"}`)
				default:
					g.tick(rec)
				}
			}
		}
	})
	return g
}

func TestMalformedInputIsRefused(t *testing.T) {
	t.Parallel()
	inputs := loadMalformed(t)
	t.Logf("%d malformed inputs", len(inputs))
	e := newMalformedEnv(t)

	// The well-behaved clients, and a broadcast every millisecond to them.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	good := []*goodClient{
		e.startGoodWS(t, ctx, &wg, "websocket client 1"),
		e.startGoodWS(t, ctx, &wg, "websocket client 2"),
		e.startGoodWS(t, ctx, &wg, "websocket client 3"),
		e.startGoodPolling(t, ctx, &wg),
	}
	var sent atomic.Int64
	ticking := make(chan struct{})
	stopTicks := make(chan struct{})
	go func() {
		defer close(ticking)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopTicks:
				return
			case <-tk.C:
				n := sent.Load()
				e.srv.Of("/").Emit("tick", socketio.Data{Args: []json.RawMessage{strconv.AppendInt(nil, n, 10)}})
				sent.Add(1)
			}
		}
	}()

	t.Run("each input", func(t *testing.T) {
		for _, in := range inputs {
			t.Run(in.name, func(t *testing.T) {
				t.Parallel()
				defer func() {
					if t.Failed() {
						t.Logf("input from %s", in.where)
					}
				}()
				e.run(t, in)
			})
		}
	})

	close(stopTicks)
	<-ticking
	total := sent.Load()
	deadline := time.Now().Add(20 * time.Second)
	for _, g := range good {
		for g.got.Load() < total && g.err.Load() == nil && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if err := g.err.Load(); err != nil {
			t.Errorf("a well-behaved client was disturbed: %v", *err)
			continue
		}
		if got := g.got.Load(); got != total {
			t.Errorf("%s received %d of %d broadcasts", g.name, got, total)
		}
		if why, gone := e.leftFor(g.id); gone {
			t.Errorf("%s was disconnected (%s)", g.name, why)
		}
	}
	t.Logf("%d broadcasts reached each of %d well-behaved clients in order while the inputs ran", total, len(good))
	if strings.Contains(e.errLog.String(), "panic") {
		t.Errorf("the server panicked:\n%s", e.errLog)
	}
}
