package engine_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/natsock/natsock/protocol/engine"
)

// A polling client that has more than MaxPayload queued when the server
// closes its session gracefully collects all of it, in as many GETs as
// MaxPayload needs, then the close packet; the GET after that gets 400.
func TestAGracefulCloseDeliversAPollingBacklogThenTheClosePacket(t *testing.T) {
	t.Parallel()
	const maxPayload = 100
	_, rec, url := startServer(t, engine.Config{MaxPayload: maxPayload})
	get(t, url+"?EIO=4&transport=polling")
	s := waitOpened(t, rec)
	var want []string
	for i := range 12 {
		m := fmt.Sprintf("4message %02d %s", i, strings.Repeat("x", 20))
		want = append(want, m)
		if err := s.Send(msg(m[1:])); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	want = append(want, "1") // the close packet comes last
	s.Close()

	var got []string
	for gets := 0; ; gets++ {
		if gets > len(want) {
			t.Fatalf("still answering after %d GETs; got %q", gets, got)
		}
		resp, err := http.Get(url + "?EIO=4&transport=polling&sid=" + s.ID())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusBadRequest {
			break
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %d: status %d %q", gets, resp.StatusCode, b)
		}
		if len(b) > maxPayload && strings.Contains(string(b), "\x1e") {
			t.Fatalf("GET %d: a body of %d bytes, more than MaxPayload %d", gets, len(b), maxPayload)
		}
		got = append(got, strings.Split(string(b), "\x1e")...)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("the GETs after the close collected\n%q\nwant\n%q", got, want)
	}
	if why := waitClosed(t, rec); why != engine.ReasonForcedClose {
		t.Fatalf("closed for %q, want %q", why, engine.ReasonForcedClose)
	}
}
