//go:build linux

package engine_test

// Polling benchmarks: messages queued for a real polling session, then
// collected by a GET on a keep-alive loopback connection that this
// process reads.
//
//	go test -run='^$' -bench=PollingGET ./protocol/engine/

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/natsock/natsock/protocol/engine"
)

// pollBenchClient does GETs on one keep-alive connection and reads the
// answers into a buffer it reuses.
type pollBenchClient struct {
	conn net.Conn
	r    *bufio.Reader
	body []byte
}

// roundTrip sends req and returns the answer's status and body, valid
// until the next call.
func (c *pollBenchClient) roundTrip(req []byte) (int, []byte, error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, nil, err
	}
	status, length := 0, -1
	for first := true; ; first = false {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if first {
			if len(line) < 12 {
				return 0, nil, fmt.Errorf("status line %q", line)
			}
			status, err = strconv.Atoi(string(line[9:12]))
			if err != nil {
				return 0, nil, fmt.Errorf("status line %q", line)
			}
			continue
		}
		if k, v, ok := bytes.Cut(line, []byte(": ")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, nil, fmt.Errorf("Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return 0, nil, fmt.Errorf("an answer without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return 0, nil, err
	}
	return status, c.body, nil
}

// startPollBench serves a zero-config engine.Server (logs discarded) on
// 127.0.0.1 and opens one polling session to it; it returns the session,
// the client and the GET request that polls it.
func startPollBench(b *testing.B) (*engine.Server, *engine.Session, *pollBenchClient, []byte) {
	b.Helper()
	h := sendBenchHandler{opened: make(chan *engine.Session, 1)}
	// No ping in a benchmark's time: every body is the messages alone.
	cfg := engine.Config{Logger: slog.New(slog.DiscardHandler), PingInterval: time.Hour}
	srv, err := engine.NewServer(cfg, h)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	_ = ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			b.Errorf("closing the server: %v", err)
		}
		ts.Close()
	})
	conn, err := net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() }) // runs before the server closes
	c := &pollBenchClient{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	host := ln.Addr().String()
	status, body, err := c.roundTrip([]byte("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: " + host + "\r\n\r\n"))
	if err != nil || status != 200 || !bytes.HasPrefix(body, []byte("0{")) {
		b.Fatalf("handshake: %d %q %v", status, body, err)
	}
	var open struct{ SID string }
	if err := json.Unmarshal(body[1:], &open); err != nil || open.SID == "" {
		b.Fatalf("open packet %q: %v", body, err)
	}
	var sess *engine.Session
	select {
	case sess = <-h.opened:
	case <-time.After(10 * time.Second):
		b.Fatal("no session opened")
	}
	get := []byte("GET /engine.io/?EIO=4&transport=polling&sid=" + open.SID + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
	return srv, sess, c, get
}

// BenchmarkPollingGET is the cost of delivering a batch of 150 B messages
// to a polling client in one GET, per message: queueing each with
// Session.Send, encoding the payload, and the HTTP round trip on a
// keep-alive loopback connection (the client's parsing runs in this
// process and counts in cpu-ns/op too). A batch of 50 is what a GET
// carried in bench/compare.sh's polling row.
func BenchmarkPollingGET(b *testing.B) {
	_, sess, c, get := startPollBench(b)
	msg := engine.NewTextMessage(bytes.Repeat([]byte("x"), 150))
	for _, batch := range []int{1, 50} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			want := batch*(1+msg.Size()+1) - 1 // records of "4" and the data, separated
			cpu0 := sendBenchCPU()
			b.ReportAllocs()
			b.SetBytes(int64(msg.Size()))
			b.ResetTimer()
			for i := 0; i < b.N; i += batch { // b.N rounded up to whole batches
				for range batch {
					if err := sess.Send(msg); err != nil {
						b.Fatalf("send: %v", err)
					}
				}
				status, body, err := c.roundTrip(get)
				if err != nil || status != 200 {
					b.Fatalf("GET: %d %v", status, err)
				}
				if len(body) != want {
					b.Fatalf("a body of %d bytes, want %d", len(body), want)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((sendBenchCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
