package engine

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsock/natsock/protocol/internal/ids"
	"github.com/natsock/natsock/protocol/internal/timers"
)

// Handler receives a Server's sessions. The Server serializes the calls for
// one session: OnOpen first, then OnMessage in arrival order, OnClose last.
// Every session gets exactly one OnOpen and one OnClose, in that order,
// whatever races its handshake (Server.Close, the heartbeat, a failed
// write): state set up in OnOpen is always there in OnClose. Calls for
// different sessions run concurrently.
type Handler interface {
	// OnOpen is called once, after the handshake is written (or failed
	// to be) and before any other call for s. The session may already be
	// closed: its Send then returns ErrClosed, and OnClose follows.
	OnOpen(s *Session)
	// OnMessage is called for each message packet, between OnOpen and
	// OnClose. data is only valid during the call.
	OnMessage(s *Session, data []byte, binary bool)
	// OnClose is called once, after OnOpen has returned and the transport
	// is gone.
	OnClose(s *Session, reason Reason)
}

// Server is an Engine.IO v4 server (and v3 with Config.AllowEIO3) serving
// the websocket and polling transports from one http.Handler.
type Server struct {
	cfg     Config
	handler Handler
	wheel   *timers.Wheel
	idle    idleWatcher // where idle websocket connections wait
	writers writerPool  // where websocket queues are written

	mu       sync.RWMutex
	sessions map[string]*Session

	admitMu  sync.Mutex
	admitted admission

	refusing atomic.Bool // StopAccepting was called
	closing  atomic.Bool
	wg       sync.WaitGroup
	stats    counters
}

// NewServer checks cfg, fills its defaults and returns a Server that hands
// its sessions to h.
func NewServer(cfg Config, h Handler) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	srv := &Server{
		cfg:      cfg,
		handler:  h,
		wheel:    timers.New(),
		sessions: make(map[string]*Session),
	}
	srv.idle = newIdleWatcher(srv)
	srv.writers.srv = srv
	// The server's own count, given back by Close once every session is
	// closed: while the server is open the count is never zero, so no
	// goroutine's count (a teardown started from a request, an epoll
	// reader) raises it from zero unordered with Close's Wait.
	srv.wg.Add(1)
	return srv, nil
}

// Config returns the server's configuration with its defaults filled in.
func (srv *Server) Config() Config { return srv.cfg }

// Wheel returns the shared timer wheel, for the layer above's timeouts.
func (srv *Server) Wheel() *timers.Wheel { return srv.wheel }

// Count returns the number of open sessions.
func (srv *Server) Count() int {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return len(srv.sessions)
}

// StopAccepting refuses new sessions (a handshake gets 503) while the open
// ones go on: the first step of a graceful shutdown, before the sessions'
// last messages are in hand. Close does it too.
func (srv *Server) StopAccepting() { srv.refusing.Store(true) }

// Close closes every session with ReasonServerShutdown, letting each write
// what it has queued, and waits for the server's goroutines until ctx ends.
// New sessions are refused from the start; a polling session's requests
// are still served, so that it collects its last packets and the close
// packet (the session waits at most two seconds for each GET, and its
// queue is bounded, so the wait is too). It is safe to call twice.
func (srv *Server) Close(ctx context.Context) error {
	if srv.closing.CompareAndSwap(false, true) {
		// Holding mu exclusively orders every session registration and
		// every tracked wg.Add before the Wait below; after it, no session
		// registers and no request starts a goroutine (see track).
		srv.mu.Lock()
		all := make([]*Session, 0, len(srv.sessions))
		for _, s := range srv.sessions {
			all = append(all, s)
		}
		srv.mu.Unlock()
		for _, s := range all {
			s.CloseWith(ReasonServerShutdown)
		}
		srv.wg.Done() // the server's own count (see NewServer)
	}
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		srv.writers.close()
		srv.idle.close()
		srv.wheel.Close()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// track counts one goroutine that Close waits for. Unless always is set
// (a closing session's teardown must run whatever happens), it counts
// nothing and reports false once Close has begun. The Add happens under
// mu, which Close takes before it waits: sync.WaitGroup requires an Add
// from zero to happen before Wait, and without the lock a handshake or an
// upgrade racing with Close could start a goroutine, or register a
// session, that Close never sees.
func (srv *Server) track(always bool) bool {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	if !always && srv.closing.Load() {
		return false
	}
	srv.wg.Add(1)
	return true
}

// remove takes s out of the session table and gives back its place under
// the connection limits; only the first call does anything.
func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	removed := srv.sessions[s.id] == s
	if removed {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
	if removed {
		srv.release(s.ip)
	}
}

func (srv *Server) lookup(id string) *Session {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return srv.sessions[id]
}

// Engine.IO error codes, as the Node.js server sends them.
const (
	codeUnknownTransport   = 0
	codeUnknownSID         = 1
	codeBadHandshakeMethod = 2
	codeBadRequest         = 3
	codeForbidden          = 4
	codeUnsupportedVersion = 5
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

func writeError(w http.ResponseWriter, status, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, codeMessages[code]})
	_, _ = w.Write(b)
}

// ServeHTTP serves the Engine.IO endpoint: handshakes, polling requests and
// websocket connections and upgrades.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !srv.cors(w, r) {
		writeError(w, http.StatusForbidden, codeForbidden)
		return
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	protocol := 4
	switch q.Get("EIO") {
	case "4":
	case "3":
		if !srv.cfg.AllowEIO3 {
			writeError(w, http.StatusBadRequest, codeUnsupportedVersion)
			return
		}
		protocol = 3
	default:
		writeError(w, http.StatusBadRequest, codeUnsupportedVersion)
		return
	}
	websocket := false
	switch q.Get("transport") {
	case "polling":
		if srv.cfg.DisablePolling {
			writeError(w, http.StatusBadRequest, codeUnknownTransport)
			return
		}
	case "websocket":
		if srv.cfg.DisableWebSocket {
			writeError(w, http.StatusBadRequest, codeUnknownTransport)
			return
		}
		websocket = true
	default:
		writeError(w, http.StatusBadRequest, codeUnknownTransport)
		return
	}
	if websocket && (r.Method != http.MethodGet || !isUpgrade(r)) {
		writeError(w, http.StatusBadRequest, codeBadRequest)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		if srv.refusing.Load() || srv.closing.Load() {
			// New sessions are refused from the start of a shutdown;
			// requests of open ones go on, so that a polling client can
			// collect its last packets and the close packet.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusServiceUnavailable, codeBadRequest)
			return
		}
		if r.Method != http.MethodGet {
			writeError(w, http.StatusBadRequest, codeBadHandshakeMethod)
			return
		}
		if q.Get("j") != "" {
			writeError(w, http.StatusBadRequest, codeBadRequest) // JSONP is not served
			return
		}
		if check := srv.cfg.CheckRequest; check != nil {
			if err := check(r); err != nil {
				srv.cfg.Logger.Info("handshake refused", "remote", r.RemoteAddr, "err", err)
				writeError(w, http.StatusForbidden, codeForbidden)
				return
			}
		}
		ip := remoteIP(r.RemoteAddr)
		if !srv.admit(w, ip) {
			return
		}
		if websocket {
			srv.openWebSocket(w, r, q, protocol, ip)
		} else {
			srv.openPolling(w, r, q, protocol, ip)
		}
		return
	}
	s := srv.lookup(sid)
	if s == nil {
		writeError(w, http.StatusBadRequest, codeUnknownSID)
		return
	}
	if websocket {
		s.upgrade(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.servePoll(w, r)
	case http.MethodPost:
		s.servePost(w, r)
	default:
		writeError(w, http.StatusBadRequest, codeBadRequest)
	}
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

// newSession registers a session from ip, whose place admit took, on conn
// (nil for polling), and starts its heartbeat. The caller writes the
// handshake next, then must call open, whatever happened to the session
// meanwhile. It returns nil once Close has begun; the caller then gives
// the place back.
func (srv *Server) newSession(r *http.Request, q map[string][]string, protocol int, kind transportKind, ip string, conn net.Conn) *Session {
	s := &Session{
		srv:       srv,
		id:        ids.New(),
		ip:        ip,
		protocol:  protocol,
		transport: kind,
		conn:      conn,
		handshake: Handshake{
			RemoteAddr: r.RemoteAddr,
			Query:      keptQuery(q),
			Header:     keptHeader(r.Header),
			Time:       time.Now(),
		},
	}
	if kind == transportPolling {
		s.pollWake = make(chan struct{}, 1)
	}
	// The handler's lock is held from before the session is visible until
	// open has called OnOpen: once registered, the session can be closed
	// (by Close, its heartbeat, a failed write), and its OnClose, which
	// takes this lock, must wait for OnOpen.
	s.inMu.Lock()
	// Registering under mu with closing checked means Close either sees
	// the session or the session is never made.
	srv.mu.Lock()
	if srv.closing.Load() {
		srv.mu.Unlock()
		s.inMu.Unlock()
		return nil
	}
	srv.sessions[s.id] = s
	srv.mu.Unlock()
	// The timers start before the handshake is written, so a client that
	// never answers is gone pingInterval+pingTimeout after it.
	s.startHeartbeat()
	srv.stats.opened.Add(1)
	return s
}

// open hands a new session to the handler and lets its other calls in:
// newSession took the handler's lock.
func (s *Session) open() {
	defer s.inMu.Unlock()
	s.srv.handler.OnOpen(s)
}

// handshakeJSON is the open packet's payload.
func (srv *Server) handshakeJSON(sid string, upgrades bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `{"sid":"`...)
	b = append(b, sid...)
	b = append(b, `","upgrades":`...)
	if upgrades && !srv.cfg.DisableWebSocket {
		b = append(b, `["websocket"]`...)
	} else {
		b = append(b, `[]`...)
	}
	b = append(b, `,"pingInterval":`...)
	b = strconv.AppendInt(b, srv.cfg.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, srv.cfg.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, int64(srv.cfg.MaxPayload), 10)
	return append(b, '}')
}

// droppedHeaders are not kept in a session's Handshake: they describe the
// transport, not the client.
var droppedHeaders = [...]string{
	"Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version",
	"Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Content-Length",
	"Content-Type", "Accept-Encoding", "Pragma", "Cache-Control",
}

// engineParams are the query parameters Engine.IO itself uses; a session's
// Handshake keeps only the application's.
var engineParams = [...]string{"EIO", "transport", "sid", "t", "b64", "j"}

func keptQuery(q url.Values) url.Values {
	for _, k := range engineParams {
		delete(q, k)
	}
	if len(q) == 0 {
		return nil
	}
	return q
}

// keptHeader copies the headers a session keeps, sized to them: nil when
// there are none (a bare websocket handshake), else one map and one
// backing array for all the values. The strings are the request's own.
func keptHeader(h http.Header) http.Header {
	keys, values := 0, 0
	for k, vv := range h {
		if !dropped(k) {
			keys++
			values += len(vv)
		}
	}
	if keys == 0 {
		return nil
	}
	c := make(http.Header, keys)
	all := make([]string, 0, values)
	for k, vv := range h {
		if dropped(k) {
			continue
		}
		n := len(all)
		all = append(all, vv...)
		c[k] = all[n:len(all):len(all)]
	}
	return c
}

func dropped(k string) bool {
	for _, d := range droppedHeaders {
		if k == d {
			return true
		}
	}
	return false
}
