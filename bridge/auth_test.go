package bridge_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/bridge/auth"
	"github.com/natsock/natsock/internal/bridgetest"
)

// authSecret is the HS256 secret of the auth tests (32 bytes).
var authSecret = []byte("natsock-test-secret-of-32-bytes!")

// signHS signs claims with key; exp defaults to an hour from now, iss and
// aud to the tests' issuer and audience.
func signHS(t *testing.T, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "iss": "https://id.test", "aud": "natsock"}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authSocket is one socket of testdata/auth.js's --spec.
type authSocket struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Auth      any               `json:"auth,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Query     map[string]string `json:"query,omitempty"`
	Emit      [][]any           `json:"emit,omitempty"`
	Until     string            `json:"until,omitempty"`
}

// authResult is what auth.js reports of one socket.
type authResult struct {
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
	ID        string `json:"id"`
	Error     *struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
	Events [][]json.RawMessage `json:"events"`
}

type authReport struct {
	OK      bool         `json:"ok"`
	Error   string       `json:"error"`
	Sockets []authResult `json:"sockets"`
}

// runAuthClients starts testdata/auth.js with specs and waits until every
// socket has connected or been refused.
func runAuthClients(t *testing.T, url, transports string, specs []authSocket) (*bridgetest.Client, map[string]authResult) {
	t.Helper()
	spec, _ := json.Marshal(specs)
	c := bridgetest.Start(t, "auth.js", "--url", url, "--transports", transports, "--spec", string(spec),
		"--timeout", strconv.Itoa(int(nodeTimeout.Milliseconds())))
	var ready authReport
	if err := json.Unmarshal([]byte(c.WaitReady(nodeBound)), &ready); err != nil {
		t.Fatalf("auth.js ready line: %v", err)
	}
	return c, byName(ready.Sockets)
}

func byName(rs []authResult) map[string]authResult {
	m := make(map[string]authResult, len(rs))
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

// finalAuth waits for auth.js's final line.
func finalAuth(t *testing.T, c *bridgetest.Client) map[string]authResult {
	t.Helper()
	raw := c.MustOK(nodeBound).Raw
	var final authReport
	if err := json.Unmarshal([]byte(raw), &final); err != nil {
		t.Fatalf("auth.js final line %q: %v", raw, err)
	}
	return byName(final.Sockets)
}

// firstArgs returns the first argument of each event, as strings.
func firstArgs(events [][]json.RawMessage) []string {
	out := make([]string, 0, len(events))
	for _, ev := range events {
		var s string
		if len(ev) > 0 && json.Unmarshal(ev[0], &s) == nil {
			out = append(out, s)
		} else {
			out = append(out, fmt.Sprint(ev))
		}
	}
	return out
}

func userTokenConfig(natsURL string) bridge.Config {
	return bridge.Config{
		NATSURL: natsURL,
		Maps:    []string{"notify.user.*=notification@user:{3}"},
		Auth: auth.Config{
			JWTSecret: authSecret, Issuer: "https://id.test", Audience: "natsock",
			Sources:       auth.Sources{Cookie: "sid"},
			RoomTemplates: []string{"user:{sub}", "team:{teams}"},
		},
	}
}

// TestAuthTokensWithRealClients connects socket.io-client sockets with good
// tokens (in the auth payload, an Authorization header, a cookie), with no
// token, with every kind of bad token, and as an attacker that asks for
// another user's room in its auth payload, its query and its emits. The
// bad ones are refused with the right message and code; the others keep
// working, and each gets only its own user's and team's notifications.
func TestAuthTokensWithRealClients(t *testing.T) {
	bridgetest.RequireNode(t)
	s := startNATS(t)
	tb := startBridge(t, userTokenConfig(s.ClientURL()))
	nc := connect(t, s.ClientURL())

	good := func(sub string, extra ...any) string {
		c := jwt.MapClaims{"sub": sub}
		for i := 0; i+1 < len(extra); i += 2 {
			c[extra[i].(string)] = extra[i+1]
		}
		return signHS(t, authSecret, c)
	}
	aliceTok := good("alice", "teams", []any{"red"})
	parts := strings.Split(aliceTok, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"bob","exp":9999999999,"iss":"https://id.test","aud":"natsock"}`))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix(),
		"iss": "https://id.test", "aud": "natsock"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	refused := []struct {
		name, token string
		code        auth.Code
		message     string
	}{
		{"expired", signHS(t, authSecret, jwt.MapClaims{"sub": "x", "exp": time.Now().Add(-time.Hour).Unix()}), auth.CodeExpired, "expired"},
		{"not-yet-valid", signHS(t, authSecret, jwt.MapClaims{"sub": "x", "nbf": time.Now().Add(time.Hour).Unix()}), auth.CodeNotYetValid, "not valid yet"},
		{"wrong-key", signHS(t, []byte("another secret that is 32 bytes!"), jwt.MapClaims{"sub": "x"}), auth.CodeBadSignature, "signature"},
		{"alg-none", none, auth.CodeBadAlgorithm, "algorithm"},
		{"wrong-audience", signHS(t, authSecret, jwt.MapClaims{"sub": "x", "aud": "other"}), auth.CodeWrongAudience, "audience"},
		{"wrong-issuer", signHS(t, authSecret, jwt.MapClaims{"sub": "x", "iss": "https://evil.test"}), auth.CodeWrongIssuer, "issuer"},
		{"tampered", parts[0] + "." + forged + "." + parts[2], auth.CodeBadSignature, "signature"},
		{"malformed", "not-a-jwt", auth.CodeMalformed, "well-formed"},
	}
	specs := []authSocket{
		{Name: "alice", Auth: map[string]any{"token": aliceTok}, Until: "last-alice"},
		{Name: "bob", Headers: map[string]string{"Authorization": "Bearer " + good("bob", "teams", []any{"blue", "red"})}, Until: "last-bob"},
		{Name: "carol", Headers: map[string]string{"Cookie": "theme=dark; sid=" + good("carol")}, Until: "last-carol"},
		{Name: "anonymous"},
		{Name: "mallory",
			Auth:  map[string]any{"token": good("mallory"), "rooms": []string{"user:alice"}, "sub": "alice"},
			Query: map[string]string{"room": "user:alice", "rooms": "user:alice", "sub": "alice"},
			Emit:  [][]any{{"join", "user:alice"}, {"subscribe", map[string]any{"room": "user:alice"}}},
			Until: "last-mallory"},
		{Name: "numeric-token", Auth: map[string]any{"token": 42}},
	}
	for _, r := range refused {
		specs = append(specs, authSocket{Name: r.name, Auth: map[string]any{"token": r.token}})
	}
	client, ready := runAuthClients(t, tb.URL, "websocket", specs)

	for _, r := range append(refused, struct {
		name, token string
		code        auth.Code
		message     string
	}{"numeric-token", "", auth.CodeMalformed, "not a string"}) {
		got := ready[r.name]
		if got.Connected || got.Error == nil {
			t.Errorf("%s: connected; want refused with %s", r.name, r.code)
			continue
		}
		var data struct{ Code auth.Code }
		_ = json.Unmarshal(got.Error.Data, &data)
		if data.Code != r.code || !strings.Contains(got.Error.Message, r.message) {
			t.Errorf("%s: connect_error %q %s; want code %s and a message with %q", r.name, got.Error.Message, got.Error.Data, r.code, r.message)
		}
		if r.token != "" && strings.Contains(got.Error.Message, r.token) || strings.Contains(got.Error.Message, string(authSecret)) {
			t.Errorf("%s: the message %q holds the token or the secret", r.name, got.Error.Message)
		}
	}
	for _, name := range []string{"alice", "bob", "carol", "anonymous", "mallory"} {
		if !ready[name].Connected {
			t.Fatalf("%s was refused: %+v", name, ready[name].Error)
		}
	}
	if !bridge.InRooms(tb.Bridge, "/", ready["mallory"].ID, []string{"user:mallory"}) ||
		bridge.InRooms(tb.Bridge, "/", ready["mallory"].ID, []string{"user:alice"}) {
		t.Fatal("mallory is not in user:mallory only")
	}

	// One subscription carries them all, in this order: a notification
	// that went to the wrong socket would arrive before its "last-" one.
	for _, m := range [][2]string{
		{"notify.user.alice", "for alice"}, {"notify.user.bob", "for bob"}, {"notify.user.carol", "for carol"},
		{"notify.user.mallory", "for mallory"}, {"notify.user.red", "not a user"},
		{"notify.user.alice", "last-alice"}, {"notify.user.bob", "last-bob"}, {"notify.user.carol", "last-carol"},
		{"notify.user.mallory", "last-mallory"},
	} {
		publishString(t, nc, m[0], m[1])
	}
	final := finalAuth(t, client)
	want := map[string][]string{
		"alice":   {"for alice", "last-alice"},
		"bob":     {"for bob", "last-bob"},
		"carol":   {"for carol", "last-carol"},
		"mallory": {"for mallory", "last-mallory"},
		// Every room's message was queued to its sockets before the last
		// "last-" was: one queued to the anonymous socket would be here.
		"anonymous": {},
	}
	for name, w := range want {
		if got := firstArgs(final[name].Events); !slices.Equal(got, w) {
			t.Errorf("%s got %q, want %q", name, got, w)
		}
	}
	if n := tb.AuthStats().Refused.Load(); n != uint64(len(refused)+1) {
		t.Errorf("AuthStats().Refused = %d, want %d", n, len(refused)+1)
	}
}

// publishString publishes s as a JSON string.
func publishString(t *testing.T, nc *nats.Conn, subject, s string) {
	t.Helper()
	b, _ := json.Marshal(s)
	if err := nc.Publish(subject, b); err != nil {
		t.Fatal(err)
	}
}

// TestAuthRequired refuses a socket without a token with "no_token", on
// "/" and on a namespace a --map rule declares, and admits one with a
// token on both.
func TestAuthRequired(t *testing.T) {
	bridgetest.RequireNode(t)
	s := startNATS(t)
	cfg := userTokenConfig(s.ClientURL())
	cfg.Maps = append(cfg.Maps, "admin.alerts=alert@/admin")
	cfg.Auth.Required = true
	tb := startBridge(t, cfg)
	token := signHS(t, authSecret, jwt.MapClaims{"sub": "alice"})
	client, ready := runAuthClients(t, tb.URL, "polling", []authSocket{
		{Name: "anonymous"},
		{Name: "anonymous-admin", Namespace: "/admin"},
		{Name: "alice", Auth: map[string]any{"token": token}},
		{Name: "alice-admin", Namespace: "/admin", Auth: map[string]any{"token": token}},
	})
	for _, name := range []string{"anonymous", "anonymous-admin"} {
		if a := ready[name]; a.Connected || a.Error == nil || !strings.Contains(string(a.Error.Data), `"no_token"`) {
			t.Fatalf("%s: %+v", name, a)
		}
	}
	for _, name := range []string{"alice", "alice-admin"} {
		if !ready[name].Connected {
			t.Fatalf("%s: %+v", name, ready[name].Error)
		}
	}
	finalAuth(t, client)
}

// TestAuthRequestWithRealClients puts a NATS authorization responder in
// charge: it admits a session cookie with rooms and data, refuses another
// with a reason the client reads, and when it is gone the client is told
// the service is unavailable.
func TestAuthRequestWithRealClients(t *testing.T) {
	bridgetest.RequireNode(t)
	s := startNATS(t)
	nc := connect(t, s.ClientURL())
	sub, err := nc.Subscribe("natsock.auth", func(m *nats.Msg) {
		var req auth.Request
		if err := json.Unmarshal(m.Data, &req); err != nil {
			_ = m.Respond([]byte(`{"allow":false,"reason":"bad request"}`))
			return
		}
		switch req.Token {
		case "session-alice":
			_ = m.Respond([]byte(`{"allow":true,"user":"alice","rooms":["user:alice"],"data":{"plan":"pro"}}`))
		default:
			_ = m.Respond([]byte(`{"allow":false,"reason":"session expired, log in again"}`))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	tb := startBridge(t, bridge.Config{
		NATSURL: s.ClientURL(),
		Maps:    []string{"notify.user.*=notification@user:{3}"},
		Auth:    auth.Config{Request: "natsock.auth", Sources: auth.Sources{SkipPayload: true, SkipHeader: true, Cookie: "sid"}, Required: true},
	})
	client, ready := runAuthClients(t, tb.URL, "polling,websocket", []authSocket{
		{Name: "alice", Headers: map[string]string{"Cookie": "sid=session-alice"}, Until: "last"},
		{Name: "eve", Headers: map[string]string{"Cookie": "sid=session-eve"}},
	})
	if e := ready["eve"]; e.Connected || e.Error == nil || e.Error.Message != "session expired, log in again" {
		t.Fatalf("eve: %+v", e)
	}
	if !ready["alice"].Connected {
		t.Fatalf("alice: %+v", ready["alice"].Error)
	}
	publishString(t, nc, "notify.user.eve", "for eve")
	publishString(t, nc, "notify.user.alice", "last")
	if got := firstArgs(finalAuth(t, client)["alice"].Events); !slices.Equal(got, []string{"last"}) {
		t.Fatalf("alice got %q", got)
	}

	// The service goes away: a new handshake is refused, and says why.
	// (alice's reply is cached: use a fresh credential.)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	client, ready = runAuthClients(t, tb.URL, "websocket", []authSocket{
		{Name: "bob", Headers: map[string]string{"Cookie": "sid=session-bob"}},
	})
	if b := ready["bob"]; b.Connected || b.Error == nil || !strings.Contains(string(b.Error.Data), `"service_unavailable"`) {
		t.Fatalf("bob with the service gone: %+v", b)
	}
	finalAuth(t, client)
}

// TestAuthConfigErrorsNameTheField checks that New reports an auth
// problem found at start (an unreadable JWKS) and one found by Validate (a
// short secret) under the field's path from Config.
func TestAuthConfigErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		name  string
		auth  auth.Config
		field string
	}{
		{"an unreadable JWKS file", auth.Config{JWKS: t.TempDir() + "/none.json"}, "Auth.JWKS"},
		{"a short secret", auth.Config{JWTSecret: []byte("short")}, "Auth.JWTSecret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := bridge.New(bridge.Config{NATSURL: "nats://127.0.0.1:1", Maps: []string{"a=b"}, Auth: c.auth})
			var fe *bridge.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err %v, want a FieldError on %s", err, c.field)
			}
		})
	}
}

// TestAuthQueryTokenForSocketIOv2 connects socket.io-client 2.5.0, which
// has no auth payload, with its token in the query string: with
// AllowEIO3 the "token" parameter is read, a good token joins its user's
// room, and a bad one is refused with its code.
func TestAuthQueryTokenForSocketIOv2(t *testing.T) {
	bridgetest.RequireNode(t)
	s := startNATS(t)
	cfg := userTokenConfig(s.ClientURL())
	cfg.Auth.Required = true
	cfg.SocketIO.Engine.AllowEIO3 = true
	tb := startBridge(t, cfg)
	nc := connect(t, s.ClientURL())

	good := signHS(t, authSecret, jwt.MapClaims{"sub": "dave"})
	recv := interop(t, tb.URL, "2.5.0", "websocket", "receive", "--event", "notification", "--count", "1",
		"--auth", `{"token":"`+good+`"}`)
	recv.WaitReady(nodeBound)
	publishString(t, nc, "notify.user.erin", "for erin")
	publishString(t, nc, "notify.user.dave", "for dave")
	r := recv.MustOK(nodeBound)
	if len(r.Events) != 1 || string(r.Events[0].Args[0]) != `"for dave"` {
		t.Fatalf("dave got %+v", r.Events)
	}

	expired := signHS(t, authSecret, jwt.MapClaims{"sub": "dave", "exp": time.Now().Add(-time.Hour).Unix()})
	bad := interop(t, tb.URL, "2.5.0", "websocket", "connect-error", "--auth", `{"token":"`+expired+`"}`).MustOK(nodeBound)
	if !strings.Contains(bad.Raw, `"code":"expired"`) {
		t.Fatalf("expired token with socket.io v2: %s", bad.Raw)
	}
}
