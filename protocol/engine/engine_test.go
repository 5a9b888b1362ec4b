package engine_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"go.uber.org/goleak"

	"github.com/natsock/natsock/protocol/engine"
)

// TestMain checks that no test leaves a goroutine behind. Most tests wait
// on timers (a closed polling session waits for its last GET), so unless
// -parallel is given they run 8 at a time rather than GOMAXPROCS at a time.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "8")
	}
	goleak.VerifyTestMain(m)
}

// recorder hands a test the sessions it opens and the reasons they close.
type recorder struct {
	opened chan *engine.Session
	closed chan engine.Reason
}

func newRecorder() *recorder {
	return &recorder{opened: make(chan *engine.Session, 16), closed: make(chan engine.Reason, 16)}
}

func (r *recorder) OnOpen(s *engine.Session)                     { r.opened <- s }
func (*recorder) OnMessage(*engine.Session, []byte, bool)        {}
func (r *recorder) OnClose(_ *engine.Session, why engine.Reason) { r.closed <- why }

func startServer(t *testing.T, cfg engine.Config) (*engine.Server, *recorder, string) {
	t.Helper()
	rec := newRecorder()
	srv, err := engine.NewServer(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		hs.Close()
	})
	return srv, rec, hs.URL + "/engine.io/"
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func waitOpened(t *testing.T, rec *recorder) *engine.Session {
	t.Helper()
	select {
	case s := <-rec.opened:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no session opened")
		return nil
	}
}

func msg(s string) *engine.Message { return engine.NewTextMessage([]byte(s)) }

// A polling session's queue is only written when the client polls, so a
// client that does not poll is the simplest stalled reader.
func TestSlowPolicyDropOldestKeepsTheNewest(t *testing.T) {
	t.Parallel()
	srv, rec, url := startServer(t, engine.Config{MaxQueueMessages: 3, SlowPolicy: engine.SlowDropOldest})
	open := get(t, url+"?EIO=4&transport=polling")
	s := waitOpened(t, rec)
	if !strings.Contains(open, s.ID()) {
		t.Fatalf("handshake %q does not name session %s", open, s.ID())
	}
	for _, m := range []string{"one", "two", "three", "four", "five"} {
		if err := s.Send(msg(m)); err != nil {
			t.Fatalf("Send(%s): %v", m, err)
		}
	}
	body := get(t, url+"?EIO=4&transport=polling&sid="+s.ID())
	if want := "4three\x1e4four\x1e4five"; body != want {
		t.Fatalf("GET = %q, want %q", body, want)
	}
	if got := srv.Stats().Dropped; got != 2 {
		t.Fatalf("Stats().Dropped = %d, want 2", got)
	}
}

func TestSlowPolicyDisconnectClosesWithReasonSlow(t *testing.T) {
	t.Parallel()
	srv, rec, url := startServer(t, engine.Config{MaxQueueBytes: 10})
	get(t, url+"?EIO=4&transport=polling")
	s := waitOpened(t, rec)
	if err := s.Send(msg("123456")); err != nil {
		t.Fatalf("first Send: %v", err)
	}
	if err := s.Send(msg("123456")); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Fatalf("Send past the byte bound = %v, want ErrSlowConsumer", err)
	}
	select {
	case why := <-rec.closed:
		if why != engine.ReasonSlow {
			t.Fatalf("closed for %q, want %q", why, engine.ReasonSlow)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session not closed")
	}
	if err := s.Send(msg("x")); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Send after close = %v, want ErrClosed", err)
	}
	if got := srv.Stats().SlowClosed; got != 1 {
		t.Fatalf("Stats().SlowClosed = %d, want 1", got)
	}
}

// A websocket client that never reads fills the kernel's buffers, then the
// session's queue: the session closes for "slow" and its memory is bounded
// by MaxQueueBytes, not by what the server wanted to send.
func TestStalledWebSocketIsDisconnected(t *testing.T) {
	t.Parallel()
	const bound = 256 << 10
	srv, rec, url := startServer(t, engine.Config{MaxQueueBytes: bound})
	conn, _, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := waitOpened(t, rec)
	big := engine.NewTextMessage([]byte(strings.Repeat("x", 16<<10)))
	sent := 0
	deadline := time.Now().Add(20 * time.Second)
	for ; time.Now().Before(deadline); sent++ {
		if err := s.Send(big); err != nil {
			if !errors.Is(err, engine.ErrSlowConsumer) && !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("Send: %v", err)
			}
			break
		}
		if sent%64 == 63 {
			time.Sleep(time.Millisecond) // let the writer fill the socket
		}
	}
	select {
	case why := <-rec.closed:
		if why != engine.ReasonSlow {
			t.Fatalf("closed for %q, want %q", why, engine.ReasonSlow)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("stalled client not closed after %d sends", sent)
	}
	if srv.Stats().SlowClosed != 1 {
		t.Fatalf("SlowClosed = %d", srv.Stats().SlowClosed)
	}
}

func TestBroadcastMessageIsEncodedOnce(t *testing.T) {
	t.Parallel()
	_, rec, url := startServer(t, engine.Config{})
	var sessions []*engine.Session
	for range 3 {
		get(t, url+"?EIO=4&transport=polling")
		sessions = append(sessions, waitOpened(t, rec))
	}
	m := msg(`2["ev",1]`)
	for _, s := range sessions {
		if err := s.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sessions {
		if body := get(t, url+"?EIO=4&transport=polling&sid="+s.ID()); body != `42["ev",1]` {
			t.Fatalf("session %s got %q", s.ID(), body)
		}
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := engine.Config{PingInterval: -1, MaxPayload: -5, DisablePolling: true, DisableWebSocket: true, AllowOrigins: []string{""}}.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{"PingInterval", "MaxPayload", "both transports", "empty origin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, engine.ErrConfig) {
		t.Errorf("error does not wrap ErrConfig")
	}
}

func TestParseSlowPolicy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want engine.SlowPolicy
		ok   bool
	}{
		{"disconnect", engine.SlowDisconnect, true},
		{"drop-oldest", engine.SlowDropOldest, true},
		{"", engine.SlowDisconnect, true},
		{"drop", 0, false},
	} {
		got, err := engine.ParseSlowPolicy(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseSlowPolicy(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && tt.in != "" && got.String() != tt.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}

// Over websocket the frame check refuses invalid UTF-8 in a text message;
// polling must refuse it too, or it would reach websocket clients as a
// text frame they drop.
func TestPollingRefusesTextThatIsNotUTF8(t *testing.T) {
	t.Parallel()
	_, rec, url := startServer(t, engine.Config{})
	get(t, url+"?EIO=4&transport=polling")
	s := waitOpened(t, rec)
	resp, err := http.Post(url+"?EIO=4&transport=polling&sid="+s.ID(), "text/plain", strings.NewReader("4caf\xe9"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST of invalid UTF-8: status %d, want 400", resp.StatusCode)
	}
	select {
	case why := <-rec.closed:
		if why != engine.ReasonParseError {
			t.Fatalf("closed for %q, want %q", why, engine.ReasonParseError)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session not closed")
	}
}
