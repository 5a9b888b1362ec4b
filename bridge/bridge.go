package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/bridge/lifecycle"
	"github.com/natsock/natsock/protocol/admin"
	"github.com/natsock/natsock/protocol/socketio"
)

// Bridge is one natsock node: socket.io clients on one side, NATS on the
// other.
type Bridge struct {
	cfg     Config
	log     *slog.Logger
	mapping *Mapping
	inbound *Inbound
	sio     *socketio.Server

	embedded *server.Server
	// nc is set once in Run, before subscribing and serving; code that may
	// run earlier (nats.go's callbacks, Ready) uses conn or its argument.
	nc         *nats.Conn
	conn       atomic.Pointer[nats.Conn]
	subs       []*nats.Subscription // written by Run only
	subscribed atomic.Bool          // every --map subscription is made
	ready      atomic.Bool          // ... and registered on the server
	// requests sends the NATS requests behind acknowledged emits and
	// routes their replies, within the in-flight bounds (requests.go).
	requests requestMux
	// wg counts the goroutines shutdown waits for, such as the readiness
	// checks after a NATS connection event.
	wg sync.WaitGroup
	// natsClosed is closed by nats.go's closed callback, the last one it
	// makes for the connection: shutdown waits on it after the drain.
	natsClosed      chan struct{}
	closeNATSClosed func()

	refusedOrigins sync.Map // origin -> struct{}: each is logged once
	reservedLogged sync.Map // event -> struct{}: each is logged once
	tooLargeLogged sync.Map // --map rule -> struct{}: each is logged once
	badRoomLogged  sync.Map // *Rule -> struct{}: each is logged once

	// namespaces are the ones the --map rules name, declared in New; root
	// is "/". No other namespace exists.
	namespaces map[string]*socketio.Namespace
	// sockets holds a *socketState per connected socket, when a rate limit
	// or lifecycle events need one (see socketstate.go).
	sockets   sync.Map
	rec       *recovery // nil unless Config.Recovery; set by Run before it serves (recovery.go)
	recStats  RecoveryStats
	lifecycle *lifecycle.Publisher // nil unless LifecycleSubject is set; started by Run
	admin     *admin.Admin         // nil unless Config.AdminUI (see adminui.go)
	auth      *auth.Authenticator  // nil when Config.Auth is off (see authenticate.go)
	authStats AuthStats

	// The current NATS outage: when it began (unix nanoseconds, 0 while
	// connected), the inbound emits it cost, and whether that was logged.
	outageStart   atomic.Int64
	outageDropped atomic.Uint64
	outageLogged  atomic.Bool
	// reconnectDelay is how long nats.go waits between passes over the
	// server list; tests replace it to hold a reconnect.
	reconnectDelay func(attempts int) time.Duration

	ln      net.Listener
	mux     *http.ServeMux // Handler's; Handle adds to it
	started chan struct{}
	stopped atomic.Bool
	stats   Stats
	sse     sseHub // the GET /events streams (see sse.go)

	// Monitoring's counters (see observe.go): one MapStats a --map rule,
	// by its index; one InboundStats a --inbound rule, by its event (the
	// map is written in New only); the emit latency histograms.
	mapStats     []MapStats
	inboundStats map[string]*InboundStats
	latency      EmitLatency
}

// Stats are a bridge's counters.
type Stats struct {
	Received    atomic.Uint64 // NATS messages mapped to an event
	Reserved    atomic.Uint64 // NATS messages dropped: their event name is reserved by socket.io
	TooLarge    atomic.Uint64 // NATS messages dropped: larger than a client's whole queue (MaxQueueBytes)
	BufferFull  atomic.Uint64 // inbound emits refused: NATS away and its reconnect buffer full
	Emitted     atomic.Uint64 // socket deliveries queued
	Published   atomic.Uint64 // inbound emits published
	Requests    atomic.Uint64 // inbound emits requested (with ack)
	Unmapped    atomic.Uint64 // client events with no inbound rule
	BadInbound  atomic.Uint64 // client events refused (bad arguments, NATS error)
	RequestErrs atomic.Uint64 // requests answered with an error
	BadRoom     atomic.Uint64 // NATS messages dropped: their rule's room cannot be built from the subject
	Refused     atomic.Uint64 // client events refused by their inbound rule (claims, emit list)
	RateLimited atomic.Uint64 // client events dropped: over the socket's inbound rate limit
}

// New checks cfg and builds a Bridge. Nothing starts until Run.
func New(cfg Config) (*Bridge, error) {
	rules, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg.setDefaults()
	b := &Bridge{
		cfg:            cfg,
		log:            cfg.Logger,
		mapping:        rules.mapping,
		inbound:        rules.inbound,
		started:        make(chan struct{}),
		natsClosed:     make(chan struct{}),
		reconnectDelay: reconnectDelay,
		mapStats:       make([]MapStats, len(rules.mapping.Rules())),
		inboundStats:   make(map[string]*InboundStats),
	}
	for _, r := range rules.inbound.Rules() {
		b.inboundStats[r.Event] = new(InboundStats)
	}
	b.closeNATSClosed = sync.OnceFunc(func() { close(b.natsClosed) })
	// Before the socket.io server, whose timers would outlive a failed New.
	if b.auth, err = newAuthenticator(&cfg); err != nil {
		return nil, err
	}
	scfg := cfg.SocketIO
	scfg.Engine.OnOriginRefused = b.originRefused
	cfg.adminUIOrigins(&scfg)
	if cfg.Recovery {
		scfg.Recovery = socketRecovery{b}
	}
	srv, err := socketio.NewServer(scfg)
	if err != nil {
		return nil, err
	}
	b.sio = srv
	if cfg.LifecycleSubject != "" {
		b.lifecycle = lifecycle.New(cfg.LifecycleSubject, cfg.NodeName, 0, b.log)
	}
	b.declareNamespaces()
	if err := b.startAdminUI(); err != nil {
		return nil, err
	}
	b.mux = b.newMux()
	return b, nil
}

// Stats returns the bridge's counters.
func (b *Bridge) Stats() *Stats { return &b.stats }

// Connections returns the number of open socket.io connections (Engine.IO
// sessions).
func (b *Bridge) Connections() int { return b.sio.Engine().Count() }

// Addr returns the HTTP listener's address once Run has started it.
func (b *Bridge) Addr() net.Addr {
	<-b.started
	if b.ln == nil {
		return nil
	}
	return b.ln.Addr()
}

// NATSURL returns the URL of the NATS server in use (the embedded one's when
// there is one) once Run has started.
func (b *Bridge) NATSURL() string {
	<-b.started
	if b.embedded != nil {
		return b.embedded.ClientURL()
	}
	return b.cfg.NATSURL
}

// Ready reports whether NATS is connected and every subscription is
// registered: what /readyz answers.
func (b *Bridge) Ready() bool {
	nc := b.conn.Load()
	return nc != nil && nc.IsConnected() && b.ready.Load()
}

// Run starts the bridge and serves until ctx ends, then shuts down in a fixed
// order: stop accepting new connections (503), drain NATS, disconnect the
// sockets (reason "server shutting down", each after its queue is
// written), close the listener, stop the embedded NATS. It returns nil
// after a clean shutdown within Config.ShutdownTimeout.
func (b *Bridge) Run(ctx context.Context) (err error) {
	startedOnce := sync.OnceFunc(func() { close(b.started) })
	defer startedOnce()
	defer func() {
		if err != nil && !b.stopped.Load() {
			// Run failed before it served (NATS, the recovery stream, the
			// listener): the socket.io server New made, and its timers, go
			// too.
			ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
			_ = b.sio.Close(ctx)
			cancel()
		}
	}()
	if b.cfg.NATSURL == "" {
		storeDir := ""
		if b.cfg.Recovery {
			storeDir = b.cfg.EmbeddedNATSStoreDir
		}
		if b.embedded, err = startEmbedded(b.cfg.EmbeddedNATSListen, storeDir, b.log); err != nil {
			return err
		}
		defer b.embedded.Shutdown()
	}
	url := b.cfg.NATSURL
	if b.embedded != nil {
		url = b.embedded.ClientURL()
	}
	opts, err := b.natsOptions()
	if err != nil {
		return err
	}
	if b.nc, err = nats.Connect(url, opts...); err != nil {
		return fmt.Errorf("bridge: NATS %s: %w", url, err)
	}
	b.conn.Store(b.nc)
	defer b.nc.Close()
	if b.cfg.Recovery {
		// Live delivery reads the recovery stream instead of core
		// subscriptions (see recovery.go).
		if err := b.startRecovery(ctx); err != nil {
			return err
		}
		defer b.stopRecovery() // when Run fails before shutdown; safe twice
		b.subscribed.Store(true)
		b.natsChanged(b.nc)
	} else if err := b.subscribe(); err != nil {
		return err
	}
	if b.lifecycle != nil {
		b.lifecycle.Start(b.nc)
		defer b.lifecycle.Close() // when Run fails before shutdown; safe twice
	}

	b.ln, err = net.Listen("tcp", b.cfg.Listen)
	if err != nil {
		return fmt.Errorf("bridge: listen on %s: %w", b.cfg.Listen, err)
	}
	ecfg := b.sio.Engine().Config()
	hs := &http.Server{
		Handler: b.Handler(),
		// A client has HandshakeTimeout to send its request headers, the
		// websocket upgrade included; reads and writes after that are the
		// engine's to bound (see engine.Config.WriteTimeout), since a held
		// polling GET or a websocket lives far longer than any one timeout.
		ReadHeaderTimeout: b.cfg.HandshakeTimeout,
		// A polling client makes a request at least every ping interval;
		// an idle keep-alive connection past two heartbeats is nobody's.
		IdleTimeout: 2 * (ecfg.PingInterval + ecfg.PingTimeout),
		ErrorLog:    slog.NewLogLogger(b.log.Handler(), slog.LevelDebug),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(b.ln) }()
	b.log.Info("natsock serving socket.io", "addr", b.ln.Addr().String(), "path", b.cfg.Path,
		"maps", len(b.mapping.Rules()), "inbound", len(b.inbound.Rules()))
	startedOnce()

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("bridge: http: %w", err)
	}
	return b.shutdown(hs)
}

// shutdown runs the fixed shutdown order within ShutdownTimeout.
func (b *Bridge) shutdown(hs *http.Server) error {
	if !b.stopped.CompareAndSwap(false, true) {
		return nil
	}
	b.log.Info("shutting down", "timeout", b.cfg.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
	defer cancel()
	// 1. Stop accepting: a new socket.io connection gets 503. The listener
	// stays open until the sockets are closed (step 4): a polling client
	// makes a new request, on a new TCP connection maybe, to collect its
	// last messages and the close packet.
	b.sio.Engine().StopAccepting()
	// 2. Drain NATS: no new messages, the ones in hand are emitted.
	b.ready.Store(false)
	// Lifecycle events queued so far (and node_down) go to NATS before it
	// drains; the sockets' own disconnects after this are covered by
	// node_down (see package lifecycle).
	if b.lifecycle != nil {
		b.lifecycle.Close()
	}
	if b.admin != nil {
		b.admin.Close()
	}
	b.stopRecovery()
	var errs []error
	switch err := b.nc.Drain(); {
	case err == nil, errors.Is(err, nats.ErrConnectionClosed):
	case errors.Is(err, nats.ErrConnectionReconnecting):
		// NATS is away (restarting with us, say): there is nothing in
		// hand to drain, and waiting for it would only delay the exit.
		b.log.Warn("NATS is not connected at shutdown; closing without draining")
		b.nc.Close()
	default:
		errs = append(errs, fmt.Errorf("bridge: NATS drain: %w", err))
	}
	// The closed callback comes after every callback nats.go queued
	// before it, so no readiness check starts once it has run.
	select {
	case <-b.natsClosed:
	case <-ctx.Done():
	}
	// 3. Disconnect the sockets, their queues written first.
	b.closeSSE() // the event streams too, each after its queue
	if err := b.sio.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("bridge: closing sockets: %w", err))
	}
	// 4. Close the listener and wait for the requests in flight.
	if err := hs.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("bridge: http shutdown: %w", err))
	}
	b.wg.Wait()
	// 5. The embedded NATS stops in Run's deferred call.
	return errors.Join(errs...)
}

// Handler is natsock's HTTP surface: socket.io at Config.Path, /healthz and
// /readyz, and what Handle added.
func (b *Bridge) Handler() http.Handler { return b.mux }

// Handle serves pattern (an http.ServeMux pattern) on the bridge's
// listener beside socket.io, /healthz and /readyz: the command adds
// /metrics and the page at / this way. Call it before Run. Like
// http.ServeMux.Handle, it panics on a pattern that conflicts with one
// already served.
func (b *Bridge) Handle(pattern string, h http.Handler) { b.mux.Handle(pattern, h) }

// newMux serves socket.io at Config.Path, /healthz and /readyz.
func (b *Bridge) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(b.cfg.Path, b.sio)
	mux.HandleFunc(SSEPath, b.serveSSE)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !b.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: NATS not connected or subscriptions not registered\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// subscribe registers one subscription per --map rule and waits until the
// server has them (when NATS is reachable; otherwise they register on
// connect and readiness follows).
func (b *Bridge) subscribe() error {
	for _, r := range b.mapping.Rules() {
		sub, err := b.nc.Subscribe(r.Pattern, b.deliver(r))
		if err != nil {
			return fmt.Errorf("bridge: subscribe %q: %w", r.Pattern, err)
		}
		if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
			return fmt.Errorf("bridge: subscribe %q: %w", r.Pattern, err)
		}
		b.subs = append(b.subs, sub)
	}
	b.subscribed.Store(true)
	b.natsChanged(b.nc)
	return nil
}

// natsChanged re-checks readiness after a connection event. nats.go calls
// it on its own goroutine, possibly before Run has stored the connection
// or made the subscriptions: it reads neither b.nc nor b.subs.
func (b *Bridge) natsChanged(nc *nats.Conn) {
	if !b.subscribed.Load() || !nc.IsConnected() || b.stopped.Load() {
		b.ready.Store(false)
		return
	}
	b.wg.Go(func() {
		if err := nc.FlushTimeout(5 * time.Second); err == nil && nc.IsConnected() && !b.stopped.Load() {
			b.ready.Store(true)
		}
	})
}

// originRefused logs a refused browser origin once.
func (b *Bridge) originRefused(origin string, r *http.Request) {
	if _, seen := b.refusedOrigins.LoadOrStore(origin, struct{}{}); !seen {
		b.log.Warn("refused a cross-origin request; allow it with --cors-origin "+origin,
			"origin", origin, "remote", r.RemoteAddr)
	}
}

// errorData is the ack an inbound emit gets when it cannot be served.
func errorData(format string, args ...any) socketio.Data {
	msg, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, args...)})
	return socketio.Data{Args: []json.RawMessage{msg}}
}
