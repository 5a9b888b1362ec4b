package sio_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/natsock/natsock/protocol/sio"
)

func TestDecoderDecode(t *testing.T) {
	type want struct {
		typ  sio.Type
		nsp  string
		id   int64
		atts int
		data string // "" means no data
	}
	tests := []struct {
		name    string
		in      string
		v4      bool // decode with V4 only (the v5 decoder must refuse or differ)
		want    want
		wantErr error
	}{
		// CONNECT
		{name: "a bare CONNECT joins the main namespace", in: "0", want: want{typ: sio.Connect, nsp: "/", id: sio.NoID}},
		{name: "a CONNECT may carry an auth object", in: `0{"token":"123"}`, want: want{typ: sio.Connect, nsp: "/", id: sio.NoID, data: `{"token":"123"}`}},
		{name: "a CONNECT names its namespace before a comma", in: `0/custom,{"token":"abc"}`, want: want{typ: sio.Connect, nsp: "/custom", id: sio.NoID, data: `{"token":"abc"}`}},
		{name: "a CONNECT namespace may end with a comma and nothing else", in: "0/custom,", want: want{typ: sio.Connect, nsp: "/custom", id: sio.NoID}},
		{name: "a CONNECT namespace may end the packet without a comma", in: "0/custom", want: want{typ: sio.Connect, nsp: "/custom", id: sio.NoID}},
		{name: "a v2 namespace keeps its query string", in: "0/admin?token=abc", v4: true, want: want{typ: sio.Connect, nsp: "/admin?token=abc", id: sio.NoID}},
		{name: "a CONNECT with an array is refused", in: "0[1]", wantErr: sio.ErrBadPayload},
		{name: "a CONNECT with a string is refused", in: `0"x"`, wantErr: sio.ErrBadPayload},
		{name: "a CONNECT with broken JSON is refused", in: `0{"token":}`, wantErr: sio.ErrBadJSON},
		// DISCONNECT
		{name: "a DISCONNECT leaves the main namespace", in: "1", want: want{typ: sio.Disconnect, nsp: "/", id: sio.NoID}},
		{name: "a DISCONNECT leaves a named namespace", in: "1/custom,", want: want{typ: sio.Disconnect, nsp: "/custom", id: sio.NoID}},
		{name: "a DISCONNECT with a payload is refused", in: "1{}", wantErr: sio.ErrBadPayload},
		// EVENT
		{name: "an EVENT is an array led by its name", in: `2["message",1,"2",{"3":[true]}]`, want: want{typ: sio.Event, nsp: "/", id: sio.NoID, data: `["message",1,"2",{"3":[true]}]`}},
		{name: "an EVENT may ask for an ack", in: `2456["message-with-ack",1]`, want: want{typ: sio.Event, nsp: "/", id: 456, data: `["message-with-ack",1]`}},
		{name: "an EVENT names its namespace and id", in: `2/custom,7["x"]`, want: want{typ: sio.Event, nsp: "/custom", id: 7, data: `["x"]`}},
		{name: "an EVENT may be named by a number", in: `2[42,"a"]`, want: want{typ: sio.Event, nsp: "/", id: sio.NoID, data: `[42,"a"]`}},
		{name: "an EVENT id of 2^53-1 is the largest accepted", in: `29007199254740991["x"]`, want: want{typ: sio.Event, nsp: "/", id: sio.MaxID, data: `["x"]`}},
		{name: "an EVENT id of 2^53 is refused", in: `29007199254740992["x"]`, wantErr: sio.ErrBadID},
		{name: "an EVENT id of seventeen digits is refused", in: `212345678901234567["x"]`, wantErr: sio.ErrBadID},
		{name: "an EVENT id keeps its leading zeros' value", in: `2007["x"]`, want: want{typ: sio.Event, nsp: "/", id: 7, data: `["x"]`}},
		{name: "an EVENT may have white space around its array", in: `2 ["x"] `, want: want{typ: sio.Event, nsp: "/", id: sio.NoID, data: ` ["x"] `}},
		{name: "an EVENT name with escapes is unquoted before the reserved check", in: `2["\u0063onnect"]`, wantErr: sio.ErrBadPayload},
		{name: "an EVENT named connect is reserved", in: `2["connect"]`, wantErr: sio.ErrBadPayload},
		{name: "an EVENT named disconnecting is reserved", in: `2["disconnecting",1]`, wantErr: sio.ErrBadPayload},
		{name: "an EVENT without an array is refused", in: "2{}", wantErr: sio.ErrBadPayload},
		{name: "an EVENT without any data is refused", in: "2", wantErr: sio.ErrBadPayload},
		{name: "an EVENT with an empty array is refused", in: "2[]", wantErr: sio.ErrBadPayload},
		{name: "an EVENT named by an object is refused", in: `2[{"a":1}]`, wantErr: sio.ErrBadPayload},
		{name: "an EVENT named by null is refused", in: `2[null]`, wantErr: sio.ErrBadPayload},
		{name: "an EVENT with text before its array is refused", in: `2abc["x"]`, wantErr: sio.ErrBadJSON},
		{name: "an EVENT with broken JSON is refused", in: `2["x",]`, wantErr: sio.ErrBadJSON},
		{name: "an EVENT with trailing data is refused", in: `2["x"]]`, wantErr: sio.ErrBadJSON},
		// ACK
		{name: "an ACK carries its id and an array", in: `3456[1,"2",{"3":[false]}]`, want: want{typ: sio.Ack, nsp: "/", id: 456, data: `[1,"2",{"3":[false]}]`}},
		{name: "an ACK may carry an empty array", in: `3/custom,0[]`, want: want{typ: sio.Ack, nsp: "/custom", id: 0, data: `[]`}},
		{name: "an ACK without an id is refused", in: `3[1]`, wantErr: sio.ErrBadID},
		{name: "an ACK with an object is refused", in: `31{}`, wantErr: sio.ErrBadPayload},
		// CONNECT_ERROR
		{name: "a CONNECT_ERROR carries an object", in: `4/random,{"message":"Invalid namespace"}`, want: want{typ: sio.ConnectError, nsp: "/random", id: sio.NoID, data: `{"message":"Invalid namespace"}`}},
		{name: "a v2 CONNECT_ERROR may carry a string", in: `4"Not authorized"`, v4: true, want: want{typ: sio.ConnectError, nsp: "/", id: sio.NoID, data: `"Not authorized"`}},
		{name: "a CONNECT_ERROR without data is refused", in: `4`, wantErr: sio.ErrBadPayload},
		// BINARY_EVENT and BINARY_ACK
		{name: "a BINARY_EVENT announces its attachments", in: `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
			want: want{typ: sio.BinaryEvent, nsp: "/", id: sio.NoID, atts: 2, data: `["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`}},
		{name: "a BINARY_EVENT names its namespace and id after the count", in: `51-/custom,12["x",{"_placeholder":true,"num":0}]`,
			want: want{typ: sio.BinaryEvent, nsp: "/custom", id: 12, atts: 1, data: `["x",{"_placeholder":true,"num":0}]`}},
		{name: "a BINARY_ACK carries its count, id and array", in: `62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
			want: want{typ: sio.BinaryAck, nsp: "/", id: 789, atts: 2, data: `[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`}},
		{name: "a BINARY_EVENT with no attachment is accepted", in: `50-["x"]`, want: want{typ: sio.BinaryEvent, nsp: "/", id: sio.NoID, data: `["x"]`}},
		{name: "a BINARY_EVENT may announce the default maximum, socket.io's 10", in: `510-["x"]`, want: want{typ: sio.BinaryEvent, nsp: "/", id: sio.NoID, atts: 10, data: `["x"]`}},
		{name: "a BINARY_EVENT past the attachment bound is refused", in: `511-["x"]`, wantErr: sio.ErrBadAttachments},
		{name: "a BINARY_EVENT count of five digits is refused", in: `500001-["x"]`, wantErr: sio.ErrBadAttachments},
		{name: "a BINARY_EVENT without its count is refused", in: `5["x"]`, wantErr: sio.ErrBadAttachments},
		{name: "a BINARY_EVENT without the dash is refused", in: `51["x"]`, wantErr: sio.ErrBadAttachments},
		{name: "a BINARY_EVENT cut after its count is refused", in: `51`, wantErr: sio.ErrBadAttachments},
		// Not a packet
		{name: "an empty packet is refused", in: "", wantErr: sio.ErrEmpty},
		{name: "type 7 is unknown", in: `7["x"]`, wantErr: sio.ErrUnknownType},
		{name: "a letter is an unknown type", in: "abc", wantErr: sio.ErrUnknownType},
	}
	for _, tt := range tests {
		for _, v4 := range []bool{false, true} {
			name := tt.name + " (v5 decoder)"
			if v4 {
				name = tt.name + " (v4 decoder)"
			}
			t.Run(name, func(t *testing.T) {
				p, err := sio.Decoder{V4: v4}.Decode([]byte(tt.in))
				wantErr := tt.wantErr
				if tt.v4 && !v4 {
					// The v5 decoder may accept the v2 namespace form, but
					// never a string CONNECT_ERROR.
					if tt.want.typ == sio.ConnectError {
						wantErr = sio.ErrBadPayload
					}
				}
				if wantErr != nil {
					if !errors.Is(err, wantErr) {
						t.Fatalf("Decode(%q) error = %v, want %v", tt.in, err, wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("Decode(%q): %v", tt.in, err)
				}
				got := want{typ: p.Type, nsp: p.Namespace, id: p.ID, atts: p.Attachments, data: string(p.Data)}
				if got != tt.want {
					t.Errorf("Decode(%q) = %+v, want %+v", tt.in, got, tt.want)
				}
				if tt.want.data == "" && p.Data != nil {
					t.Errorf("Decode(%q).Data = %q, want nil", tt.in, p.Data)
				}
			})
		}
	}
}

func TestDecoderMaxAttachments(t *testing.T) {
	tests := []struct {
		name string
		max  int
		in   string
		ok   bool
	}{
		{name: "a count at a lower bound is accepted", max: 2, in: `52-["x"]`, ok: true},
		{name: "a count past a lower bound is refused", max: 2, in: `53-["x"]`, ok: false},
		{name: "a raised bound accepts four-digit counts", max: 9999, in: `59999-["x"]`, ok: true},
		{name: "zero means the default bound", max: 0, in: `511-["x"]`, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sio.Decoder{MaxAttachments: tt.max}.Decode([]byte(tt.in))
			if tt.ok != (err == nil) {
				t.Errorf("Decode(%q) with MaxAttachments %d: error = %v, want ok=%v", tt.in, tt.max, err, tt.ok)
			}
			if err != nil && !errors.Is(err, sio.ErrBadAttachments) {
				t.Errorf("error = %v, want %v", err, sio.ErrBadAttachments)
			}
		})
	}
}

func TestDecodeAliasesItsInput(t *testing.T) {
	in := []byte(`2["x",1]`)
	p, err := sio.Decoder{}.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if &p.Data[0] != &in[1] {
		t.Errorf("Data does not alias the input")
	}
}

func TestAppend(t *testing.T) {
	tests := []struct {
		name string
		p    sio.Packet
		want string
	}{
		{name: "a CONNECT answer to the main namespace", p: sio.Packet{Type: sio.Connect, Namespace: "/", ID: sio.NoID, Data: []byte(`{"sid":"abc"}`)}, want: `0{"sid":"abc"}`},
		{name: "a CONNECT answer to a named namespace", p: sio.Packet{Type: sio.Connect, Namespace: "/custom", ID: sio.NoID, Data: []byte(`{"sid":"abc"}`)}, want: `0/custom,{"sid":"abc"}`},
		{name: "an empty namespace is the main one", p: sio.Packet{Type: sio.Disconnect, ID: sio.NoID}, want: `1`},
		{name: "an EVENT with an ack id", p: sio.Packet{Type: sio.Event, Namespace: "/", ID: 12, Data: []byte(`["x"]`)}, want: `212["x"]`},
		{name: "an ACK with id zero", p: sio.Packet{Type: sio.Ack, Namespace: "/a", ID: 0, Data: []byte(`[]`)}, want: `3/a,0[]`},
		{name: "a BINARY_ACK with its count", p: sio.Packet{Type: sio.BinaryAck, Namespace: "/", ID: 789, Attachments: 2, Data: []byte(`[1]`)}, want: `62-789[1]`},
		{name: "a BINARY_EVENT with no attachment still has its count", p: sio.Packet{Type: sio.BinaryEvent, Namespace: "/", ID: sio.NoID, Data: []byte(`["x"]`)}, want: `50-["x"]`},
		{name: "a CONNECT_ERROR names its namespace", p: sio.Packet{Type: sio.ConnectError, Namespace: "/random", ID: sio.NoID, Data: []byte(`{"message":"Invalid namespace"}`)}, want: `4/random,{"message":"Invalid namespace"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sio.Append([]byte("x"), tt.p)
			if string(got) != "x"+tt.want {
				t.Errorf("Append = %q, want %q", got[1:], tt.want)
			}
			hdr := sio.AppendHeader(nil, tt.p)
			if !bytes.Equal(append(hdr, tt.p.Data...), got[1:]) {
				t.Errorf("AppendHeader + Data = %q, want %q", hdr, got[1:])
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	names := map[sio.Type]string{
		sio.Connect: "CONNECT", sio.Disconnect: "DISCONNECT", sio.Event: "EVENT", sio.Ack: "ACK",
		sio.ConnectError: "CONNECT_ERROR", sio.BinaryEvent: "BINARY_EVENT", sio.BinaryAck: "BINARY_ACK", sio.Type(7): "Type(7)",
	}
	for typ, want := range names {
		t.Run("type "+want+" is named "+want, func(t *testing.T) {
			if got := typ.String(); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if bin := strings.HasPrefix(want, "BINARY"); typ.IsBinary() != bin {
				t.Errorf("IsBinary() = %v, want %v", typ.IsBinary(), bin)
			}
		})
	}
}

func TestIsReserved(t *testing.T) {
	tests := []struct {
		name  string
		event string
		want  bool
	}{
		{"connect is reserved", "connect", true},
		{"connect_error is reserved", "connect_error", true},
		{"disconnect is reserved", "disconnect", true},
		{"disconnecting is reserved", "disconnecting", true},
		{"newListener is reserved", "newListener", true},
		{"removeListener is reserved", "removeListener", true},
		{"message is free", "message", false},
		{"the check is case-sensitive", "Connect", false},
		{"an empty name is free", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sio.IsReserved(tt.event); got != tt.want {
				t.Errorf("IsReserved(%q) = %v, want %v", tt.event, got, tt.want)
			}
		})
	}
}
