// Package conformance serves the reference handlers that the official
// Engine.IO v4 and Socket.IO v5 protocol test suites expect, built from
// natsock's own engine. See ../../../shared/CONFORMANCE.md (in the
// repository's shared folder) for the behaviour it must show.
//
// One handler serves two paths:
//   - /engine.io/: a raw Engine.IO server that echoes every message as it
//     came (text as text, binary as binary);
//   - /socket.io/: a Socket.IO server whose main namespace emits "auth" on
//     connect, answers "message" with "message-back" and acknowledges
//     "message-with-ack" with the same arguments; "/custom" emits "auth" on
//     connect; any other namespace is refused.
package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// Settings the test suites expect on both paths.
const (
	PingInterval   = 300 * time.Millisecond
	PingTimeout    = 200 * time.Millisecond
	MaxPayload     = 1_000_000
	ConnectTimeout = 1000 * time.Millisecond
)

// Server is the conformance server: an http.Handler for both paths.
type Server struct {
	mux *http.ServeMux
	eio *engine.Server
	sio *socketio.Server
}

// EngineConfig is the Engine.IO configuration shared by both paths.
func EngineConfig(logger *slog.Logger) engine.Config {
	return engine.Config{
		PingInterval: PingInterval,
		PingTimeout:  PingTimeout,
		MaxPayload:   MaxPayload,
		AllowOrigins: []string{"*"},
		AllowEIO3:    true,
		Logger:       logger,
	}
}

// New builds the conformance server. A nil logger discards logs.
func New(logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	eio, err := engine.NewServer(EngineConfig(logger), echo{})
	if err != nil {
		return nil, err
	}
	sio, err := socketio.NewServer(socketio.Config{
		Engine:         EngineConfig(logger),
		ConnectTimeout: ConnectTimeout,
		Logger:         logger,
	})
	if err != nil {
		return nil, errors.Join(err, eio.Close(context.Background()))
	}
	main := sio.Of("/")
	main.OnConnect(emitAuth)
	main.On("message", func(s *socketio.Socket, ev *socketio.Event) {
		_ = s.Emit("message-back", ev.Data)
	})
	main.On("message-with-ack", func(s *socketio.Socket, ev *socketio.Event) {
		_ = ev.Ack(ev.Data)
	})
	sio.Of("/custom").OnConnect(emitAuth)

	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)
	return &Server{mux: mux, eio: eio, sio: sio}, nil
}

func emitAuth(s *socketio.Socket) {
	_ = s.Emit("auth", socketio.Data{Args: []json.RawMessage{s.Auth()}})
}

// ServeHTTP serves /engine.io/ and /socket.io/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SocketIO returns the Socket.IO server, for tests that add handlers.
func (s *Server) SocketIO() *socketio.Server { return s.sio }

// Close closes both servers' sessions and waits for them until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	return errors.Join(s.eio.Close(ctx), s.sio.Close(ctx))
}

// echo is the raw Engine.IO echo handler.
type echo struct{}

func (echo) OnOpen(*engine.Session) {}

func (echo) OnMessage(s *engine.Session, data []byte, binary bool) {
	_ = s.Send(engine.NewMessage(engine.Part{Data: data, Binary: binary}))
}

func (echo) OnClose(*engine.Session, engine.Reason) {}
