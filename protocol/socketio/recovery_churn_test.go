package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natsock/natsock/protocol/socketio"
)

// TestRecoveryUnderChurn holds resumes to the lock order and to their
// promise under -race: clients drop and resume over and over while events
// with offsets go to every socket, the server disconnects some sockets,
// and a small hold bound closes some resuming connections. Every
// connection's events must be contiguous in seq (all go to everyone, so a
// gap is a lost event) and, for a resumed one, start right after the
// offset the client sent.
func TestRecoveryUnderChurn(t *testing.T) {
	srv, rec, url := recoveryServer(t, socketio.Config{RecoveryHold: 8})
	ns := srv.Of("/")
	var connects atomic.Int64
	ns.OnConnect(func(s *socketio.Socket) {
		if connects.Add(1)%5 == 0 {
			go s.Disconnect(true)
		}
		s.Join("extra")
	})

	const (
		clients    = 4
		rounds     = 12
		maxEvents  = 20000 // the publisher's bound
		finishWait = 60 * time.Second
	)
	stop := make(chan struct{})
	var pubWG sync.WaitGroup
	pubWG.Go(func() {
		d, _ := socketio.Args("x")
		for range maxEvents {
			select {
			case <-stop:
				return
			default:
			}
			rec.publishData("", "n", d)
			time.Sleep(100 * time.Microsecond) // pace, not synchronization
		}
	})

	var (
		mu       sync.Mutex
		problems []string
		resumed  atomic.Int64
		events   atomic.Int64
	)
	report := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			user := "u" + strconv.Itoa(i)
			var pid string
			var offset uint64
			for range rounds {
				st := churnResume(url, user, pid, offset, report)
				if st.pid != "" {
					pid = st.pid
				}
				if st.last > 0 {
					offset = st.last
				}
				if st.resumed {
					resumed.Add(1)
				}
				events.Add(st.events)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(finishWait):
		t.Fatalf("the churn did not finish within %v: a deadlock?", finishWait)
	}
	close(stop)
	pubWG.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s", len(problems), strings.Join(problems[:min(len(problems), 20)], "\n"))
	}
	if resumed.Load() == 0 || events.Load() == 0 {
		t.Fatalf("%d resumes, %d events: the churn tested nothing", resumed.Load(), events.Load())
	}
	t.Logf("%d connects, %d resumed, %d events received", connects.Load(), resumed.Load(), events.Load())
}

type churnState struct {
	pid     string
	last    uint64
	resumed bool
	events  int64
}

// churnResume connects as user (resuming pid from offset when pid is
// set), reads up to a few dozen messages or until a short deadline, checks
// that the offsets it got are contiguous, and hangs up.
func churnResume(url, user, pid string, offset uint64, report func(string, ...any)) churnState {
	var st churnState
	ctx, cancel := context.WithTimeout(context.Background(), rawWait)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		return st
	}
	defer conn.Close()
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{r, conn}
	auth := fmt.Sprintf(`{"user":%q}`, user)
	if pid != "" {
		auth = resumeAuth(user, pid, offset)
	}
	if wsutil.WriteClientText(conn, []byte("40"+auth)) != nil {
		return st
	}
	// Read a while (a bound on the loop, not a synchronization).
	_ = conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	var last uint64
	for range 40 {
		b, op, err := wsutil.ReadServerData(rw)
		if err != nil {
			break
		}
		msg := string(b)
		switch {
		case op != ws.OpText:
		case msg == "2":
			_ = wsutil.WriteClientText(conn, []byte("3"))
		case strings.HasPrefix(msg, "40{"):
			var a connectAnswer
			if json.Unmarshal([]byte(msg[2:]), &a) != nil || a.PID == nil {
				report("%s: CONNECT answer %q", user, msg)
				return st
			}
			st.pid = *a.PID
			st.resumed = pid != "" && *a.PID == pid
			if st.resumed {
				last = offset
			}
		case strings.HasPrefix(msg, `42["n"`):
			var args []json.RawMessage
			var off string
			if json.Unmarshal([]byte(msg[2:]), &args) != nil || len(args) != 3 || json.Unmarshal(args[2], &off) != nil {
				report("%s: event %q", user, msg)
				return st
			}
			seq, err := strconv.ParseUint(off, 10, 64)
			if err != nil {
				report("%s: offset %q", user, off)
				return st
			}
			if last != 0 && seq != last+1 {
				report("%s: seq %d after %d (resumed %v from %d)", user, seq, last, st.resumed, offset)
			}
			last = seq
			st.last = seq
			st.events++
		}
	}
	return st
}
