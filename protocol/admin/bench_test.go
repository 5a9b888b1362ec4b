package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/admin"
	"github.com/natsock/natsock/protocol/socketio"
)

// BenchmarkSocketLife is one socket's whole life, a websocket client that
// connects to "/", is put in a room, and disconnects, on a server without
// the Admin UI, with it but no UI connected (the bookkeeping only), and
// with a UI watching (every change serialized and sent to it).
//
//	go test -run '^$' -bench SocketLife -benchtime 2000x ./protocol/admin/
func BenchmarkSocketLife(b *testing.B) {
	for _, mode := range []string{"off", "on", "watched"} {
		b.Run(mode, func(b *testing.B) {
			srv, err := socketio.NewServer(socketio.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			left := make(chan struct{}, 1)
			root := srv.Of("/")
			root.OnConnect(func(s *socketio.Socket) { s.Join("room") })
			root.OnDisconnect(func(*socketio.Socket, socketio.Reason) { left <- struct{}{} })
			var a *admin.Admin
			if mode != "off" {
				if a, err = admin.New(srv, admin.Config{Username: testUser, PasswordHash: testHash,
					Logger: slog.New(slog.DiscardHandler)}); err != nil {
					b.Fatal(err)
				}
			}
			hs := httptest.NewServer(srv)
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				_ = srv.Close(ctx)
				hs.Close()
				if a != nil {
					a.Close()
				}
			}()
			if mode == "watched" {
				auth, _ := json.Marshal(login(testUser, testPassword))
				ui := dialWS(b, hs.URL)
				defer ui.Close()
				writeText(b, ui, "40/admin,"+string(auth))
				go func() { _, _ = io.Copy(io.Discard, ui) }() // what the UI is sent, read and dropped
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c := dialWS(b, hs.URL)
				writeText(b, c, "40")
				if msg := readText(b, c); !strings.HasPrefix(msg, "40{") {
					b.Fatalf("CONNECT answered %q", msg)
				}
				_ = c.Close()
				select {
				case <-left:
				case <-time.After(wait):
					b.Fatal("the socket did not leave")
				}
			}
		})
	}
}

// wsConn is a raw Engine.IO websocket client.
type wsConn struct {
	net.Conn
	r io.Reader
}

func dialWS(b *testing.B, url string) *wsConn {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		b.Fatal(err)
	}
	c := &wsConn{Conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	if msg := readText(b, c); !strings.HasPrefix(msg, "0{") {
		b.Fatalf("open packet %q", msg)
	}
	return c
}

func (c *wsConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func writeText(b *testing.B, c *wsConn, s string) {
	b.Helper()
	if err := wsutil.WriteClientText(c.Conn, []byte(s)); err != nil {
		b.Fatal(err)
	}
}

func readText(b *testing.B, c *wsConn) string {
	b.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	data, err := wsutil.ReadServerText(c)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}
