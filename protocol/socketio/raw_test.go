package socketio_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/socketio"
)

// rawWait bounds every wait of a raw client.
const rawWait = 10 * time.Second

// startRawServer serves a socketio.Server built from cfg (a quiet logger
// and any origin unless cfg names them) and closes it when the test ends.
func startRawServer(t *testing.T, cfg socketio.Config) (*socketio.Server, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := socketio.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), rawWait)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return srv, ts.URL
}

// rawClient is an Engine.IO v4 websocket client without a client library:
// the test writes and reads Socket.IO packets as frames.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader
}

// dialRaw opens the websocket and reads the Engine.IO open packet.
func dialRaw(t *testing.T, url string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rawWait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawClient{t: t, conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	if msg, _ := c.read(); !strings.HasPrefix(msg, "0{") {
		t.Fatalf("open packet: %q", msg)
	}
	return c
}

// join sends CONNECT for ns ("/" or "/name") and checks the answer.
func (c *rawClient) join(ns string) {
	c.t.Helper()
	prefix := "40"
	if ns != "/" {
		prefix += ns + ","
	}
	c.text(prefix)
	if msg := c.readText(); !strings.HasPrefix(msg, prefix+"{") {
		c.t.Fatalf("CONNECT %s answered %q", ns, msg)
	}
}

func (c *rawClient) text(s string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, []byte(s)); err != nil {
		c.t.Fatalf("writing %q: %v", s, err)
	}
}

func (c *rawClient) binary(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientBinary(c.conn, b); err != nil {
		c.t.Fatalf("writing %d binary bytes: %v", len(b), err)
	}
}

// read returns the next message (binary ones as their bytes), answering
// pings on the way; it fails the test after rawWait.
func (c *rawClient) read() (string, bool) {
	c.t.Helper()
	for {
		msg, binary, err := c.next()
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		if !binary && msg == "2" {
			c.text("3")
			continue
		}
		return msg, binary
	}
}

func (c *rawClient) readText() string {
	c.t.Helper()
	msg, binary := c.read()
	if binary {
		c.t.Fatalf("got a binary frame %q, want text", msg)
	}
	return msg
}

func (c *rawClient) next() (string, bool, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(rawWait))
	b, op, err := wsutil.ReadServerData(struct {
		io.Reader
		io.Writer
	}{c.r, c.conn})
	return string(b), op == ws.OpBinary, err
}

// closed reads until the server ends the connection, answering pings, and
// returns the other text messages it sent first. It fails the test if the
// connection stays open for rawWait.
func (c *rawClient) closed() []string {
	c.t.Helper()
	var got []string
	for {
		msg, binary, err := c.next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("the connection is still open after %v; it sent %q", rawWait, got)
			}
			return got
		}
		switch {
		case !binary && msg == "2":
			_ = wsutil.WriteClientText(c.conn, []byte("3"))
		case !binary:
			got = append(got, msg)
		}
	}
}
