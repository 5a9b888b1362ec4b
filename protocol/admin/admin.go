package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsock/natsock/protocol/socketio"
)

// The features the Admin UI reads from the config event, as
// @socket.io/admin-ui names them.
const (
	featureEmit        = "EMIT"
	featureJoin        = "JOIN"
	featureLeave       = "LEAVE"
	featureDisconnect  = "DISCONNECT"
	featureMJoin       = "MJOIN"
	featureMLeave      = "MLEAVE"
	featureMDisconnect = "MDISCONNECT"
	featureAllEvents   = "ALL_EVENTS"
)

// queueSize bounds the updates waiting for the admin goroutine. Past it
// updates are dropped and the watchers get the whole socket list again at
// the next stats tick.
const queueSize = 4096

// ErrNamespaceTaken is returned by New when the admin namespace already
// exists: the application serves it, so the Admin UI may not.
var ErrNamespaceTaken = errors.New("admin: the namespace is already served by the application")

// Admin is the server side of the socket.io Admin UI on one socketio.Server.
// Create it with New; Close stops it.
type Admin struct {
	cfg      Config
	srv      *socketio.Server
	ns       *socketio.Namespace
	log      *slog.Logger
	guard    *guard
	started  time.Time
	features []string
	pid      int
	hostname string

	watchers atomic.Int64 // admin sockets connected
	closed   atomic.Bool
	resync   atomic.Bool // an update was dropped: send every watcher the list again
	queue    chan update

	// The admin goroutine runs while a watcher is connected.
	runMu sync.Mutex
	stop  chan struct{} // nil while it does not run
	done  chan struct{}

	limitLogged atomic.Int64 // unix nanoseconds the global login limit was last logged

	// leaving holds, while a watched socket disconnects, the rooms it
	// leaves, which socketio reports (Left) before the disconnect and
	// socket.io's admin after it. Entries live from a socket's first Left
	// to its Disconnected, both under its namespace's lock.
	mu      sync.Mutex
	leaving map[*socketio.Socket][]string
}

// update is one event for every watcher, made on the goroutine of the
// change and emitted by the admin goroutine.
type update struct {
	event string
	data  socketio.Data
}

// New serves the Admin UI on srv, in the namespace cfg.Namespace, which it
// creates: the application must not have created it. While a UI is
// connected, one goroutine sends it what changes.
func New(srv *socketio.Server, cfg Config) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if srv.Lookup(cfg.Namespace) != nil {
		return nil, fmt.Errorf("%w: %s", ErrNamespaceTaken, cfg.Namespace)
	}
	a := &Admin{
		cfg:     cfg,
		srv:     srv,
		log:     cfg.Logger.With("component", "admin-ui"),
		guard:   newGuard(&cfg, time.Now),
		started: time.Now(),
		pid:     os.Getpid(),
		queue:   make(chan update, queueSize),
		leaving: make(map[*socketio.Socket][]string),
	}
	a.hostname, _ = os.Hostname()
	if cfg.ReadOnly {
		a.features = []string{featureAllEvents}
	} else {
		a.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect,
			featureMJoin, featureMLeave, featureMDisconnect, featureAllEvents}
	}
	srv.Observe(observer{a})
	a.ns = srv.Of(cfg.Namespace)
	a.ns.Use(a.authenticate)
	a.ns.OnConnect(a.watcherConnected)
	a.ns.OnDisconnect(a.watcherDisconnected)
	for _, name := range []string{cmdEmit, cmdJoin, cmdLeave, cmdDisconnect} {
		if cfg.ReadOnly {
			a.ns.On(name, a.refuseCommand)
		} else {
			a.ns.On(name, a.onCommand)
		}
	}
	return a, nil
}

// Close stops the admin goroutine, if a UI is connected, and any later
// one: connected UIs stay connected, but are sent nothing more. The
// namespace stays (socketio has no way to remove one); its sockets go when
// the server closes, which stops the goroutine too. Safe to call twice.
func (a *Admin) Close() {
	a.runMu.Lock()
	a.closed.Store(true)
	stop, done := a.stop, a.done
	a.stop = nil
	a.runMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Namespace returns the admin namespace.
func (a *Admin) Namespace() *socketio.Namespace { return a.ns }

// loginSession is an admin socket's Data after a password login: the
// session id the UI is sent once it has connected.
type loginSession string

// authenticate is the admin namespace's middleware: a session id from an
// earlier login, or the username and password.
func (a *Admin) authenticate(s *socketio.Socket) error {
	remote := s.Handshake().RemoteAddr
	v, session := a.guard.check(remote, parseCredentials(s.Auth()))
	switch v {
	case admitSession:
		a.log.Info("admin UI connected with a session", "remote", remote, "sid", s.ID())
		return nil
	case admitLogin:
		a.log.Info("admin UI logged in", "remote", remote, "sid", s.ID())
		s.SetData(loginSession(session))
		return nil
	case refuseMissing:
		a.log.Debug("admin UI refused: no credentials, or an unknown session", "remote", remote)
		return &socketio.ConnectError{Message: MessageInvalidCredentials}
	case refuseLimited:
		a.logLimited(remote)
		return &socketio.ConnectError{Message: MessageTooManyAttempts}
	default:
		a.log.Warn("admin UI login refused: wrong username or password", "remote", remote)
		return &socketio.ConnectError{Message: MessageInvalidCredentials}
	}
}

// logLimited logs a login refused by the limits: at Warn at most once a
// FailureWindow, at Debug otherwise.
func (a *Admin) logLimited(remote string) {
	now := time.Now().UnixNano()
	last := a.limitLogged.Load()
	if now-last >= int64(a.cfg.FailureWindow) && a.limitLogged.CompareAndSwap(last, now) {
		a.log.Warn("admin UI login refused unchecked: too many failed logins (from this address, or in all); logged once a window",
			"remote", remote, "max_failures", a.cfg.MaxFailures, "window", a.cfg.FailureWindow, "login_rate", a.cfg.LoginRate)
		return
	}
	a.log.Debug("admin UI login refused unchecked: too many failed logins", "remote", remote)
}

// watcherConnected greets an admin socket: its session id after a login,
// the features, every socket, and the server's stats.
func (a *Admin) watcherConnected(s *socketio.Socket) {
	a.runMu.Lock()
	if a.watchers.Add(1) == 1 && !a.closed.Load() {
		a.stop, a.done = make(chan struct{}), make(chan struct{})
		go a.run(a.stop, a.done)
	}
	a.runMu.Unlock()
	if id, ok := s.Data().(loginSession); ok {
		_ = s.Emit("session", mustArgs(string(id)))
	}
	_ = s.Emit("config", mustArgs(map[string][]string{"supportedFeatures": a.features}))
	list := a.snapshot()
	if err := s.Emit("all_sockets", list); err != nil {
		a.log.Warn("admin UI: could not send the socket list; raise the queue bound (max_queue_bytes) to watch this many sockets",
			"remote", s.Handshake().RemoteAddr, "bytes", len(list.Args[0]), "err", err)
	}
	_ = s.Emit("server_stats", a.stats())
}

func (a *Admin) watcherDisconnected(s *socketio.Socket, reason socketio.Reason) {
	a.runMu.Lock()
	var stop, done chan struct{}
	if a.watchers.Add(-1) == 0 && a.stop != nil {
		stop, done = a.stop, a.done
		a.stop = nil
	}
	a.runMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// run is the admin goroutine: it emits the updates the observer queues,
// and every StatsInterval the server's stats.
// When stopped it drops what is left in the queue, which a later UI's
// all_sockets supersedes.
func (a *Admin) run(stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(a.cfg.StatsInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			for {
				select {
				case <-a.queue:
				default:
					return
				}
			}
		case u := <-a.queue:
			if a.watchers.Load() == 0 {
				continue
			}
			a.ns.Emit(u.event, u.data)
		case <-tick.C:
			if a.watchers.Load() == 0 {
				continue
			}
			if a.resync.CompareAndSwap(true, false) {
				a.ns.Emit("all_sockets", a.snapshot())
			}
			a.ns.Emit("server_stats", a.stats())
		}
	}
}

// snapshot is the all_sockets event's argument: every connected socket of
// every namespace.
func (a *Admin) snapshot() socketio.Data {
	var list []socketInfo
	for _, ns := range a.srv.Namespaces() {
		for _, s := range ns.Sockets() {
			list = append(list, a.describe(s, s.Rooms()))
		}
	}
	if list == nil {
		list = []socketInfo{}
	}
	return mustArgs(list)
}

// serverStats is the server_stats event's argument. It has no
// aggregatedEvents (nor pollingClientsCount): natsock does not advertise
// AGGREGATED_EVENTS, whose packet and byte counts its engine does not keep.
type serverStats struct {
	ServerID     string       `json:"serverId"`
	Hostname     string       `json:"hostname"`
	PID          int          `json:"pid"`
	Uptime       float64      `json:"uptime"` // seconds
	ClientsCount int          `json:"clientsCount"`
	Namespaces   []namespaces `json:"namespaces"`
}

type namespaces struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

func (a *Admin) stats() socketio.Data {
	st := serverStats{
		ServerID:     a.cfg.ServerID,
		Hostname:     a.hostname,
		PID:          a.pid,
		Uptime:       time.Since(a.started).Seconds(),
		ClientsCount: a.srv.Engine().Count(),
		Namespaces:   []namespaces{},
	}
	for _, ns := range a.srv.Namespaces() {
		st.Namespaces = append(st.Namespaces, namespaces{Name: ns.Name(), SocketsCount: ns.Len()})
	}
	return mustArgs(st)
}

// describe is a socket as the UI lists it, with rooms as given.
func (a *Admin) describe(s *socketio.Socket, rooms []string) socketInfo {
	slices.Sort(rooms)
	data := emptyData
	if a.cfg.SocketData != nil {
		data = socketData(a.cfg.SocketData(s))
	}
	return socketInfo{
		Data:      data,
		ID:        s.ID(),
		ClientID:  clientID(s),
		Transport: s.Transport(),
		NSP:       s.Namespace().Name(),
		Handshake: describeHandshake(s.Handshake(), a.cfg.RedactQuery),
		Rooms:     append([]string{s.ID()}, rooms...),
	}
}

// clientIDLen is how much of a connection's Engine.IO session id the UI
// is shown, as @socket.io/admin-ui shows it.
const clientIDLen = 12

// clientID names the socket's connection, which the UI groups its sockets
// by: the start of its Engine.IO session id, never the whole id (which
// admits a long-polling client's requests to its session).
func clientID(s *socketio.Socket) string {
	id := s.ClientID()
	return id[:min(len(id), clientIDLen)]
}

// timestamp is the UI's form of an event's time (a JavaScript Date, as
// JSON).
func timestamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// enqueue hands an update to the admin goroutine without blocking; when
// the queue is full the update is dropped and the watchers get the whole
// list again at the next tick.
func (a *Admin) enqueue(u update) {
	select {
	case a.queue <- u:
	default:
		a.resync.Store(true)
	}
}

// mustArgs builds event arguments from values encoding/json always
// encodes.
func mustArgs(values ...any) socketio.Data {
	d, err := socketio.Args(values...)
	if err != nil {
		panic("admin: " + err.Error())
	}
	return d
}
