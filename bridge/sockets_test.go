package bridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/natsock/natsock/internal/bridgetest"
)

// receiver is a raw websocket client (bridgetest.Socket) whose packets a
// goroutine reads into a channel, answering pings, until the connection
// ends; then end holds why.
type receiver struct {
	*bridgetest.Socket
	packets chan string
	ended   chan struct{}
	end     error
}

// receive joins "/" on the bridge at base and starts reading.
func receive(t *testing.T, base string) *receiver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	s, err := bridgetest.DialSocket(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{Socket: s, packets: make(chan string, 4096), ended: make(chan struct{})}
	go func() {
		defer close(r.ended)
		for {
			p, err := s.Next(time.Hour)
			if err != nil {
				r.end = err
				return
			}
			r.packets <- p
		}
	}()
	t.Cleanup(func() {
		s.Close()
		<-r.ended
	})
	return r
}

// next returns the next packet, failing the test once within has passed
// or if the connection ended.
func (r *receiver) next(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case p := <-r.packets:
		return p
	case <-r.ended:
		select {
		case p := <-r.packets:
			return p
		default:
		}
		t.Fatalf("the connection ended: %v", r.end)
	case <-time.After(within):
		t.Fatalf("no packet within %v", within)
	}
	return ""
}

// event is one EVENT as a receiver saw it: its name and its one argument,
// raw JSON, or binary when the event carried an attachment.
type event struct {
	name   string
	arg    json.RawMessage
	binary []byte
	isBin  bool
}

// nextEvent returns the next event, joining a binary event to its
// attachment; packets that are not events are skipped.
func (r *receiver) nextEvent(t *testing.T, within time.Duration) event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		p := r.next(t, time.Until(deadline))
		if name, args, ok := bridgetest.ParseEvent(p); ok {
			ev := event{name: name}
			if len(args) > 0 {
				ev.arg = args[0]
			}
			return ev
		}
		if rest, ok := strings.CutPrefix(p, "451-"); ok {
			name, _, ok := bridgetest.ParseEvent("42" + rest)
			if !ok {
				t.Fatalf("binary event %q is not an event", p)
			}
			att := r.next(t, time.Until(deadline))
			bin, isBin := strings.CutPrefix(att, "binary:")
			if !isBin {
				t.Fatalf("a binary event was followed by %q, not its attachment", att)
			}
			return event{name: name, binary: []byte(bin), isBin: true}
		}
	}
}

// waitClosed waits for the connection to end and returns the close frame
// the server sent.
func (r *receiver) waitClosed(t *testing.T, within time.Duration) *bridgetest.Closed {
	t.Helper()
	select {
	case <-r.ended:
	case <-time.After(within):
		t.Fatalf("still connected after %v", within)
	}
	var c *bridgetest.Closed
	if !errors.As(r.end, &c) {
		t.Fatalf("the connection ended without a close frame: %v", r.end)
	}
	return c
}

// connected reports whether the connection is still up.
func (r *receiver) connected() bool {
	select {
	case <-r.ended:
		return false
	default:
		return true
	}
}
