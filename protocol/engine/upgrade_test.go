package engine_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/engine"
)

// upgradeRecorder is a recorder that is also an UpgradeHandler: it writes
// each upgrade (with the transport the session had then) and each message
// to calls, in the order the handler is called.
type upgradeRecorder struct {
	*recorder
	calls chan string
}

func (r upgradeRecorder) OnUpgrade(s *engine.Session) {
	r.calls <- "upgrade " + s.ID() + " " + s.Transport()
}

func (r upgradeRecorder) OnMessage(_ *engine.Session, data []byte, _ bool) {
	r.calls <- "message " + string(data)
}

var _ engine.UpgradeHandler = upgradeRecorder{}

// next returns the next call, failing the test after 5s.
func (r upgradeRecorder) next(t *testing.T) string {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not called")
		return ""
	}
}

// TestUpgradeHandlerIsToldOfTheUpgrade: a Handler that implements
// UpgradeHandler hears once of a polling session's completed upgrade,
// after OnOpen, with the session on websocket, and before the first
// message the client sends over the websocket; the session then goes on
// over it. A session that opens on websocket is not reported.
func TestUpgradeHandlerIsToldOfTheUpgrade(t *testing.T) {
	t.Parallel()
	rec := upgradeRecorder{recorder: newRecorder(), calls: make(chan string, 8)}
	srv, err := engine.NewServer(engine.Config{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	hs := startHTTP(t, srv)
	url := hs + "/engine.io/"

	open := get(t, url+"?EIO=4&transport=polling")
	var hello struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(open, "0")), &hello); err != nil {
		t.Fatalf("open packet %q: %v", open, err)
	}
	waitOpened(t, rec.recorder)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket&sid="+hello.SID)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(conn, []byte("2probe")); err != nil {
		t.Fatal(err)
	}
	if b, err := wsutil.ReadServerText(conn); err != nil || string(b) != "3probe" {
		t.Fatalf("probe answered %q, %v; want 3probe", b, err)
	}
	select {
	case c := <-rec.calls:
		t.Fatalf("%s before the client's upgrade packet", c)
	default:
	}
	if err := wsutil.WriteClientText(conn, []byte("5")); err != nil {
		t.Fatal(err)
	}
	if err := wsutil.WriteClientText(conn, []byte("4over websocket")); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.next(t), "upgrade "+hello.SID+" websocket"; got != want {
		t.Errorf("first call %q, want %q", got, want)
	}
	if got, want := rec.next(t), "message over websocket"; got != want {
		t.Errorf("second call %q, want %q", got, want)
	}

	// A session that opens on websocket has no upgrade to report.
	ws2, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Close()
	waitOpened(t, rec.recorder)
	if err := wsutil.WriteClientText(ws2, []byte("4direct")); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.next(t), "message direct"; got != want {
		t.Errorf("call %q, want %q (no upgrade for a session that opened on websocket)", got, want)
	}
}

func startHTTP(t *testing.T, srv *engine.Server) string {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		hs.Close()
	})
	return hs.URL
}
