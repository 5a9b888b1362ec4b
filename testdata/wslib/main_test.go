// Package wslib measures the WebSocket libraries natsock could build on,
// on the path that matters to it: many small frames to one connection.
// It is its own module so that the candidates never enter natsock's
// go.mod. Run: cd testdata/wslib && go test -bench . -benchtime=20000x -count=3
package wslib

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

var payload = []byte(`42["newTaskAssigned",{"taskName":"` + strings.Repeat("x", 160) + `"}]`)

const batch = 16 // frames queued per connection between writes

// pair starts h behind an httptest server and dials it; the client side
// discards everything it reads.
func pair(b *testing.B, h http.HandlerFunc) (*httptest.Server, net.Conn) {
	srv := httptest.NewServer(h)
	c, _, _, err := ws.Dial(b.Context(), strings.Replace(srv.URL, "http", "ws", 1))
	if err != nil {
		b.Fatal(err)
	}
	go io.Copy(io.Discard, c)
	return srv, c
}

func BenchmarkGorillaWriteMessage(b *testing.B) {
	ready := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{}
	srv, c := pair(b, func(w http.ResponseWriter, r *http.Request) {
		conn, _ := up.Upgrade(w, r, nil)
		ready <- conn
		select {}
	})
	defer srv.Close()
	defer c.Close()
	conn := <-ready
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < batch; j++ {
			conn.WriteMessage(websocket.TextMessage, payload)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/frame")
}

func BenchmarkGorillaPrepared(b *testing.B) {
	ready := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{}
	srv, c := pair(b, func(w http.ResponseWriter, r *http.Request) {
		conn, _ := up.Upgrade(w, r, nil)
		ready <- conn
		select {}
	})
	defer srv.Close()
	defer c.Close()
	conn := <-ready
	pm, _ := websocket.NewPreparedMessage(websocket.TextMessage, payload)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < batch; j++ {
			conn.WritePreparedMessage(pm)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/frame")
}

func BenchmarkGobwasFramesWritev(b *testing.B) {
	ready := make(chan net.Conn, 1)
	srv, c := pair(b, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, _ := ws.UpgradeHTTP(r, w)
		ready <- conn
		select {}
	})
	defer srv.Close()
	defer c.Close()
	conn := <-ready
	var hb sliceW
	ws.WriteHeader(&hb, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(payload))})
	frame := append(hb.b, payload...) // encoded once, shared by every recipient
	bufs := make(net.Buffers, 0, batch)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bufs = bufs[:0]
		for j := 0; j < batch; j++ {
			bufs = append(bufs, frame)
		}
		w := bufs
		w.WriteTo(conn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/frame")
}

type sliceW struct{ b []byte }

func (w *sliceW) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
