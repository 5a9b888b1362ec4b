package admin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fakeClock is a guard's clock that the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testGuard(t *testing.T, mod func(*Config)) (*guard, *fakeClock) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Username: "ops", PasswordHash: string(h)}
	if mod != nil {
		mod(&c)
	}
	c.setDefaults()
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	return newGuard(&c, clk.now), clk
}

func TestGuardLocksAnAddressOutForTheRestOfItsWindow(t *testing.T) {
	g, clk := testGuard(t, func(c *Config) { c.MaxFailures = 2; c.FailureWindow = time.Minute })
	bad := credentials{Username: "ops", Password: "nope", HasLogin: true}
	good := credentials{Username: "ops", Password: "pw", HasLogin: true}
	for i := range 2 {
		if v, _ := g.check("10.0.0.1:5000", bad); v != refuseBad {
			t.Fatalf("failure %d: verdict %d, want refuseBad", i+1, v)
		}
	}
	if v, _ := g.check("10.0.0.1:5001", good); v != refuseLimited {
		t.Errorf("the right password after the limit: verdict %d, want refuseLimited", v)
	}
	if v, _ := g.check("10.0.0.2:5000", good); v != admitLogin {
		t.Errorf("another address: verdict %d, want admitLogin", v)
	}
	clk.t = clk.t.Add(time.Minute)
	if v, s := g.check("10.0.0.1:5002", good); v != admitLogin || len(s) != 32 {
		t.Errorf("after the window: verdict %d, session %q; want admitLogin and a 32-character session", v, s)
	}
}

func TestGuardSessionsExpireAndAreBounded(t *testing.T) {
	g, clk := testGuard(t, func(c *Config) { c.SessionTTL = time.Hour; c.MaxTracked = 2 })
	good := credentials{Username: "ops", Password: "pw", HasLogin: true}
	_, s1 := g.check("10.0.0.1:1", good)
	clk.t = clk.t.Add(time.Minute)
	_, s2 := g.check("10.0.0.1:1", good)
	if v, _ := g.check("10.0.0.9:1", credentials{SessionID: s1}); v != admitSession {
		t.Errorf("a fresh session: verdict %d, want admitSession", v)
	}
	_, s3 := g.check("10.0.0.1:1", good) // the third: s1, nearest its end, goes
	for _, c := range []struct {
		id   string
		want verdict
	}{{s1, refuseMissing}, {s2, admitSession}, {s3, admitSession}} {
		if v, _ := g.check("10.0.0.9:1", credentials{SessionID: c.id}); v != c.want {
			t.Errorf("session %s: verdict %d, want %d", c.id, v, c.want)
		}
	}
	clk.t = clk.t.Add(time.Hour + time.Minute)
	if v, _ := g.check("10.0.0.9:1", credentials{SessionID: s3}); v != refuseMissing {
		t.Errorf("an expired session: verdict %d, want refuseMissing", v)
	}
}

func TestGuardBoundsPasswordChecksInAll(t *testing.T) {
	g, _ := testGuard(t, func(c *Config) { c.LoginRate = 0.001; c.LoginBurst = 3; c.MaxFailures = 100 })
	bad := credentials{Username: "ops", Password: "nope", HasLogin: true}
	for i := range 3 {
		if v, _ := g.check("10.0.0."+string(rune('1'+i))+":1", bad); v != refuseBad {
			t.Fatalf("check %d: verdict %d, want refuseBad", i+1, v)
		}
	}
	if v, _ := g.check("10.0.0.9:1", credentials{Username: "ops", Password: "pw", HasLogin: true}); v != refuseLimited {
		t.Errorf("past the burst: verdict %d, want refuseLimited", v)
	}
}

func TestParseCredentials(t *testing.T) {
	for _, c := range []struct {
		name, auth string
		want       credentials
	}{
		{"a login", `{"username":"ops","password":"pw"}`, credentials{Username: "ops", Password: "pw", HasLogin: true}},
		{"a session", `{"sessionId":"abc"}`, credentials{SessionID: "abc"}},
		{"the UI's reconnect with no session yet", `{"sessionId":null}`, credentials{}},
		{"a number for a password", `{"username":"ops","password":1}`, credentials{}},
		{"no payload", `{}`, credentials{}},
		{"not an object", `[1]`, credentials{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := parseCredentials(json.RawMessage(c.auth)); got != c.want {
				t.Errorf("%s: %+v, want %+v", c.auth, got, c.want)
			}
		})
	}
}

func rawArgs(args ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		out[i] = json.RawMessage(a)
	}
	return out
}

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		name    string
		event   string
		args    []string
		want    command
		wantErr string
	}{
		{"join one socket", "join", []string{`"/"`, `"r"`, `"sid"`}, command{Name: "join", NSP: "/", Room: "r", Filter: "sid"}, ""},
		{"join every socket", "join", []string{`"/"`, `"r"`}, command{Name: "join", NSP: "/", Room: "r"}, ""},
		{"leave with a null filter", "leave", []string{`"/chat"`, `"r"`, `null`}, command{Name: "leave", NSP: "/chat", Room: "r"}, ""},
		{"disconnect the connection", "_disconnect", []string{`"/"`, `true`, `"sid"`}, command{Name: "_disconnect", NSP: "/", Close: true, Filter: "sid"}, ""},
		{"emit to a room", "emit", []string{`"/"`, `"r"`, `"ev"`, `1`, `{"a":2}`}, command{Name: "emit", NSP: "/", Filter: "r", Event: "ev", Args: rawArgs(`1`, `{"a":2}`)}, ""},
		{"no namespace", "join", nil, command{}, "no namespace"},
		{"a number for a namespace", "join", []string{`1`, `"r"`}, command{}, "namespace"},
		{"an empty room", "join", []string{`"/"`, `""`}, command{}, "room"},
		{"an object for a filter", "leave", []string{`"/"`, `"r"`, `{}`}, command{}, "filter"},
		{"a string close flag", "_disconnect", []string{`"/"`, `"true"`}, command{}, "close flag"},
		{"too many arguments", "join", []string{`"/"`, `"r"`, `"f"`, `"x"`}, command{}, "at most 3"},
		{"no event to emit", "emit", []string{`"/"`, `null`}, command{}, "no event name"},
		{"an unknown command", "explode", []string{`"/"`}, command{}, "unknown command"},
		{"a room too long", "join", []string{`"/"`, `"` + strings.Repeat("x", MaxRoomLength+1) + `"`}, command{}, "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseCommand(c.event, rawArgs(c.args...))
			if c.wantErr != "" {
				if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want ErrCommand saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(c.want)
			if string(gb) != string(wb) {
				t.Errorf("got %s, want %s", gb, wb)
			}
		})
	}
}

// FuzzParseCommand: any arguments either parse into a command whose
// strings are valid and bounded, or fail with ErrCommand; nothing panics.
func FuzzParseCommand(f *testing.F) {
	f.Add("join", `["/","room","sid"]`)
	f.Add("_disconnect", `["/chat",true,null]`)
	f.Add("emit", `["/",null,"ev",{"_placeholder":true,"num":0}]`)
	f.Add("leave", `["/","\ud800"]`)
	f.Add("join", `[1,2,3]`)
	f.Fuzz(func(t *testing.T, name, argsJSON string) {
		var args []json.RawMessage
		if json.Unmarshal([]byte(argsJSON), &args) != nil {
			return
		}
		c, err := parseCommand(name, args)
		if err != nil {
			if !errors.Is(err, ErrCommand) {
				t.Fatalf("error %v does not wrap ErrCommand", err)
			}
			return
		}
		if c.NSP == "" || c.Name != name {
			t.Fatalf("parsed %+v from %s %s", c, name, argsJSON)
		}
		if (name == cmdJoin || name == cmdLeave) && (c.Room == "" || len(c.Room) > MaxRoomLength) {
			t.Fatalf("room %q from %s", c.Room, argsJSON)
		}
		if name == cmdEmit && c.Event == "" {
			t.Fatalf("emit without an event from %s", argsJSON)
		}
	})
}

// FuzzParseCredentials: any auth payload gives credentials with a login
// only when both fields are strings; nothing panics.
func FuzzParseCredentials(f *testing.F) {
	f.Add(`{"username":"ops","password":"pw"}`)
	f.Add(`{"sessionId":"abc"}`)
	f.Add(`{"username":["x"],"password":"pw"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, auth string) {
		c := parseCredentials(json.RawMessage(auth))
		if !c.HasLogin && (c.Username != "" || c.Password != "") {
			t.Fatalf("%+v from %s", c, auth)
		}
	})
}
