package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/internal/ids"
	"github.com/natsock/natsock/protocol/internal/timers"
	"github.com/natsock/natsock/protocol/sio"
)

// The defaults of Config, applied to its zero fields. Where a default
// derives from the engine's settings, the field's comment says how.
const (
	// DefaultConnectTimeout is socket.io's connectTimeout.
	DefaultConnectTimeout = 45 * time.Second
	// DefaultMaxAttachments is socket.io-parser's maxAttachments.
	DefaultMaxAttachments = sio.DefaultMaxAttachments
)

// Config configures a Server. Zero fields take the defaults named.
type Config struct {
	// Engine configures the Engine.IO layer (heartbeats, transports,
	// origins, queue bounds, connection limits). Its Logger defaults to
	// Logger.
	Engine engine.Config
	// ConnectTimeout is the time a client has, after the Engine.IO
	// handshake, to join a namespace (send CONNECT); past it the session
	// is closed with ReasonConnectTimeout. Zero means
	// DefaultConnectTimeout (45s).
	ConnectTimeout time.Duration
	// MaxAttachments bounds the binary attachments one packet may
	// announce; a packet announcing more closes the session with
	// ReasonParseError, as socket.io does. Zero means
	// DefaultMaxAttachments (10).
	MaxAttachments int
	// MaxAttachmentBytes bounds the bytes of one binary packet's
	// attachments together, which the server holds until the last one
	// arrives; past it the session is closed with
	// ReasonAttachmentsTooLarge. Zero means the engine's MaxPayload (so a
	// packet's attachments together may be as large as one message;
	// socket.io bounds each attachment alone by its maxHttpBufferSize).
	MaxAttachmentBytes int
	// AttachmentTimeout bounds the time from a binary packet's text to its
	// last attachment; past it the session is closed with
	// ReasonAttachmentTimeout. Zero means the engine's PingInterval plus
	// PingTimeout (the window in which a live client answers a ping;
	// socket.io has no such bound).
	AttachmentTimeout time.Duration
	// Recovery turns on socket.io's connection state recovery: pids in
	// CONNECT answers, offsets on events sent with Broadcast.EmitOffset,
	// and resumes with replay (see Recovery). Nil means off: nothing of it
	// appears on the wire.
	Recovery Recovery
	// RecoveryHold bounds, for one socket being resumed, the live events
	// held while its missed ones are replayed, and the client's events
	// waiting for its OnConnect (whose bytes Engine.MaxQueueBytes also
	// bounds); past either, the session is closed with
	// ReasonReplayOverflow (the client reconnects and resumes again from
	// the last offset it got, rather than lose events). Zero means
	// DefaultRecoveryHold (4096).
	RecoveryHold int
	// Logger receives the server's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Server is a Socket.IO v5 server (and v4, for socket.io v2 clients, when
// Engine.AllowEIO3 is set) on the Engine.IO server in package engine. Mount
// it at the socket.io path (usually "/socket.io/").
type Server struct {
	cfg Config
	eng *engine.Server

	mu   sync.RWMutex
	nsps map[string]*Namespace

	// observers is replaced whole under mu (copy on write) and read
	// without it.
	observers atomic.Pointer[[]Observer]

	// The resume goroutines: counted in replays while replaysOpen (both
	// under replaysMu), so that Close can wait for them.
	replaysMu   sync.Mutex
	replaysOpen bool
	replays     sync.WaitGroup
}

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("socketio: invalid config")

// Validate reports every problem with c, its Engine part included, at once.
func (c Config) Validate() error {
	var errs []error
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: ConnectTimeout must not be negative", ErrConfig))
	}
	if c.MaxAttachments < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxAttachments must not be negative", ErrConfig))
	}
	if c.MaxAttachmentBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxAttachmentBytes must not be negative", ErrConfig))
	}
	if c.RecoveryHold < 0 {
		errs = append(errs, fmt.Errorf("%w: RecoveryHold must not be negative", ErrConfig))
	}
	if c.AttachmentTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: AttachmentTimeout must not be negative", ErrConfig))
	}
	if err := c.Engine.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NewServer builds a Server with the main namespace "/" already in place.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.MaxAttachments == 0 {
		cfg.MaxAttachments = DefaultMaxAttachments
	}
	if cfg.RecoveryHold == 0 {
		cfg.RecoveryHold = DefaultRecoveryHold
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Engine.Logger == nil {
		cfg.Engine.Logger = cfg.Logger
	}
	srv := &Server{cfg: cfg, nsps: make(map[string]*Namespace), replaysOpen: true}
	eng, err := engine.NewServer(cfg.Engine, handler{srv})
	if err != nil {
		return nil, err
	}
	srv.eng = eng
	ecfg := eng.Config() // with the engine's defaults filled in
	if srv.cfg.MaxAttachmentBytes == 0 {
		srv.cfg.MaxAttachmentBytes = ecfg.MaxPayload
	}
	if srv.cfg.AttachmentTimeout == 0 {
		srv.cfg.AttachmentTimeout = ecfg.PingInterval + ecfg.PingTimeout
	}
	srv.Of("/")
	return srv, nil
}

// ServeHTTP serves the socket.io endpoint.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.eng.ServeHTTP(w, r) }

// Engine returns the Engine.IO server underneath.
func (srv *Server) Engine() *engine.Server { return srv.eng }

// Of returns the namespace called name, creating it. A name without a
// leading "/" gets one.
func (srv *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	n := srv.nsps[name]
	if n == nil {
		n = newNamespace(srv, name)
		srv.nsps[name] = n
	}
	return n
}

// Lookup returns the namespace called name, or nil; unlike Of it never
// creates one. A namespace exists only once the program calls Of: a
// client's CONNECT to any other is refused ("Invalid namespace"), and
// creates nothing.
func (srv *Server) Lookup(name string) *Namespace { return srv.namespace(name) }

func (srv *Server) namespace(name string) *Namespace {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return srv.nsps[name]
}

// Close disconnects every client (reason "server shutting down"), letting
// each write what it has queued, and waits until ctx ends for the server's
// goroutines (replays of resumed sockets included: their contexts end as
// their sockets leave). Clients see their transport close and reconnect,
// possibly to another node. Safe to call twice.
func (srv *Server) Close(ctx context.Context) error {
	err := srv.eng.Close(ctx)
	srv.replaysMu.Lock()
	srv.replaysOpen = false
	srv.replaysMu.Unlock()
	done := make(chan struct{})
	go func() {
		srv.replays.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("socketio: replays still running: %w", ctx.Err())
		}
	}
	return err
}

// startReplay counts a resume goroutine about to start, unless the server
// is closing.
func (srv *Server) startReplay() bool {
	srv.replaysMu.Lock()
	defer srv.replaysMu.Unlock()
	if !srv.replaysOpen {
		return false
	}
	srv.replays.Add(1)
	return true
}

// conn is one Engine.IO session seen from Socket.IO: its sockets (one per
// namespace) and the reassembly of binary packets.
type conn struct {
	srv     *Server
	sess    *engine.Session
	decoder sio.Decoder

	mu        sync.Mutex
	sockets   []*Socket
	joined    bool // a namespace was joined once: the connect timeout is off
	closed    bool
	connTimer timers.Timer

	// A binary packet waiting for its attachments. partial, attachments
	// and partialBytes belong to OnMessage (which the engine serializes);
	// partialDue, under mu, is when the attachments are late (zero when
	// none are due), for partialTimer.
	partial      *sio.Packet
	attachments  [][]byte
	partialBytes int
	partialDue   time.Time
	partialTimer timers.Timer
}

type handler struct{ srv *Server }

func (h handler) OnOpen(sess *engine.Session) {
	c := &conn{
		srv:     h.srv,
		sess:    sess,
		decoder: sio.Decoder{MaxAttachments: h.srv.cfg.MaxAttachments, V4: sess.Protocol() == 3},
	}
	sess.SetData(c)
	c.connTimer.Init(func() {
		c.mu.Lock()
		joined := c.joined
		c.mu.Unlock()
		if !joined {
			h.srv.cfg.Logger.Debug("no CONNECT within the connect timeout, closing", "sid", sess.ID(),
				"remote", sess.Handshake().RemoteAddr, "timeout", h.srv.cfg.ConnectTimeout)
			sess.CloseWith(engine.Reason(ReasonConnectTimeout))
		}
	})
	h.srv.eng.Wheel().After(&c.connTimer, h.srv.cfg.ConnectTimeout)
	c.partialTimer.Init(c.onPartialTimer)
	if sess.Protocol() == 3 {
		// socket.io v2 clients join "/" without asking.
		c.connect("/", nil)
	}
}

func (h handler) OnMessage(sess *engine.Session, data []byte, binary bool) {
	c, ok := sess.Data().(*conn)
	if !ok {
		sess.CloseWith(engine.ReasonParseError) // a message before OnOpen: see OnClose
		return
	}
	if binary {
		if c.partial == nil {
			c.fail("binary message without a packet announcing it", nil)
			return
		}
		c.partialBytes += len(data)
		if c.partialBytes > h.srv.cfg.MaxAttachmentBytes {
			c.endPartial()
			h.srv.cfg.Logger.Debug("binary attachments past MaxAttachmentBytes, closing", "sid", sess.ID(),
				"remote", sess.Handshake().RemoteAddr, "bytes", c.partialBytes, "max", h.srv.cfg.MaxAttachmentBytes)
			sess.CloseWith(engine.Reason(ReasonAttachmentsTooLarge))
			return
		}
		c.attachments = append(c.attachments, data)
		if len(c.attachments) == c.partial.Attachments {
			p, atts := *c.partial, c.attachments
			c.endPartial()
			c.dispatch(p, atts)
		}
		return
	}
	if c.partial != nil {
		c.fail("text packet while binary attachments were due", nil)
		return
	}
	p, err := c.decoder.Decode(data)
	if err != nil {
		c.fail("malformed packet", err)
		return
	}
	if p.Type.IsBinary() && p.Attachments > 0 {
		c.partial = &p
		due := time.Now().Add(h.srv.cfg.AttachmentTimeout)
		c.mu.Lock()
		c.partialDue = due
		c.mu.Unlock()
		h.srv.eng.Wheel().Schedule(&c.partialTimer, due)
		return
	}
	c.dispatch(p, nil)
}

// endPartial forgets the binary packet waiting for attachments.
func (c *conn) endPartial() {
	c.partial, c.attachments, c.partialBytes = nil, nil, 0
	c.mu.Lock()
	c.partialDue = time.Time{}
	c.mu.Unlock()
	c.srv.eng.Wheel().Stop(&c.partialTimer)
}

// onPartialTimer closes the session if a binary packet's attachments are
// still due at their deadline.
func (c *conn) onPartialTimer() {
	c.mu.Lock()
	due := c.partialDue
	c.mu.Unlock()
	if due.IsZero() || time.Now().Before(due) {
		return // completed, or a later packet's deadline: rescheduled
	}
	c.srv.cfg.Logger.Debug("binary attachments not complete within AttachmentTimeout, closing", "sid", c.sess.ID(),
		"remote", c.sess.Handshake().RemoteAddr, "timeout", c.srv.cfg.AttachmentTimeout)
	c.sess.CloseWith(engine.Reason(ReasonAttachmentTimeout))
}

func (h handler) OnClose(sess *engine.Session, reason engine.Reason) {
	c, ok := sess.Data().(*conn)
	if !ok {
		// The engine promises OnOpen first; should a session ever close
		// before it, there is nothing of ours to tear down (and a panic
		// here, on the engine's goroutine, would end the process).
		return
	}
	c.mu.Lock()
	c.closed = true
	socks := c.sockets
	c.sockets = nil
	c.mu.Unlock()
	h.srv.eng.Wheel().Stop(&c.connTimer)
	h.srv.eng.Wheel().Stop(&c.partialTimer)
	for _, s := range socks {
		if left, hooks := s.teardown(Reason(reason), true); left && hooks {
			s.ns.notifyDisconnect(s, Reason(reason))
		}
	}
}

// OnUpgrade tells the UpgradeObservers of the connection's sockets. The
// engine calls it serialized with OnMessage and OnClose, so every socket
// that connected before it is in c.sockets, and reported Connected.
func (h handler) OnUpgrade(sess *engine.Session) {
	c, ok := sess.Data().(*conn)
	if !ok {
		return
	}
	var obs []UpgradeObserver
	for _, o := range h.srv.observing() {
		if uo, ok := o.(UpgradeObserver); ok {
			obs = append(obs, uo)
		}
	}
	if obs == nil {
		return
	}
	c.mu.Lock()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.ns.mu.Lock()
		s.mu.Lock()
		connected := s.connectedLocked()
		s.mu.Unlock()
		if connected { // not one that left meanwhile, reported Disconnected
			for _, o := range obs {
				o.Upgraded(s)
			}
		}
		s.ns.mu.Unlock()
	}
}

var _ engine.UpgradeHandler = handler{}

// fail closes the connection for a protocol violation.
func (c *conn) fail(what string, err error) {
	c.srv.cfg.Logger.Debug("socket.io protocol violation, closing", "sid", c.sess.ID(),
		"remote", c.sess.Handshake().RemoteAddr, "problem", what, "err", err)
	c.sess.CloseWith(engine.ReasonParseError)
}

func (c *conn) socket(ns string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sockets {
		if s.ns.name == ns {
			return s
		}
	}
	return nil
}

func (c *conn) dispatch(p sio.Packet, attachments [][]byte) {
	ns := p.Namespace
	var query url.Values
	if c.sess.Protocol() == 3 {
		if i := strings.IndexByte(ns, '?'); i >= 0 {
			query, _ = url.ParseQuery(ns[i+1:])
			ns = ns[:i]
		}
	}
	switch p.Type {
	case sio.Connect:
		auth := json.RawMessage(p.Data)
		if query != nil {
			flat := make(map[string]string, len(query))
			for k := range query {
				flat[k] = query.Get(k)
			}
			auth, _ = json.Marshal(flat)
		}
		c.connect(ns, auth)
	case sio.Disconnect:
		if s := c.socket(ns); s != nil {
			c.detach(s, ReasonClientNamespaceDisconnect, false)
		}
	case sio.Event, sio.BinaryEvent:
		s := c.socket(ns)
		if s == nil {
			c.fail("event for a namespace not joined", nil)
			return
		}
		name, err := sio.EventName(p.Elems[0])
		if err != nil {
			c.fail("malformed event", err)
			return
		}
		ev := &Event{Name: name, socket: s, ackID: p.ID}
		ev.Args = rawArgs(p.Elems[1:])
		ev.Attachments = attachments
		s.receive(ev)
	case sio.Ack, sio.BinaryAck:
		s := c.socket(ns)
		if s == nil {
			c.fail("ack for a namespace not joined", nil)
			return
		}
		s.onAck(p.ID, Data{Args: rawArgs(p.Elems), Attachments: attachments})
	default:
		c.fail("packet type a client may not send: "+p.Type.String(), nil)
	}
}

func rawArgs(args [][]byte) []json.RawMessage {
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

var emptyAuth = json.RawMessage(`{}`)

// connect joins the namespace called name, if it exists and its
// middlewares agree.
func (c *conn) connect(name string, auth json.RawMessage) {
	v3 := c.sess.Protocol() == 3
	ns := c.srv.namespace(name)
	if ns == nil {
		c.refuse(name, &ConnectError{Message: "Invalid namespace"})
		return
	}
	if c.socket(name) != nil {
		return // already joined: a duplicate CONNECT changes nothing
	}
	if len(auth) == 0 {
		auth = emptyAuth
	}
	s := &Socket{ns: ns, conn: c, auth: auth}
	if v3 {
		// socket.io v2 clients derive the id themselves.
		s.id = c.sess.ID()
		if name != "/" {
			s.id = name + "#" + s.id
		}
	} else {
		s.id = ids.New()
	}
	ns.mu.RLock()
	mws := ns.middlewares
	ns.mu.RUnlock()
	for _, mw := range mws {
		if err := mw(s); err != nil {
			s.teardown("", false) // drops the rooms it joined
			var ce *ConnectError
			if !errors.As(err, &ce) {
				ce = &ConnectError{Message: err.Error()}
			}
			c.refuse(name, ce)
			return
		}
	}
	pid, resumed := c.recover(s, auth)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.teardown("", false)
		resumed.abandon(c.srv)
		return
	}
	c.sockets = append(c.sockets, s)
	c.joined = true
	c.mu.Unlock()
	c.srv.eng.Wheel().Stop(&c.connTimer)
	ns.mu.Lock()
	s.mu.Lock()
	if s.state != stateJoining {
		// Disconnected by a middleware's goroutine before it could join.
		s.mu.Unlock()
		ns.mu.Unlock()
		c.forget(s)
		resumed.abandon(c.srv)
		return
	}
	var (
		ctx context.Context
		rs  *resumeState
	)
	if resumed != nil {
		if id := resumed.r.ID; id != "" && ns.sockets[id] == nil {
			s.id = id
		}
		s.recovered = true
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(context.Background())
		rs = &resumeState{cancel: cancel, holding: true, done: make(chan struct{}), last: resumed.req.Offset}
		s.rs = rs
		s.resuming.Store(true)
	}
	s.state = stateConnected
	for r := range s.rooms { // joined by the middlewares
		ns.addToRoomLocked(r, s)
	}
	s.mu.Unlock()
	ns.sockets[s.id] = s
	var payload []byte
	if !v3 {
		payload = sio.AppendQuote([]byte(`{"sid":`), s.id)
		if pid != "" {
			payload = sio.AppendQuote(append(payload, `,"pid":`...), pid)
		}
		payload = append(payload, '}')
	}
	// Queued under the namespace's lock, which a broadcast holds while it
	// queues: the CONNECT answer comes before any broadcast to the socket.
	_ = c.sess.Send(encodeControl(sio.Connect, name, payload))
	for _, o := range c.srv.observing() {
		o.Connected(s)
	}
	onConnect := ns.onConnect
	ns.mu.Unlock()
	if resumed != nil {
		// The replay, then OnConnect, run on their own goroutine: the
		// connection's other namespaces are not kept waiting.
		go s.resume(ctx, rs, resumed.r.Replay)
		return
	}
	if onConnect != nil {
		onConnect(s)
	}
}

// resumeDecision is an accepted resume, its goroutine already counted.
type resumeDecision struct {
	req ResumeRequest
	r   Resumption
}

// abandon uncounts the goroutine of a resume that will not run.
func (d *resumeDecision) abandon(srv *Server) {
	if d != nil {
		srv.replays.Done()
	}
}

// recover returns the pid for s's CONNECT answer ("" when recovery is off
// or no pid could be had) and, when s resumes a session, the decision.
func (c *conn) recover(s *Socket, auth json.RawMessage) (string, *resumeDecision) {
	rec := c.srv.cfg.Recovery
	if rec == nil || c.sess.Protocol() == 3 {
		return "", nil // socket.io v2 clients know nothing of recovery
	}
	log := c.srv.cfg.Logger
	req, ok, err := parseResume(auth)
	if err != nil {
		log.Debug("resume refused: unusable recovery fields in the CONNECT auth", "sid", c.sess.ID(),
			"namespace", s.ns.name, "remote", c.sess.Handshake().RemoteAddr, "err", err)
	}
	if ok {
		r, err := rec.Resume(s, req)
		switch {
		case err != nil:
			log.Debug("resume refused", "sid", c.sess.ID(), "namespace", s.ns.name,
				"remote", c.sess.Handshake().RemoteAddr, "err", err)
		case c.srv.startReplay():
			return req.PID, &resumeDecision{req: req, r: r}
		}
	}
	pid, err := rec.NewPID(s)
	if err != nil {
		log.Warn("no recovery pid for a socket: it connects without one and cannot resume", "sid", c.sess.ID(),
			"namespace", s.ns.name, "remote", c.sess.Handshake().RemoteAddr, "err", err)
		return "", nil
	}
	return pid, nil
}

// refuse answers a CONNECT with CONNECT_ERROR.
func (c *conn) refuse(name string, ce *ConnectError) {
	payload := ce.payload()
	if c.sess.Protocol() == 3 {
		// socket.io v2 clients get the data, or else the message, alone.
		payload = ce.Data
		if len(payload) == 0 {
			payload = sio.AppendQuote(nil, ce.Message)
		}
	}
	_ = c.sess.Send(encodeControl(sio.ConnectError, name, payload))
}

// detach forgets a socket that leaves while its session stays open. With
// tell, the client gets a DISCONNECT for the namespace (once, whoever else
// detaches the socket at the same time).
func (c *conn) detach(s *Socket, reason Reason, tell bool) {
	c.forget(s)
	left, hooks := s.teardown(reason, false)
	if !left {
		return
	}
	if tell {
		_ = c.sess.Send(encodeControl(sio.Disconnect, s.ns.name, nil))
	}
	if hooks {
		s.ns.notifyDisconnect(s, reason)
	}
}

// forget takes s out of the connection's sockets.
func (c *conn) forget(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.sockets {
		if x == s {
			c.sockets = append(c.sockets[:i], c.sockets[i+1:]...)
			return
		}
	}
}

func (n *Namespace) notifyDisconnecting(s *Socket, reason Reason) {
	n.mu.RLock()
	fn := n.onDisconnecting
	n.mu.RUnlock()
	if fn != nil {
		fn(s, reason)
	}
}

func (n *Namespace) notifyDisconnect(s *Socket, reason Reason) {
	n.mu.RLock()
	fn := n.onDisconnect
	n.mu.RUnlock()
	if fn != nil {
		fn(s, reason)
	}
}
