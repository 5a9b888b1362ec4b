//go:build linux

package socketio_test

// Broadcast and idle-connection benchmarks over real loopback websockets.
//
//	go test -run='^$' -bench=Broadcast1000 -benchtime=2000x ./protocol/socketio/
//	go test -run='^$' -bench=IdleWebSocket10k -benchtime=1x ./protocol/socketio/
//
// They run only with -bench. Every server, client, goroutine and helper
// process they start is closed before they return.

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/natsock/natsock/protocol/socketio"
)

// benchRecipients is the number of clients a broadcast reaches.
const benchRecipients = 1000

// benchEvent is the ~200 byte JSON object every broadcast carries.
const benchEvent = `{"subject":"orders.eu.created","id":"3f0c9a2e-6c1b-4a7e-9b8e-2d4f5a6b7c8d",` +
	`"ts":1735689600123,"amount":129.95,"currency":"EUR",` +
	`"items":[{"sku":"A-1001","qty":2},{"sku":"B-2002","qty":1}],"note":"benchmark payload"}`

// benchWindow bounds how many broadcasts a burst run lets be in flight, so
// that no session's queue comes near its bound (10000 messages, 4 MiB).
const (
	benchWindow = 256
	benchCheck  = 32 // look at progress every benchCheck broadcasts
)

// startBenchServer serves a zero-config socketio.Server (logs discarded)
// on 127.0.0.1 and closes it when b ends.
func startBenchServer(b *testing.B) (*socketio.Server, string) {
	b.Helper()
	srv, err := socketio.NewServer(socketio.Config{Logger: benchLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	ts := httptest.NewUnstartedServer(mux)
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
	return srv, benchURL(ln.Addr().String())
}

func benchData(b *testing.B) socketio.Data {
	b.Helper()
	d, err := socketio.Args(json.RawMessage(benchEvent))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// broadcastRun is one timed run of b.N broadcasts to benchRecipients.
type broadcastRun struct {
	ns   *socketio.Namespace
	data socketio.Data
	// paced waits for each broadcast to be delivered before the next (one
	// frame per write per recipient); otherwise up to benchWindow
	// broadcasts are in flight and the engine may batch them.
	paced bool
	// waitFor blocks until target recipient frames of this run have been
	// delivered (in-process) or written (subprocess); false on timeout.
	waitFor func(target int64) bool
	// finish blocks until every client has counted b.N events of this run.
	finish func(b *testing.B)
}

// run times the broadcasts and reports the per-frame metrics; cpuUnit
// names what the process's CPU time covers.
func (r broadcastRun) run(b *testing.B, cpuUnit string) {
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if sent := r.ns.Emit("ev", r.data); sent != benchRecipients {
			b.Fatalf("broadcast %d reached %d sockets, want %d", i, sent, benchRecipients)
		}
		done := int64(i + 1)
		switch {
		case r.paced:
			if !r.waitFor(done * benchRecipients) {
				b.Fatalf("broadcast %d not delivered in time", i)
			}
		case done%benchCheck == 0 && done > benchWindow:
			if !r.waitFor((done - benchWindow) * benchRecipients) {
				b.Fatalf("broadcasts stalled at %d", i)
			}
		}
	}
	r.finish(b)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)

	frames := float64(b.N) * benchRecipients
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/frames, "ns/frame")
	b.ReportMetric(frames/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/frames, cpuUnit)
	allocs := float64(ms1.Mallocs - ms0.Mallocs)
	b.ReportMetric(allocs/float64(b.N), "allocs/broadcast")
	b.ReportMetric(allocs/frames, "allocs/frame")
}

// BenchmarkBroadcast1000 broadcasts one ~200 B event to 1000 websocket
// clients that run in this process, so "proc-cpu-ns/frame" is the server's
// and the clients' CPU together; BenchmarkBroadcast1000Subprocess measures
// the server alone.
func BenchmarkBroadcast1000(b *testing.B) {
	srv, url := startBenchServer(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	clients, err := benchDialAll(ctx, url, benchRecipients, 32, 4096)
	cancel()
	if err != nil {
		b.Fatalf("opening clients: %v", err)
	}
	readers := startBenchReaders(clients)
	b.Cleanup(readers.close) // before the server closes: cleanups run last-in first-out
	ns := srv.Of("/")
	if n := ns.Len(); n != benchRecipients {
		b.Fatalf("%d sockets joined, want %d", n, benchRecipients)
	}
	data := benchData(b)

	for _, paced := range []bool{false, true} {
		name := "burst"
		if paced {
			name = "paced"
		}
		b.Run(name, func(b *testing.B) {
			base := readers.counts()
			total0 := readers.total.Load()
			slow0 := srv.Engine().Stats().SlowClosed
			broadcastRun{
				ns: ns, data: data, paced: paced,
				waitFor: func(target int64) bool {
					return readers.waitTotal(total0+target, 30*time.Second)
				},
				finish: func(b *testing.B) {
					want := int64(b.N)
					if !readers.waitTotal(total0+want*benchRecipients, 60*time.Second) {
						b.Fatalf("clients counted %d events, want %d", readers.total.Load()-total0, want*benchRecipients)
					}
					if got := readers.minSince(base); got != want {
						b.Fatalf("a client counted %d events, want %d", got, want)
					}
				},
			}.run(b, "proc-cpu-ns/frame")
			if slow := srv.Engine().Stats().SlowClosed - slow0; slow != 0 {
				b.Fatalf("%d sessions closed as slow consumers", slow)
			}
		})
	}
}

// BenchmarkBroadcast1000Subprocess is BenchmarkBroadcast1000 with the 1000
// clients in a helper process (TestBenchClientsHelper), so that this
// process's CPU time, allocations and profiles are the server's alone:
// "server-cpu-ns/frame" is getrusage(RUSAGE_SELF) per recipient frame and
// "allocs/broadcast" the server's mallocs per Emit. On loopback the kernel
// charges the receiving side's TCP processing to the sender, so the CPU
// figure includes part of the clients' kernel work.
func BenchmarkBroadcast1000Subprocess(b *testing.B) {
	srv, url := startBenchServer(b)
	child := startBenchChild(b, "TestBenchClientsHelper",
		benchEnvClients+"="+url, benchEnvClientsN+"="+strconv.Itoa(benchRecipients))
	child.expect(b, "READY", 60*time.Second)
	ns := srv.Of("/")
	if n := ns.Len(); n != benchRecipients {
		b.Fatalf("%d sockets joined, want %d", n, benchRecipients)
	}
	eng := srv.Engine()
	data := benchData(b)

	// count asks the helper for the fewest events a client has counted.
	count := func(b *testing.B) (least, total int64) {
		child.send(b, "COUNT")
		f := child.expect(b, "COUNT", 10*time.Second)
		if len(f) != 2 {
			b.Fatalf("COUNT answer %q", f)
		}
		return atoi64(b, f[0]), atoi64(b, f[1])
	}

	for _, paced := range []bool{false, true} {
		name := "burst"
		if paced {
			name = "paced"
		}
		b.Run(name, func(b *testing.B) {
			least0, _ := count(b)
			frames0 := int64(eng.Stats().Frames)
			slow0 := eng.Stats().SlowClosed
			written := func(target int64, deadline time.Time) bool {
				for int64(eng.Stats().Frames)-frames0 < target {
					if time.Now().After(deadline) {
						return false
					}
					time.Sleep(50 * time.Microsecond)
				}
				return true
			}
			broadcastRun{
				ns: ns, data: data, paced: paced,
				waitFor: func(target int64) bool {
					return written(target, time.Now().Add(30*time.Second))
				},
				finish: func(b *testing.B) {
					want := int64(b.N)
					deadline := time.Now().Add(60 * time.Second)
					if !written(want*benchRecipients, deadline) {
						b.Fatalf("server wrote %d frames, want %d", int64(eng.Stats().Frames)-frames0, want*benchRecipients)
					}
					for {
						least, total := count(b)
						if least-least0 >= want {
							return
						}
						if time.Now().After(deadline) {
							b.Fatalf("a client counted %d events, want %d (all clients: %d)", least-least0, want, total)
						}
						time.Sleep(time.Millisecond)
					}
				},
			}.run(b, "server-cpu-ns/frame")
			if slow := eng.Stats().SlowClosed - slow0; slow != 0 {
				b.Fatalf("%d sessions closed as slow consumers", slow)
			}
		})
	}
}

// idleMem is the server helper's memory after a full GC.
type idleMem struct {
	fields map[string]int64
	rss    int64
}

// runtimeInUse is the memory the Go runtime has in use: heap spans, stacks
// and the runtime's own structures.
func (m idleMem) runtimeInUse() int64 {
	f := m.fields
	return f["heapinuse"] + f["stackinuse"] + f["mspaninuse"] + f["mcacheinuse"] +
		f["gcsys"] + f["othersys"] + f["buckhashsys"]
}

func readIdleMem(b *testing.B, child *benchChild) idleMem {
	b.Helper()
	child.send(b, "MEM")
	m := idleMem{fields: keyValues(b, child.expect(b, "MEM", 30*time.Second))}
	rss, err := procRSS(child.pid())
	if err != nil {
		b.Fatal(err)
	}
	m.rss = rss
	return m
}

// BenchmarkIdleWebSocket10k measures what an idle Socket.IO websocket
// connection costs the server: a socketio.Server runs in a helper process
// (TestBenchServerHelper), this process opens 10,000 raw websocket clients
// that join "/", and the helper's memory after a full GC and
// debug.FreeOSMemory is compared before and after. B/conn is the Go
// runtime's in-use memory (heap, stacks, runtime structures) per
// connection; rss-B/conn is the helper's VmRSS growth per connection.
// Kernel socket buffers are in neither. The clients send either the
// websocket handshake's headers alone ("minimal") or those of a browser as
// well ("browser": user agent, origin, language, a cookie), which the
// session's Handshake keeps. One iteration opens and closes all 10,000
// connections; run it with -benchtime=1x. It needs 10,000 file descriptors
// in each process and is skipped under -race, whose goroutine limit is
// 8128.
//
// Set NATSOCK_BENCH_IDLE_HEAPPROFILE=/path to have the helper write an
// every-allocation in-use heap profile of the idle connections (the
// MemProfileRate=1 bookkeeping slows the handshakes and inflates B/conn).
func BenchmarkIdleWebSocket10k(b *testing.B) {
	const conns = 10_000
	if benchRaceEnabled() {
		b.Skip("10,000 connections exceed the race detector's goroutine limit")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < conns+512 {
		b.Skipf("needs %d file descriptors, ulimit -n is %d", conns+512, lim.Cur)
	}
	for _, tc := range []struct {
		name   string
		header func(addr string) ws.HandshakeHeader
	}{
		{"headers=minimal", func(string) ws.HandshakeHeader { return nil }},
		{"headers=browser", func(addr string) ws.HandshakeHeader {
			return ws.HandshakeHeaderString("" +
				"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n" +
				"Origin: http://" + addr + "\r\n" +
				"Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n" +
				"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
				"Cache-Control: no-cache\r\n" +
				"Pragma: no-cache\r\n" +
				"Cookie: session=4f9c2a7e1b3d5f60718293a4b5c6d7e8; theme=dark\r\n" +
				"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var sum struct{ total, heap, stack, rss, goroutines, objects, dial float64 }
			for range b.N {
				b.StopTimer()
				before, after, dial := idleOnce(b, conns, tc.header)
				b.StartTimer()
				n := float64(conns)
				sum.total += float64(after.runtimeInUse()-before.runtimeInUse()) / n
				sum.heap += float64(after.fields["heapinuse"]-before.fields["heapinuse"]) / n
				sum.stack += float64(after.fields["stackinuse"]-before.fields["stackinuse"]) / n
				sum.rss += float64(after.rss-before.rss) / n
				sum.goroutines += float64(after.fields["goroutines"]-before.fields["goroutines"]) / n
				sum.objects += float64(after.fields["heapobjects"]-before.fields["heapobjects"]) / n
				sum.dial += n / dial.Seconds()
			}
			n := float64(b.N)
			b.ReportMetric(sum.total/n, "B/conn")
			b.ReportMetric(sum.heap/n, "heap-B/conn")
			b.ReportMetric(sum.stack/n, "stack-B/conn")
			b.ReportMetric(sum.rss/n, "rss-B/conn")
			b.ReportMetric(sum.goroutines/n, "goroutines/conn")
			b.ReportMetric(sum.objects/n, "objects/conn")
			b.ReportMetric(sum.dial/n, "handshakes/s")
		})
	}
}

// benchRaceEnabled reports whether the test binary was built with -race.
func benchRaceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// idleOnce starts the server helper, measures it, opens conns idle
// clients with the headers header returns for the helper's address,
// measures it again and closes everything.
func idleOnce(b *testing.B, conns int, header func(addr string) ws.HandshakeHeader) (before, after idleMem, dial time.Duration) {
	b.Helper()
	child := startBenchChild(b, "TestBenchServerHelper", benchEnvServe+"=1")
	addr := child.expect(b, "READY", 30*time.Second)[0]
	before = readIdleMem(b, child)

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	start := time.Now()
	b.StartTimer()
	clients, err := benchDialAllHeader(ctx, benchURL(addr), conns, 64, 512, header(addr))
	b.StopTimer()
	dial = time.Since(start)
	cancel()
	if err != nil {
		b.Fatalf("opening %d clients: %v", conns, err)
	}
	defer func() {
		// The helper closes its side first, so the client ports end in
		// neither TIME_WAIT nor a half-open state.
		if err := child.stop(30 * time.Second); err != nil {
			b.Errorf("server helper: %v\n%s", err, child.stderr)
		}
		for _, c := range clients {
			_ = c.conn.Close()
		}
	}()
	for i := range clients {
		clients[i].r = nil // the clients are done reading
	}
	after = readIdleMem(b, child)
	if s, k := after.fields["sessions"], after.fields["sockets"]; s != int64(conns) || k != int64(conns) {
		b.Fatalf("helper has %d sessions and %d sockets, want %d", s, k, conns)
	}
	child.send(b, "HEAPPROFILE")
	child.expect(b, "HEAPPROFILE", 30*time.Second)
	return before, after, dial
}

func atoi64(b *testing.B, s string) int64 {
	b.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
