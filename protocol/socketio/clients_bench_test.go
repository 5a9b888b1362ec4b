//go:build linux

package socketio_test

// The benchmarks' side of the wire: raw Socket.IO clients on gobwas/ws that
// cost as little as a client can, and the helper processes the benchmarks
// re-execute this test binary as, so that a server and its clients can be
// measured apart. Nothing here runs in a plain `go test`: the helper tests
// skip unless a benchmark started them.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/natsock/natsock/protocol/socketio"
)

// Environment variables that turn this test binary into a benchmark helper.
const (
	// benchEnvClients holds the socket.io URL the clients helper dials.
	benchEnvClients = "NATSOCK_BENCH_CLIENTS_URL"
	// benchEnvClientsN is how many clients it opens.
	benchEnvClientsN = "NATSOCK_BENCH_CLIENTS_N"
	// benchEnvServe makes the server helper serve.
	benchEnvServe = "NATSOCK_BENCH_SERVE"
	// benchEnvHeapProfile, when set in the environment of
	// BenchmarkIdleWebSocket10k, makes the server helper record every
	// allocation and write its in-use heap profile to this path once the
	// connections are idle.
	benchEnvHeapProfile = "NATSOCK_BENCH_IDLE_HEAPPROFILE"
)

// benchLinePrefix marks the helpers' protocol lines on stdout, apart from
// whatever the testing package prints there.
const benchLinePrefix = "NATSOCK-BENCH "

var (
	// Client frames are masked; one mask for all of them is allowed.
	benchConnectFrame = ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame([]byte("40"))))
	benchPongFrame    = ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame([]byte("3"))))
)

func benchLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// benchURL is the websocket URL of a socket.io endpoint served at addr.
func benchURL(addr string) string {
	return "ws://" + addr + "/socket.io/?EIO=4&transport=websocket"
}

// benchClient is one raw Socket.IO client: it does the Engine.IO and
// Socket.IO handshakes itself and then only counts events.
type benchClient struct {
	conn   net.Conn
	r      *bufio.Reader
	hbuf   [ws.MaxHeaderSize - 2]byte
	events atomic.Int64 // frames whose payload starts with "42"
}

// benchDial opens a websocket to url, reads the open packet, joins "/" and
// reads the CONNECT answer. readBuf sizes the client's read buffer.
func benchDial(ctx context.Context, url string, readBuf int) (*benchClient, error) {
	return benchDialHeader(ctx, url, readBuf, nil)
}

// benchDialHeader is benchDial with extra request headers, each line
// ending in CRLF.
func benchDialHeader(ctx context.Context, url string, readBuf int, header ws.HandshakeHeader) (*benchClient, error) {
	conn, br, _, err := ws.Dialer{Timeout: 10 * time.Second, Header: header}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	var src io.Reader = conn
	if br != nil {
		// The open packet may have come with the upgrade response.
		early, _ := br.Peek(br.Buffered())
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
		ws.PutReader(br)
	}
	c := &benchClient{conn: conn, r: bufio.NewReaderSize(src, readBuf)}
	fail := func(err error) (*benchClient, error) {
		_ = conn.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	open, err := c.readText()
	if err != nil {
		return fail(fmt.Errorf("reading the open packet: %w", err))
	}
	if !bytes.HasPrefix(open, []byte("0{")) {
		return fail(fmt.Errorf("open packet is %q", open))
	}
	if _, err := conn.Write(benchConnectFrame); err != nil {
		return fail(err)
	}
	ack, err := c.readText()
	if err != nil {
		return fail(fmt.Errorf("reading the CONNECT answer: %w", err))
	}
	if !bytes.HasPrefix(ack, []byte("40{")) {
		return fail(fmt.Errorf("CONNECT answer is %q", ack))
	}
	_ = conn.SetDeadline(time.Time{})
	return c, nil
}

// readText reads one whole text frame (handshake only: it allocates).
func (c *benchClient) readText() ([]byte, error) {
	for {
		h, err := ws.ReadHeaderBuffer(c.r, c.hbuf[:])
		if err != nil {
			return nil, err
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.r, p); err != nil {
			return nil, err
		}
		switch h.OpCode {
		case ws.OpText:
			return p, nil
		case ws.OpClose:
			return nil, io.EOF
		}
	}
}

// readLoop counts events until the connection ends, answering pings. It
// does not allocate per frame: payloads are peeked and discarded.
func (c *benchClient) readLoop(r *benchReaders) {
	for {
		h, err := ws.ReadHeaderBuffer(c.r, c.hbuf[:])
		if err != nil || h.OpCode == ws.OpClose {
			return
		}
		n := int(h.Length)
		if h.OpCode == ws.OpText {
			if b, _ := c.r.Peek(min(n, 2)); len(b) == 2 && b[0] == '4' && b[1] == '2' {
				c.events.Add(1)
				r.total.Add(1)
				select {
				case r.notify <- struct{}{}:
				default:
				}
			} else if n == 1 && len(b) == 1 && b[0] == '2' {
				if _, err := c.conn.Write(benchPongFrame); err != nil {
					return
				}
			}
		}
		if _, err := c.r.Discard(n); err != nil {
			return
		}
	}
}

// benchDialAll opens n clients, workers at a time. On error it closes
// those it opened.
func benchDialAll(ctx context.Context, url string, n, workers, readBuf int) ([]*benchClient, error) {
	return benchDialAllHeader(ctx, url, n, workers, readBuf, nil)
}

// benchDialAllHeader is benchDialAll with extra request headers.
func benchDialAllHeader(ctx context.Context, url string, n, workers, readBuf int, header ws.HandshakeHeader) ([]*benchClient, error) {
	clients := make([]*benchClient, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := benchDialHeader(ctx, url, readBuf, header)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("client %d: %w", i, err) })
					cancel()
					return
				}
				clients[i] = c
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		for _, c := range clients {
			if c != nil {
				_ = c.conn.Close()
			}
		}
		return nil, firstErr
	}
	return clients, nil
}

// benchReaders runs every client's readLoop on its own goroutine.
type benchReaders struct {
	clients []*benchClient
	wg      sync.WaitGroup
	total   atomic.Int64  // events counted by all clients
	notify  chan struct{} // signalled after every event
	timeout *time.Timer   // waitTotal's, stopped when idle
}

func startBenchReaders(clients []*benchClient) *benchReaders {
	r := &benchReaders{clients: clients, notify: make(chan struct{}, 1), timeout: time.NewTimer(time.Hour)}
	r.timeout.Stop()
	for _, c := range clients {
		r.wg.Go(func() { c.readLoop(r) })
	}
	return r
}

// waitTotal blocks until the clients have counted at least target events
// in all, or for at most timeout.
// It does not allocate, so that allocs/op is the server's.
func (r *benchReaders) waitTotal(target int64, timeout time.Duration) bool {
	if r.total.Load() >= target {
		return true
	}
	r.timeout.Reset(timeout)
	defer r.timeout.Stop()
	for r.total.Load() < target {
		select {
		case <-r.notify:
		case <-r.timeout.C:
			return r.total.Load() >= target
		}
	}
	return true
}

// minSince returns the fewest events any client counted beyond base[i].
func (r *benchReaders) minSince(base []int64) int64 {
	m := int64(-1)
	for i, c := range r.clients {
		if d := c.events.Load() - base[i]; m < 0 || d < m {
			m = d
		}
	}
	return m
}

func (r *benchReaders) counts() []int64 {
	out := make([]int64, len(r.clients))
	for i, c := range r.clients {
		out[i] = c.events.Load()
	}
	return out
}

// close closes every client and waits for the readers.
func (r *benchReaders) close() {
	for _, c := range r.clients {
		_ = c.conn.Close()
	}
	r.wg.Wait()
}

// TestBenchClientsHelper is BenchmarkBroadcast1000Subprocess's client
// process. It opens the clients, prints READY, then answers "COUNT" lines
// on stdin with the fewest events a client has counted and the total; when
// stdin closes it closes the clients and prints the totals.
func TestBenchClientsHelper(t *testing.T) {
	url := os.Getenv(benchEnvClients)
	if url == "" {
		t.Skip("helper process for BenchmarkBroadcast1000Subprocess")
	}
	n, err := strconv.Atoi(os.Getenv(benchEnvClientsN))
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive count", benchEnvClientsN, os.Getenv(benchEnvClientsN))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	clients, err := benchDialAll(ctx, url, n, 32, 4096)
	cancel()
	if err != nil {
		t.Fatalf("opening clients: %v", err)
	}
	r := startBenchReaders(clients)
	base := make([]int64, n)
	fmt.Printf("%sREADY %d\n", benchLinePrefix, n)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "COUNT" {
			fmt.Printf("%sCOUNT %d %d\n", benchLinePrefix, r.minSince(base), r.total.Load())
		}
	}
	r.close()
	fmt.Printf("%sTOTAL %d %d\n", benchLinePrefix, r.minSince(base), r.total.Load())
}

// TestBenchServerHelper is BenchmarkIdleWebSocket10k's server process: a
// socketio.Server on 127.0.0.1 that prints "READY addr", answers "MEM"
// lines on stdin with its memory after a full GC, and shuts down when
// stdin closes.
func TestBenchServerHelper(t *testing.T) {
	if os.Getenv(benchEnvServe) == "" {
		t.Skip("helper process for BenchmarkIdleWebSocket10k")
	}
	profile := os.Getenv(benchEnvHeapProfile)
	if profile != "" {
		runtime.MemProfileRate = 1
	}
	srv, err := socketio.NewServer(socketio.Config{Logger: benchLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Printf("%sREADY %s\n", benchLinePrefix, ln.Addr())

	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "MEM":
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("%sMEM sessions=%d sockets=%d goroutines=%d heapinuse=%d stackinuse=%d mspaninuse=%d mcacheinuse=%d gcsys=%d othersys=%d buckhashsys=%d heapobjects=%d\n",
				benchLinePrefix, srv.Engine().Count(), srv.Of("/").Len(), runtime.NumGoroutine(),
				ms.HeapInuse, ms.StackInuse, ms.MSpanInuse, ms.MCacheInuse, ms.GCSys, ms.OtherSys, ms.BuckHashSys, ms.HeapObjects)
		case "HEAPPROFILE":
			if profile != "" {
				if err := benchWriteHeapProfile(profile); err != nil {
					t.Errorf("heap profile: %v", err)
				}
			}
			fmt.Printf("%sHEAPPROFILE %s\n", benchLinePrefix, profile)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	if err := srv.Close(ctx); err != nil {
		t.Errorf("closing the server: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("serve: %v", err)
	}
	fmt.Printf("%sBYE\n", benchLinePrefix)
}

func benchWriteHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// benchChild is a helper process: this test binary re-executed to run one
// helper test, spoken to by lines on stdin and stdout.
type benchChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // the helper's protocol lines, prefix removed
	stderr *bytes.Buffer
	waited chan error
	once   sync.Once
}

// startBenchChild runs the helper test named test with the extra
// environment env. The child is bounded by -test.timeout and ends when its
// stdin closes.
func startBenchChild(tb testing.TB, test string, env ...string) *benchChild {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	c := &benchChild{cmd: cmd, stdin: stdin, lines: make(chan string, 16), stderr: new(bytes.Buffer), waited: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), benchLinePrefix); ok {
				c.lines <- line
			}
		}
		close(c.lines)
		c.waited <- cmd.Wait()
	}()
	tb.Cleanup(func() {
		if err := c.stop(30 * time.Second); err != nil {
			tb.Errorf("helper %s: %v\n%s", test, err, c.stderr)
		}
	})
	return c
}

// pid is the child's process id.
func (c *benchChild) pid() int { return c.cmd.Process.Pid }

// send writes one command line to the child.
func (c *benchChild) send(tb testing.TB, cmd string) {
	tb.Helper()
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		tb.Fatalf("writing %q to the helper: %v", cmd, err)
	}
}

// expect returns the fields of the child's next line, which must start with
// word, within timeout.
func (c *benchChild) expect(tb testing.TB, word string, timeout time.Duration) []string {
	tb.Helper()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-c.lines:
		if !ok {
			tb.Fatalf("helper exited before %s\nstderr:\n%s", word, c.stderr)
		}
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != word {
			tb.Fatalf("helper said %q, want %s", line, word)
		}
		return f[1:]
	case <-t.C:
		tb.Fatalf("no %s from the helper within %v", word, timeout)
	}
	return nil
}

// stop closes the child's stdin and waits for it to exit, killing it
// (by its pid) if it takes longer than timeout. Safe to call twice.
func (c *benchChild) stop(timeout time.Duration) error {
	var err error
	c.once.Do(func() {
		_ = c.stdin.Close()
		t := time.NewTimer(timeout)
		defer t.Stop()
		drain := func() {
			for range c.lines {
			}
		}
		go drain()
		select {
		case err = <-c.waited:
		case <-t.C:
			_ = c.cmd.Process.Kill()
			<-c.waited
			err = fmt.Errorf("did not exit within %v; killed", timeout)
		}
	})
	return err
}

// keyValues parses "k=v" fields into integers.
func keyValues(tb testing.TB, fields []string) map[string]int64 {
	tb.Helper()
	m := make(map[string]int64, len(fields))
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			tb.Fatalf("bad field %q", f)
		}
		m[k] = n
	}
	return m
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procRSS returns a process's resident set size in bytes, from
// /proc/PID/status.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
