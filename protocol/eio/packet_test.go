package eio_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/natsock/natsock/protocol/eio"
)

func TestDecodeText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    eio.Packet
		wantErr error
	}{
		{name: "an open packet keeps its handshake JSON", in: `0{"sid":"x"}`, want: eio.Packet{Type: eio.Open, Data: []byte(`{"sid":"x"}`)}},
		{name: "a close packet has no data", in: "1", want: eio.Packet{Type: eio.Close, Data: []byte{}}},
		{name: "a ping probe carries its probe text", in: "2probe", want: eio.Packet{Type: eio.Ping, Data: []byte("probe")}},
		{name: "a pong has no data", in: "3", want: eio.Packet{Type: eio.Pong, Data: []byte{}}},
		{name: "a text message keeps its bytes", in: "4hello", want: eio.Packet{Type: eio.Message, Data: []byte("hello")}},
		{name: "an empty message is allowed", in: "4", want: eio.Packet{Type: eio.Message, Data: []byte{}}},
		{name: "a message keeps non-ASCII text as it came", in: "4h\u00e9llo \U0001F600", want: eio.Packet{Type: eio.Message, Data: []byte("h\u00e9llo \U0001F600")}},
		{name: "an upgrade packet is decoded", in: "5", want: eio.Packet{Type: eio.Upgrade, Data: []byte{}}},
		{name: "a noop packet is decoded", in: "6", want: eio.Packet{Type: eio.Noop, Data: []byte{}}},
		{name: "b and base64 is a binary message", in: "bAQIDBA==", want: eio.Packet{Type: eio.Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
		{name: "b alone is an empty binary message", in: "b", want: eio.Packet{Type: eio.Message, Data: []byte{}, Binary: true}},
		{name: "an empty packet is refused", in: "", wantErr: eio.ErrEmptyPacket},
		{name: "type 7 is unknown", in: "7", wantErr: eio.ErrUnknownType},
		{name: "a letter other than b is an unknown type", in: "abc", wantErr: eio.ErrUnknownType},
		{name: "a byte below '0' is an unknown type", in: "/4", wantErr: eio.ErrUnknownType},
		{name: "a v3 binary prefix is not v4 base64", in: "b4AQID", wantErr: eio.ErrBadBase64},
		{name: "base64 without its padding is refused", in: "bAQI", wantErr: eio.ErrBadBase64},
		{name: "base64 cut inside a quantum is refused", in: "bAQIDB", wantErr: eio.ErrBadBase64},
		{name: "characters outside base64 are refused", in: "b!!!!", wantErr: eio.ErrBadBase64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eio.DecodeText([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodeText(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeText(%q): %v", tt.in, err)
			}
			assertPacket(t, got, tt.want)
		})
	}
}

func TestDecodeTextAliasesItsInput(t *testing.T) {
	in := []byte("4hello")
	p, err := eio.DecodeText(in)
	if err != nil {
		t.Fatal(err)
	}
	in[1] = 'j'
	if string(p.Data) != "jello" {
		t.Errorf("Data = %q after changing the input, want it to alias the input", p.Data)
	}
}

func TestDecodeBinaryV3(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    eio.Packet
		wantErr error
	}{
		{name: "a message frame drops its type byte", in: []byte{4, 1, 2, 3}, want: eio.Packet{Type: eio.Message, Data: []byte{1, 2, 3}, Binary: true}},
		{name: "a message frame with nothing after the type is empty", in: []byte{4}, want: eio.Packet{Type: eio.Message, Data: []byte{}, Binary: true}},
		{name: "an empty frame is refused", in: []byte{}, wantErr: eio.ErrEmptyPacket},
		{name: "a ping in a binary frame is refused", in: []byte{2, 'x'}, wantErr: eio.ErrBinaryControl},
		{name: "a close in a binary frame is refused", in: []byte{1}, wantErr: eio.ErrBinaryControl},
		{name: "type byte 7 is unknown", in: []byte{7, 0}, wantErr: eio.ErrUnknownType},
		{name: "an ASCII type digit is not a type byte", in: []byte("4abc"), wantErr: eio.ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eio.DecodeBinaryV3(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodeBinaryV3(%v) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeBinaryV3(%v): %v", tt.in, err)
			}
			assertPacket(t, got, tt.want)
		})
	}
}

func TestAppendText(t *testing.T) {
	tests := []struct {
		name string
		in   eio.Packet
		want string
	}{
		{name: "a text message is its type digit and data", in: eio.Packet{Type: eio.Message, Data: []byte("hello")}, want: "4hello"},
		{name: "a ping with no data is one digit", in: eio.Packet{Type: eio.Ping}, want: "2"},
		{name: "a pong answers a probe", in: eio.Packet{Type: eio.Pong, Data: []byte("probe")}, want: "3probe"},
		{name: "a binary message is b and base64", in: eio.Packet{Type: eio.Message, Data: []byte{1, 2, 3, 4}, Binary: true}, want: "bAQIDBA=="},
		{name: "an empty binary message is b alone", in: eio.Packet{Type: eio.Message, Binary: true}, want: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eio.AppendText([]byte("prefix:"), tt.in)
			if string(got) != "prefix:"+tt.want {
				t.Errorf("AppendText = %q, want %q", got, "prefix:"+tt.want)
			}
			if n := eio.TextLen(tt.in); n != len(tt.want) {
				t.Errorf("TextLen = %d, want %d", n, len(tt.want))
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		typ  eio.Type
		want string
	}{
		{eio.Open, "open"}, {eio.Close, "close"}, {eio.Ping, "ping"}, {eio.Pong, "pong"},
		{eio.Message, "message"}, {eio.Upgrade, "upgrade"}, {eio.Noop, "noop"}, {eio.Type(9), "Type(9)"},
	}
	for _, tt := range tests {
		t.Run("type "+tt.want+" is named "+tt.want, func(t *testing.T) {
			if got := tt.typ.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if valid := tt.typ <= eio.Noop; tt.typ.Valid() != valid {
				t.Errorf("Valid() = %v, want %v", tt.typ.Valid(), valid)
			}
		})
	}
}

func assertPacket(t *testing.T, got, want eio.Packet) {
	t.Helper()
	if got.Type != want.Type || got.Binary != want.Binary || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("packet = {%s %q binary=%v}, want {%s %q binary=%v}",
			got.Type, got.Data, got.Binary, want.Type, want.Data, want.Binary)
	}
}
