package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge/auth"
)

func startNATS(t *testing.T) *nats.Conn {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = server.RANDOM_PORT
	s := natstest.RunServer(&opts)
	t.Cleanup(s.Shutdown)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// responder answers authorization requests on subject with answer, and
// counts them.
func responder(t *testing.T, nc *nats.Conn, subject string, answer func(req auth.Request) []byte) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		n.Add(1)
		var req auth.Request
		if err := json.Unmarshal(m.Data, &req); err != nil {
			t.Errorf("request is not JSON: %v", err)
			return
		}
		if out := answer(req); out != nil {
			_ = m.Respond(out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestAuthRequest drives the authorization service's answers: allow with
// rooms, data, claims and emits; refuse with a reason; and the failures.
func TestAuthRequest(t *testing.T) {
	nc := startNATS(t)
	var seen atomic.Pointer[auth.Request]
	n := responder(t, nc, "auth.ok", func(req auth.Request) []byte {
		seen.Store(&req)
		switch req.Token {
		case "alice-session":
			return []byte(`{"v":1,"allow":true,"user":"alice","rooms":["user:alice","org:7"],"claims":{"role":"manager","teams":["red","blue"]},"emit":["chat"],"data":{"name":"Alice"}}`)
		case "bob-session":
			return []byte(`{"allow":false,"reason":"account suspended"}`)
		case "no-emit":
			return []byte(`{"allow":true,"user":"carol","emit":[]}`)
		default:
			return []byte(`{"allow":false}`)
		}
	})
	a := mustNew(t, auth.Config{
		Request: "auth.ok", RequestHeaders: []string{"x-tenant", "Cookie"},
		Sources:       auth.Sources{SkipHeader: true, Cookie: "sid"},
		RoomTemplates: []string{"team:{teams}"},
	})
	ctx := context.Background()
	h := auth.Handshake{
		Namespace: "/admin", RemoteAddr: "127.0.0.1:4242", Auth: []byte(`{"device":"phone"}`),
		Header: http.Header{"X-Tenant": {"acme"}, "Cookie": {"theme=dark; sid=alice-session"}, "X-Other": {"no"}},
	}
	id, err := a.Authenticate(ctx, nc, h)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "alice" || id.Claims["role"] != "manager" || string(id.Data) != `{"name":"Alice"}` ||
		len(id.Emit) != 1 || id.Emit[0] != "chat" {
		t.Fatalf("identity %+v", id)
	}
	if got := strings.Join(id.Rooms, ","); got != "user:alice,org:7,team:red,team:blue" {
		t.Fatalf("rooms %s", got)
	}
	req := seen.Load()
	if req.V != auth.RequestVersion || req.Namespace != "/admin" || req.Remote != "127.0.0.1:4242" ||
		req.Source != auth.SourceCookie || string(req.Auth) != `{"device":"phone"}` ||
		req.Headers["X-Tenant"][0] != "acme" || req.Headers["X-Other"] != nil {
		t.Fatalf("request %+v", req)
	}

	_, err = a.Authenticate(ctx, nc, withToken("bob-session"))
	if r, ok := err.(*auth.Refusal); !ok || r.Code != auth.CodeRefused || r.Message != "account suspended" {
		t.Fatalf("bob: %v, want refused with the service's reason", err)
	}
	_, err = a.Authenticate(ctx, nc, withToken("mallory"))
	if r, ok := err.(*auth.Refusal); !ok || r.Code != auth.CodeRefused || r.Message != "refused by the authorization service" {
		t.Fatalf("mallory: %v", err)
	}
	if id, err := a.Authenticate(ctx, nc, withToken("no-emit")); err != nil || id.Emit == nil || len(id.Emit) != 0 {
		t.Fatalf("emit []: %+v, %v; want a non-nil empty Emit", id, err)
	}

	// The cache: the same credentials are not asked again.
	before := n.Load()
	for range 5 {
		_, _ = a.Authenticate(ctx, nc, h)
		_, _ = a.Authenticate(ctx, nc, withToken("bob-session"))
	}
	if n.Load() != before {
		t.Fatalf("%d requests for cached credentials", n.Load()-before)
	}
	// ... but another namespace is.
	h.Namespace = "/"
	if _, err := a.Authenticate(ctx, nc, h); err != nil {
		t.Fatal(err)
	}
	if n.Load() != before+1 {
		t.Fatalf("another namespace was served from the cache")
	}
}

// TestAuthRequestFailures checks the refusals when the service is away,
// slow or confused, and that none of them is cached.
func TestAuthRequestFailures(t *testing.T) {
	nc := startNATS(t)
	slow := make(chan struct{})
	t.Cleanup(func() { close(slow) })
	responder(t, nc, "auth.slow", func(auth.Request) []byte {
		<-slow
		return nil
	})
	var malformed atomic.Int64
	responder(t, nc, "auth.bad", func(req auth.Request) []byte {
		malformed.Add(1)
		return []byte(req.Token)
	})
	ctx := context.Background()
	cases := []struct {
		name, subject, token string
		code                 auth.Code
	}{
		{"no service listens", "auth.none", "t", auth.CodeServiceUnavailable},
		{"the service does not answer in time", "auth.slow", "t", auth.CodeServiceTimeout},
		{"the reply is not JSON", "auth.bad", "not json", auth.CodeServiceBadReply},
		{"the reply has no allow", "auth.bad", `{"rooms":["x"]}`, auth.CodeServiceBadReply},
		{"the reply has an unknown field", "auth.bad", `{"allow":true,"room":"x"}`, auth.CodeServiceBadReply},
		{"the reply names another version", "auth.bad", `{"v":2,"allow":true}`, auth.CodeServiceBadReply},
		{"the reply's rooms are not strings", "auth.bad", `{"allow":true,"rooms":[1]}`, auth.CodeServiceBadReply},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs strings.Builder
			a := mustNew(t, auth.Config{Request: c.subject, RequestTimeout: 200 * time.Millisecond, Logger: logger(&logs)})
			for range 2 { // twice: a failure is never cached
				_, err := a.Authenticate(ctx, nc, withToken(c.token))
				if codeOf(t, err) != c.code {
					t.Fatalf("%v, want %s", err, c.code)
				}
			}
			if c.code == auth.CodeServiceBadReply && !strings.Contains(logs.String(), "malformed reply") {
				t.Fatalf("a malformed reply was not logged: %q", logs.String())
			}
		})
	}
	if malformed.Load() != 10 {
		t.Fatalf("%d requests for 5 malformed cases asked twice, want 10", malformed.Load())
	}
	a := mustNew(t, auth.Config{Request: "auth.none"})
	if _, err := a.Authenticate(ctx, nil, withToken("t")); codeOf(t, err) != auth.CodeServiceUnavailable {
		t.Fatalf("no connection: %v", err)
	}
}

// TestAuthRequestAfterJWT checks the combination: the JWT is verified
// first (a bad one never reaches the service), and the service gets its
// claims and decides.
func TestAuthRequestAfterJWT(t *testing.T) {
	nc := startNATS(t)
	n := responder(t, nc, "auth.jwt", func(req auth.Request) []byte {
		if req.Claims["sub"] == "42" {
			return []byte(`{"allow":true,"rooms":["vip"]}`)
		}
		return []byte(`{"allow":false,"reason":"not on the list"}`)
	})
	a := mustNew(t, auth.Config{JWTSecret: secret, Request: "auth.jwt", RoomTemplates: []string{"user:{sub}"}})
	ctx := context.Background()
	id, err := a.Authenticate(ctx, nc, withToken(hs(t, secret, valid("42"))))
	if err != nil || id.Subject != "42" || strings.Join(id.Rooms, ",") != "vip,user:42" {
		t.Fatalf("%+v, %v", id, err)
	}
	if _, err := a.Authenticate(ctx, nc, withToken(hs(t, secret, valid("7")))); codeOf(t, err) != auth.CodeRefused {
		t.Fatalf("sub 7: %v", err)
	}
	before := n.Load()
	if _, err := a.Authenticate(ctx, nc, withToken(hs(t, []byte("a wrong secret that is long enough"), valid("42")))); codeOf(t, err) != auth.CodeBadSignature {
		t.Fatalf("bad signature: %v", err)
	}
	if n.Load() != before {
		t.Fatal("a token with a bad signature reached the service")
	}
}
