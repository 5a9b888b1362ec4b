package eio_test

import (
	"errors"
	"testing"

	"github.com/natsock/natsock/protocol/eio"
)

// collect decodes a whole payload with decode and returns its packets.
func collect(decode func([]byte, func(eio.Packet) error) error, body []byte) ([]eio.Packet, error) {
	var got []eio.Packet
	err := decode(body, func(p eio.Packet) error {
		// Copy: a packet's Data may alias the body.
		p.Data = append([]byte{}, p.Data...)
		got = append(got, p)
		return nil
	})
	return got, err
}

type payloadCase struct {
	name    string
	in      string
	want    []eio.Packet
	wantErr error
}

func runPayloadCases(t *testing.T, decode func([]byte, func(eio.Packet) error) error, tests []payloadCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(decode, []byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("decode(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("decode(%q) gave %d packets, want %d", tt.in, len(got), len(tt.want))
			}
			for i := range got {
				assertPacket(t, got[i], tt.want[i])
			}
		})
	}
}

func text(typ eio.Type, data string) eio.Packet {
	return eio.Packet{Type: typ, Data: []byte(data)}
}

func binary(data ...byte) eio.Packet {
	if data == nil {
		data = []byte{}
	}
	return eio.Packet{Type: eio.Message, Data: data, Binary: true}
}

func TestDecodePayload(t *testing.T) {
	runPayloadCases(t, eio.DecodePayload, []payloadCase{
		{name: "one packet is a payload", in: "4hello", want: []eio.Packet{text(eio.Message, "hello")}},
		{name: "three packets come out in order", in: "4test1\x1e4test2\x1e4test3",
			want: []eio.Packet{text(eio.Message, "test1"), text(eio.Message, "test2"), text(eio.Message, "test3")}},
		{name: "text and binary mix", in: "4hello\x1ebAQIDBA==",
			want: []eio.Packet{text(eio.Message, "hello"), binary(1, 2, 3, 4)}},
		{name: "a pong and a close are control packets", in: "3\x1e1",
			want: []eio.Packet{text(eio.Pong, ""), text(eio.Close, "")}},
		{name: "an empty body is refused", in: "", wantErr: eio.ErrBadPayload},
		{name: "a trailing separator leaves an empty record", in: "4a\x1e", wantErr: eio.ErrEmptyPacket},
		{name: "a leading separator leaves an empty record", in: "\x1e4a", wantErr: eio.ErrEmptyPacket},
		{name: "two separators in a row leave an empty record", in: "4a\x1e\x1e4b", wantErr: eio.ErrEmptyPacket},
		{name: "an unknown type in any record fails the payload", in: "4a\x1eabc", wantErr: eio.ErrUnknownType},
		{name: "bad base64 in a record fails the payload", in: "4a\x1eb***", wantErr: eio.ErrBadBase64},
	})
}

func TestDecodePayloadV3(t *testing.T) {
	runPayloadCases(t, eio.DecodePayloadV3, []payloadCase{
		{name: "one record is a payload", in: "6:4hello", want: []eio.Packet{text(eio.Message, "hello")}},
		{name: "records follow each other without separators", in: "2:4a1:2",
			want: []eio.Packet{text(eio.Message, "a"), text(eio.Ping, "")}},
		{name: "a ping probe record", in: "6:2probe", want: []eio.Packet{text(eio.Ping, "probe")}},
		{name: "lengths count UTF-16 units, so an emoji counts two", in: "4:4\U0001F600\u00e9",
			want: []eio.Packet{text(eio.Message, "\U0001F600\u00e9")}},
		{name: "a two-byte character counts one unit", in: "3:4\u00e9x1:6",
			want: []eio.Packet{text(eio.Message, "\u00e9x"), text(eio.Noop, "")}},
		{name: "b4 and base64 is a binary message", in: "10:b4AQIDBA==",
			want: []eio.Packet{binary(1, 2, 3, 4)}},
		{name: "an empty body is refused", in: "", wantErr: eio.ErrBadPayload},
		{name: "a record without a length is refused", in: ":4a", wantErr: eio.ErrBadPayload},
		{name: "a record without a colon is refused", in: "4hello", wantErr: eio.ErrBadPayload},
		{name: "a zero length is refused", in: "0:", wantErr: eio.ErrBadPayload},
		{name: "a negative length is refused", in: "-1:4", wantErr: eio.ErrBadPayload},
		{name: "a length that is not a number is refused", in: "x:4a", wantErr: eio.ErrBadPayload},
		{name: "a length of eleven digits is refused", in: "10000000000:4", wantErr: eio.ErrBadPayload},
		{name: "a length past the body is refused", in: "9:4hello", wantErr: eio.ErrBadPayload},
		{name: "a length that splits a surrogate pair is refused", in: "2:4\U0001F600", wantErr: eio.ErrBadPayload},
		{name: "base64 for a packet other than a message is refused", in: "4:b2AA", wantErr: eio.ErrBinaryControl},
		{name: "b alone is refused", in: "1:b", wantErr: eio.ErrBinaryControl},
		{name: "an unknown type is refused", in: "3:abc", wantErr: eio.ErrUnknownType},
	})
}

func TestDecodeBinaryPayloadV3(t *testing.T) {
	runPayloadCases(t, eio.DecodeBinaryPayloadV3, []payloadCase{
		{name: "a string record holds a text packet", in: "\x00\x06\xff4hello",
			want: []eio.Packet{text(eio.Message, "hello")}},
		{name: "a binary record holds a type byte and bytes", in: "\x01\x04\xff\x04\x01\x02\x03",
			want: []eio.Packet{binary(1, 2, 3)}},
		{name: "lengths of two digits are decimal", in: "\x00\x01\x02\xff4" + "abcdefghijk",
			want: []eio.Packet{text(eio.Message, "abcdefghijk")}},
		{name: "string and binary records follow each other", in: "\x00\x02\xff4a\x01\x02\xff\x04\x09\x00\x01\xff2",
			want: []eio.Packet{text(eio.Message, "a"), binary(9), text(eio.Ping, "")}},
		{name: "a string record may hold v3 base64", in: "\x00\x06\xffb4AQ==", want: []eio.Packet{binary(1)}},
		{name: "an empty body is refused", in: "", wantErr: eio.ErrBadPayload},
		{name: "a kind byte other than 0 or 1 is refused", in: "\x02\x01\xff4", wantErr: eio.ErrBadPayload},
		{name: "a length digit above 9 is refused", in: "\x00\x0a\xff4", wantErr: eio.ErrBadPayload},
		{name: "a missing length is refused", in: "\x00\xff4", wantErr: eio.ErrBadPayload},
		{name: "a zero length is refused", in: "\x00\x00\xff", wantErr: eio.ErrBadPayload},
		{name: "a length without its 0xFF end is refused", in: "\x00\x01", wantErr: eio.ErrBadPayload},
		{name: "a length past the body is refused", in: "\x00\x09\xff4ab", wantErr: eio.ErrBadPayload},
		{name: "a length of eleven digits is refused", in: "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff4", wantErr: eio.ErrBadPayload},
		{name: "a binary record with a control type is refused", in: "\x01\x01\xff\x02", wantErr: eio.ErrBinaryControl},
		{name: "a string record with an unknown type is refused", in: "\x00\x01\xff9", wantErr: eio.ErrUnknownType},
	})
}

func TestPayloadDecodersStopAtTheCallbacksError(t *testing.T) {
	stop := errors.New("stop here")
	tests := []struct {
		name   string
		decode func([]byte, func(eio.Packet) error) error
		body   string
	}{
		{name: "the v4 decoder stops after the first packet", decode: eio.DecodePayload, body: "4a\x1e4b"},
		{name: "the v3 text decoder stops after the first packet", decode: eio.DecodePayloadV3, body: "2:4a2:4b"},
		{name: "the v3 binary decoder stops after the first packet", decode: eio.DecodeBinaryPayloadV3, body: "\x00\x02\xff4a\x00\x02\xff4b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := tt.decode([]byte(tt.body), func(eio.Packet) error {
				calls++
				return stop
			})
			if !errors.Is(err, stop) || calls != 1 {
				t.Errorf("got error %v after %d calls, want %v after 1", err, calls, stop)
			}
		})
	}
}

func TestAppendPayloadRecord(t *testing.T) {
	tests := []struct {
		name    string
		packets []eio.Packet
		want    string
	}{
		{name: "one packet has no separator", packets: []eio.Packet{text(eio.Message, "a")}, want: "4a"},
		{name: "packets are joined by the record separator", packets: []eio.Packet{text(eio.Message, "a"), text(eio.Ping, ""), binary(1, 2, 3, 4)},
			want: "4a\x1e2\x1ebAQIDBA=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			for _, p := range tt.packets {
				b = eio.AppendPayloadRecord(b, eio.AppendText(nil, p))
			}
			if string(b) != tt.want {
				t.Errorf("payload = %q, want %q", b, tt.want)
			}
		})
	}
}

func TestAppendPayloadRecordV3(t *testing.T) {
	tests := []struct {
		name    string
		packets []eio.Packet
		want    string
	}{
		{name: "a text packet is prefixed with its length", packets: []eio.Packet{text(eio.Message, "hello")}, want: "6:4hello"},
		{name: "the length counts UTF-16 units, not bytes", packets: []eio.Packet{text(eio.Message, "\u00e9\u20ac\U0001F600")}, want: "5:4\u00e9\u20ac\U0001F600"},
		{name: "a binary message is b4 and base64", packets: []eio.Packet{binary(1, 2, 3, 4)}, want: "10:b4AQIDBA=="},
		{name: "records follow each other", packets: []eio.Packet{text(eio.Open, "{}"), text(eio.Message, "0")}, want: "3:0{}2:40"},
		{name: "an invalid UTF-8 byte counts one unit", packets: []eio.Packet{text(eio.Message, "\xff")}, want: "2:4\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			for _, p := range tt.packets {
				b = eio.AppendPayloadRecordV3(b, eio.AppendTextV3(nil, p))
			}
			if string(b) != tt.want {
				t.Fatalf("payload = %q, want %q", b, tt.want)
			}
			got, err := collect(eio.DecodePayloadV3, b)
			if err != nil {
				t.Fatalf("decoding it back: %v", err)
			}
			if len(got) != len(tt.packets) {
				t.Fatalf("decoded %d packets, want %d", len(got), len(tt.packets))
			}
			for i := range got {
				want := tt.packets[i]
				if want.Data == nil {
					want.Data = []byte{}
				}
				assertPacket(t, got[i], want)
			}
		})
	}
}
