package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/natsock/natsock/protocol/socketio"
)

func TestArgs(t *testing.T) {
	tests := []struct {
		name    string
		values  []any
		args    []string
		atts    int
		wantErr string
	}{
		{name: "raw JSON is kept byte for byte", values: []any{json.RawMessage(`{"n":12345678901234567890}`)}, args: []string{`{"n":12345678901234567890}`}},
		{name: "bytes become an attachment and a placeholder", values: []any{[]byte{1, 2}}, args: []string{`{"_placeholder":true,"num":0}`}, atts: 1},
		{name: "other values are marshalled", values: []any{"x", 1, nil}, args: []string{`"x"`, `1`, `null`}},
		{name: "invalid raw JSON is refused", values: []any{json.RawMessage(`{`)}, wantErr: "argument 0"},
		{name: "raw JSON that is not UTF-8 is refused", values: []any{json.RawMessage("\"caf\xe9\"")}, wantErr: "UTF-8"},
		{name: "an unmarshalable value is refused", values: []any{make(chan int)}, wantErr: "argument 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := socketio.Args(tt.values...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Args error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Args) != len(tt.args) || len(d.Attachments) != tt.atts {
				t.Fatalf("Args = %q with %d attachments", d.Args, len(d.Attachments))
			}
			for i, a := range d.Args {
				if string(a) != tt.args[i] {
					t.Errorf("arg %d = %s, want %s", i, a, tt.args[i])
				}
			}
		})
	}
}

func TestReservedEventsAreNotSent(t *testing.T) {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	if n := srv.Of("/").Emit("connect", socketio.Data{}); n != 0 {
		t.Fatalf("Emit(connect) reached %d sockets", n)
	}
	var s socketio.Socket
	if err := s.Emit("disconnect", socketio.Data{}); !errors.Is(err, socketio.ErrReserved) {
		t.Fatalf("Socket.Emit(disconnect) = %v, want ErrReserved", err)
	}
}
