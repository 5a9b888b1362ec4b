package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/socketio"
)

// benchReplayEvents is how many missed events each resume replays.
const benchReplayEvents = 10000

// BenchmarkResumeReplay10k resumes one websocket client that missed
// 10,000 events (~100 B each) and reads them all: connect, middleware,
// Resume, replay paced by the session's queue, and the client's reads, in
// one process. ns/event is the time per replayed event the client got.
func BenchmarkResumeReplay10k(b *testing.B) {
	rec := newMemRecovery()
	srv, err := socketio.NewServer(socketio.Config{Logger: benchLogger(), Recovery: rec})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			b.Errorf("closing the server: %v", err)
		}
		ts.Close()
	})
	ns := srv.Of("/")
	rec.ns = ns
	ns.Use(func(s *socketio.Socket) error {
		s.SetData("ann")
		s.Join("user:ann")
		return nil
	})
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	pid, err := replayClient(url, `{}`, 0)
	if err != nil {
		b.Fatal(err)
	}
	d, _ := socketio.Args(json.RawMessage(`{"subject":"orders.42","payload":{"id":42,"status":"shipped","total":1234.5}}`))
	for range benchReplayEvents {
		rec.publishData("user:ann", "n", d)
	}
	auth := fmt.Sprintf(`{"pid":%q,"offset":"0"}`, pid)
	b.ResetTimer()
	for range b.N {
		if _, err := replayClient(url, auth, benchReplayEvents); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchReplayEvents), "ns/event")
	b.ReportMetric(float64(b.N*benchReplayEvents)/b.Elapsed().Seconds(), "events/s")
}

// replayClient connects with auth, reads until it got want events, and
// hangs up; it returns the pid of the CONNECT answer.
func replayClient(url, auth string, want int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{r, conn}
	if err := wsutil.WriteClientText(conn, []byte("40"+auth)); err != nil {
		return "", err
	}
	var pid string
	got := 0
	for pid == "" || got < want {
		b, _, err := wsutil.ReadServerData(rw)
		if err != nil {
			return "", fmt.Errorf("after %d events: %w", got, err)
		}
		switch {
		case len(b) == 1 && b[0] == '2':
			_ = wsutil.WriteClientText(conn, []byte("3"))
		case strings.HasPrefix(string(b), "40{"):
			var a connectAnswer
			if json.Unmarshal(b[2:], &a) != nil || a.PID == nil {
				return "", fmt.Errorf("CONNECT answer %q", b)
			}
			pid = *a.PID
		case strings.HasPrefix(string(b), "42"):
			got++
		}
	}
	return pid, nil
}
