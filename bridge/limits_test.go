package bridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
	"github.com/natsock/natsock/protocol/engine"
	"github.com/natsock/natsock/protocol/socketio"
)

// refusal makes a polling handshake and returns its status and the JSON
// error's message ("" when accepted).
func refusal(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return http.StatusOK, ""
	}
	var e struct{ Message string }
	if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		t.Fatalf("refusal %d %q is not a JSON error with a message", resp.StatusCode, body)
	}
	return resp.StatusCode, e.Message
}

// dialStatus opens a websocket and returns the status of its refusal, or
// 101 (and the socket) when it was accepted.
func dialStatus(t *testing.T, base string) (int, *bridgetest.Socket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	s, err := bridgetest.DialSocket(ctx, base)
	var se ws.StatusError
	switch {
	case errors.As(err, &se):
		return int(se), nil
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return http.StatusSwitchingProtocols, s
}

func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	t.Run("past --max-connections a handshake gets 503 naming the limit", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=b"}, SocketIO: socketio.Config{Engine: engine.Config{MaxConnections: 2}}})
		_, first := dialStatus(t, b.URL)
		dialStatus(t, b.URL)
		if code, _ := dialStatus(t, b.URL); code != http.StatusServiceUnavailable {
			t.Fatalf("a websocket past the limit: %d, want 503", code)
		}
		if code, msg := refusal(t, b.URL); code != http.StatusServiceUnavailable || !strings.Contains(msg, "connection limit") {
			t.Fatalf("a polling handshake past the limit: %d %q, want 503 naming the connection limit", code, msg)
		}
		first.CloseGracefully()
		bridgetest.Eventually(t, startBound, "a place freed by a client that left", func() bool { return b.Connections() == 1 })
		if code, _ := dialStatus(t, b.URL); code != http.StatusSwitchingProtocols {
			t.Fatalf("a websocket once a place is free: %d, want 101", code)
		}
	})
	t.Run("past --max-connections-per-ip a handshake gets 429 naming the address", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=b"}, SocketIO: socketio.Config{Engine: engine.Config{MaxConnectionsPerIP: 1}}})
		dialStatus(t, b.URL)
		if code, _ := dialStatus(t, b.URL); code != http.StatusTooManyRequests {
			t.Fatalf("a second websocket from 127.0.0.1: %d, want 429", code)
		}
		if code, msg := refusal(t, b.URL); code != http.StatusTooManyRequests || !strings.Contains(msg, "from this address") {
			t.Fatalf("a second polling handshake from 127.0.0.1: %d %q, want 429 naming the address", code, msg)
		}
	})
	t.Run("a client that sends no CONNECT within --handshake-timeout is closed", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=b"}, HandshakeTimeout: 300 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), startBound)
		defer cancel()
		s, err := bridgetest.DialEngine(ctx, b.URL, "/socket.io/")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Next(startBound)
		var closed *bridgetest.Closed
		if !errors.As(err, &closed) || closed.Reason != "connect timeout" {
			t.Fatalf("a client silent after the handshake: %v, want a close frame saying connect timeout", err)
		}
	})
	t.Run("a client that does not finish its request headers within --handshake-timeout is cut", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=b"}, HandshakeTimeout: 300 * time.Millisecond})
		conn, err := net.Dial("tcp", strings.TrimPrefix(b.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(startBound))
		_, err = io.ReadAll(bufio.NewReader(conn))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the connection is still open after %v", startBound)
		}
	})
	t.Run("a message over --max-payload is refused: 413 on polling, close 1009 on websocket", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, bridge.Config{NATSURL: ns.ClientURL(), Maps: []string{"a=b"}, SocketIO: socketio.Config{Engine: engine.Config{MaxPayload: 1000}}})
		resp, err := http.Get(b.URL + "/socket.io/?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sid := strings.Split(strings.SplitN(string(body), `"sid":"`, 2)[1], `"`)[0]
		resp, err = http.Post(b.URL+"/socket.io/?EIO=4&transport=polling&sid="+sid, "text/plain", strings.NewReader("4"+strings.Repeat("x", 1000)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 1001-byte polling body: %d, want 413", resp.StatusCode)
		}
		_, s := dialStatus(t, b.URL)
		if err := s.Send(`42["x","` + strings.Repeat("y", 1000) + `"]`); err != nil {
			t.Fatal(err)
		}
		var closed *bridgetest.Closed
		for {
			if _, err = s.Next(startBound); err != nil {
				break
			}
		}
		if !errors.As(err, &closed) || closed.Code != ws.StatusMessageTooBig || closed.Reason != "payload too large" {
			t.Errorf("a websocket message over the bound: %v, want close 1009 payload too large", err)
		}
	})
}
