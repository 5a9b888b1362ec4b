package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zishang520/socket.io/clients/engine/v3/transports"
	sioclient "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// goClientWait bounds every wait for the Go client.
const goClientWait = 10 * time.Second

// connectGoClient connects zishang520's client to the server at url. Under
// a heavy load the client, now and then, opens its Engine.IO session and
// never sends CONNECT (a race inside the client library: the server sees
// the session and no CONNECT, and stays quiet as the protocol asks); that
// attempt is abandoned for a new client, at most twice.
func connectGoClient(t *testing.T, url string, tr *types.Set[transports.TransportCtor], srv *socketio.Server) (*sioclient.Socket, events) {
	t.Helper()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		opts := sioclient.DefaultOptions()
		opts.SetTransports(tr)
		opts.SetAuth(map[string]any{"token": "go"})
		opts.SetAutoConnect(false)
		opts.SetReconnection(false)
		opts.SetForceNew(true)
		opts.SetTimeout(goClientWait)
		client, err := sioclient.Connect(url+"/", opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Disconnect() })
		connected := make(chan struct{}, 1)
		client.On("connect", func(...any) {
			select {
			case connected <- struct{}{}:
			default:
			}
		})
		connectErr := make(chan any, 1)
		client.On("connect_error", func(args ...any) {
			select {
			case connectErr <- args:
			default:
			}
		})
		ev := listen(client, "auth", "message-back", "news")
		client.Connect()
		wait := goClientWait / 2
		if attempt == attempts {
			wait = goClientWait
		}
		select {
		case <-connected:
			return client, ev
		case err := <-connectErr:
			t.Fatalf("connect_error: %v", err)
		case <-time.After(wait):
			if attempt == attempts || srv.Of("/").Len() != 0 {
				t.Fatalf("the client did not connect (attempt %d)", attempt)
			}
			t.Logf("attempt %d: the client's Engine.IO session is open on the server (%d), but no CONNECT came; a new client tries",
				attempt, srv.Engine().Count())
			client.Disconnect()
		}
	}
}

// goClientServer is the conformance server's Socket.IO side (auth on
// connect, message-back, message-with-ack) with a heartbeat a loaded
// machine keeps: the conformance settings (a 500 ms window) are for the
// protocol tests, and a client that misses them here would fail an interop
// test for the machine's sake.
func goClientServer(t *testing.T) *socketio.Server {
	t.Helper()
	srv, err := socketio.NewServer(socketio.Config{
		Engine: engine.Config{PingInterval: 2 * time.Second, PingTimeout: 10 * time.Second, AllowOrigins: []string{"*"}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	main := srv.Of("/")
	main.OnConnect(func(s *socketio.Socket) {
		_ = s.Emit("auth", socketio.Data{Args: []json.RawMessage{s.Auth()}})
	})
	main.On("message", func(s *socketio.Socket, ev *socketio.Event) { _ = s.Emit("message-back", ev.Data) })
	main.On("message-with-ack", func(s *socketio.Socket, ev *socketio.Event) { _ = ev.Ack(ev.Data) })
	return srv
}

// recv waits for one value from ch, failing the test after goClientWait.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(goClientWait):
		t.Fatalf("timed out after %v waiting for %s", goClientWait, what)
		panic("unreachable")
	}
}

// waitUntil polls cond until it holds, failing the test after goClientWait.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(goClientWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", goClientWait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clientBytes returns the bytes of a binary value as the Go client hands
// it over.
func clientBytes(v any) ([]byte, bool) {
	switch b := v.(type) {
	case []byte:
		return b, true
	case interface{ Bytes() []byte }:
		return b.Bytes(), true
	case io.Reader:
		data, err := io.ReadAll(b)
		return data, err == nil
	}
	return nil, false
}

// sameJSON reports whether v marshals to the same JSON as want.
func sameJSON(v any, want string) bool {
	got, err := json.Marshal(v)
	return err == nil && jsonEqual(got, want)
}

// events forwards each named client event's arguments to a channel.
type events map[string]chan []any

func listen(c *sioclient.Socket, names ...string) events {
	ev := events{}
	for _, name := range names {
		ch := make(chan []any, 8)
		ev[name] = ch
		c.On(types.EventName(name), func(args ...any) {
			select {
			case ch <- args:
			default:
			}
		})
	}
	return ev
}

func TestGoClient(t *testing.T) {
	tests := []struct {
		name       string
		transports *types.Set[transports.TransportCtor]
		upgrade    bool
	}{
		{name: "zishang520's client talks to the server over websocket", transports: types.NewSet(sioclient.WebSocket)},
		{name: "zishang520's client talks to the server over polling upgraded to websocket", transports: types.NewSet(sioclient.Polling, sioclient.WebSocket), upgrade: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := goClientServer(t)
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := srv.Close(ctx); err != nil {
					t.Errorf("closing the server: %v", err)
				}
			})
			main := srv.Of("/")

			client, ev := connectGoClient(t, ts.URL, tt.transports, srv)

			t.Run("the server's auth event echoes the client's auth", func(t *testing.T) {
				args := recv(t, ev["auth"], `"auth"`)
				if len(args) != 1 || !sameJSON(args[0], `{"token":"go"}`) {
					t.Errorf("auth args = %v, want [{token: go}]", args)
				}
			})

			if tt.upgrade {
				waitUntil(t, "the upgrade to websocket", func() bool {
					e := client.Io().Engine()
					return e != nil && e.Transport() != nil && e.Transport().Name() == "websocket"
				})
			}
			t.Run("the server sees the transport the client uses", func(t *testing.T) {
				s := main.Socket(client.Id())
				if s == nil {
					t.Fatalf("no server socket with the client's id %q", client.Id())
				}
				waitUntil(t, "the server side to switch to websocket", func() bool { return s.Transport() == "websocket" })
			})

			object := map[string]any{"a": 1, "b": []any{"x", true, nil}, "c": map[string]any{"d": "h\u00e9llo \U0001F600"}}
			const objectJSON = "{\"a\":1,\"b\":[\"x\",true,null],\"c\":{\"d\":\"h\u00e9llo \U0001F600\"}}"
			blob := []byte{0, 1, 2, 253, 254, 255}

			t.Run("a JSON object and binary come back in message-back intact", func(t *testing.T) {
				if err := client.Emit("message", object, blob); err != nil {
					t.Fatal(err)
				}
				args := recv(t, ev["message-back"], `"message-back"`)
				if len(args) != 2 {
					t.Fatalf("message-back args = %v, want 2", args)
				}
				if !sameJSON(args[0], objectJSON) {
					t.Errorf("object came back as %v, want %s", args[0], objectJSON)
				}
				if b, ok := clientBytes(args[1]); !ok || !bytes.Equal(b, blob) {
					t.Errorf("binary came back as %T %v, want %v", args[1], args[1], blob)
				}
			})

			t.Run("an emit with an ack gets the server's acknowledgement", func(t *testing.T) {
				acked := make(chan []any, 1)
				err := client.Emit("message-with-ack", "ack me", 42, blob, func(args []any, err error) {
					if err != nil {
						args = []any{err}
					}
					acked <- args
				})
				if err != nil {
					t.Fatal(err)
				}
				args := recv(t, acked, "the ack")
				if len(args) != 3 || !sameJSON(args[0], `"ack me"`) || !sameJSON(args[1], `42`) {
					t.Fatalf("ack args = %v, want [\"ack me\" 42 <binary>]", args)
				}
				if b, ok := clientBytes(args[2]); !ok || !bytes.Equal(b, blob) {
					t.Errorf("ack binary = %T %v, want %v", args[2], args[2], blob)
				}
			})

			t.Run("a namespace broadcast reaches the client", func(t *testing.T) {
				d, err := socketio.Args("extra", map[string]int{"n": 7}, []byte{7, 7})
				if err != nil {
					t.Fatal(err)
				}
				if n := main.Emit("news", d); n != 1 {
					t.Errorf("Namespace.Emit queued to %d sockets, want 1", n)
				}
				args := recv(t, ev["news"], `"news"`)
				if len(args) != 3 || !sameJSON(args[0], `"extra"`) || !sameJSON(args[1], `{"n":7}`) {
					t.Fatalf("news args = %v, want [\"extra\" {n:7} <binary>]", args)
				}
				if b, ok := clientBytes(args[2]); !ok || !bytes.Equal(b, []byte{7, 7}) {
					t.Errorf("news binary = %T %v, want [7 7]", args[2], args[2])
				}
			})

			t.Run("a client disconnect leaves the namespace", func(t *testing.T) {
				client.Disconnect()
				waitUntil(t, "the server to forget the socket", func() bool { return main.Len() == 0 })
			})
		})
	}
}
