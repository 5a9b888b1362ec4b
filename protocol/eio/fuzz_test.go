package eio_test

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/natsock/natsock/protocol/eio"
)

// Seeds are real packets: what socket.io clients (v2 and v4) and the
// server put on the wire, plus the malformed ones the conformance suite
// sends.
var textSeeds = []string{
	`0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
	"1", "2", "3", "2probe", "3probe", "5", "6",
	"4hello", `40{"token":"123"}`, `42["message",1,"2",{"3":[true]}]`,
	`451-["message",{"_placeholder":true,"num":0}]`,
	"bAQIDBA==", "b", "b4AQID", "abc", "", "7", "4\xff\xfe", "4\U0001F600",
}

func isOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func samePackets(t *testing.T, what string, got, want []eio.Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d packets, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].Type != want[i].Type || got[i].Binary != want[i].Binary || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("%s: packet %d = {%s %q %v}, want {%s %q %v}", what, i,
				got[i].Type, got[i].Data, got[i].Binary, want[i].Type, want[i].Data, want[i].Binary)
		}
	}
}

func FuzzDecodeText(f *testing.F) {
	for _, s := range textSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		p, err := eio.DecodeText(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("DecodeText changed its input")
		}
		if err != nil {
			if !isOneOf(err, eio.ErrEmptyPacket, eio.ErrUnknownType, eio.ErrBadBase64) {
				t.Fatalf("DecodeText(%q): unexpected error %v", b, err)
			}
			if len(b) > 0 && b[0] >= '0' && b[0] <= '6' {
				t.Fatalf("DecodeText(%q) refused a packet with a valid type digit: %v", b, err)
			}
			return
		}
		if !p.Type.Valid() {
			t.Fatalf("DecodeText(%q) gave invalid type %d", b, p.Type)
		}
		if b[0] == 'b' {
			if !p.Binary || p.Type != eio.Message {
				t.Fatalf("DecodeText(%q) = %+v, want a binary message", b, p)
			}
		} else {
			if p.Binary || byte(p.Type) != b[0]-'0' || !bytes.Equal(p.Data, b[1:]) {
				t.Fatalf("DecodeText(%q) = %+v, want type %c and data %q", b, p, b[0], b[1:])
			}
			if out := eio.AppendText(nil, p); !bytes.Equal(out, b) {
				t.Fatalf("AppendText(DecodeText(%q)) = %q, want the input back", b, out)
			}
		}
		out := eio.AppendText(nil, p)
		if eio.TextLen(p) != len(out) {
			t.Fatalf("TextLen = %d, AppendText wrote %d bytes", eio.TextLen(p), len(out))
		}
		again, err := eio.DecodeText(out)
		if err != nil {
			t.Fatalf("DecodeText(AppendText(p)) for %q: %v", out, err)
		}
		samePackets(t, "text round trip", []eio.Packet{again}, []eio.Packet{p})
	})
}

func FuzzDecodeBinaryV3(f *testing.F) {
	f.Add([]byte{4, 1, 2, 3})
	f.Add([]byte{4})
	f.Add([]byte{})
	f.Add([]byte{2, 'p', 'r', 'o', 'b', 'e'})
	f.Add([]byte("4hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := eio.DecodeBinaryV3(b)
		wantOK := len(b) > 0 && b[0] == byte(eio.Message)
		if (err == nil) != wantOK {
			t.Fatalf("DecodeBinaryV3(%v) error = %v, want ok=%v", b, err, wantOK)
		}
		if err != nil {
			if !isOneOf(err, eio.ErrEmptyPacket, eio.ErrUnknownType, eio.ErrBinaryControl) {
				t.Fatalf("DecodeBinaryV3(%v): unexpected error %v", b, err)
			}
			return
		}
		if p.Type != eio.Message || !p.Binary || !bytes.Equal(p.Data, b[1:]) {
			t.Fatalf("DecodeBinaryV3(%v) = %+v", b, p)
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range textSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("4test1\x1e4test2\x1e4test3"))
	f.Add([]byte("4hello\x1ebAQIDBA=="))
	f.Add([]byte("3\x1e1"))
	f.Add([]byte("4a\x1e"))
	f.Add([]byte("\x1e"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := collect(eio.DecodePayload, body)

		// A payload is valid exactly when every record between separators
		// is a valid text packet.
		var want []eio.Packet
		var wantErr error
		if len(body) == 0 {
			wantErr = eio.ErrBadPayload
		} else {
			for _, rec := range bytes.Split(body, []byte{eio.Separator}) {
				p, err := eio.DecodeText(rec)
				if err != nil {
					wantErr = err
					break
				}
				want = append(want, p)
			}
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("DecodePayload(%q) error = %v, records say %v", body, err, wantErr)
		}
		if err != nil {
			if !isOneOf(err, eio.ErrBadPayload, eio.ErrEmptyPacket, eio.ErrUnknownType, eio.ErrBadBase64) {
				t.Fatalf("DecodePayload(%q): unexpected error %v", body, err)
			}
			return
		}
		samePackets(t, "DecodePayload against DecodeText per record", got, want)

		var rebuilt []byte
		for _, p := range got {
			rebuilt = eio.AppendPayloadRecord(rebuilt, eio.AppendText(nil, p))
		}
		again, err := collect(eio.DecodePayload, rebuilt)
		if err != nil {
			t.Fatalf("re-encoded payload %q: %v", rebuilt, err)
		}
		samePackets(t, "payload round trip", again, got)
	})
}

func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range textSeeds {
		if s != "" {
			f.Add(eio.AppendPayloadRecordV3(nil, []byte(s)))
		}
	}
	f.Add([]byte("6:4hello1:22:4a"))
	f.Add([]byte("10:b4AQIDBA=="))
	f.Add([]byte("3:4\U0001F600"))
	f.Add([]byte("2:4\U0001F600"))
	f.Add([]byte("0:"))
	f.Add([]byte("+2:4a"))
	f.Add([]byte("97:0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":5000}2:40"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := collect(eio.DecodePayloadV3, body)
		if err != nil {
			if !isOneOf(err, eio.ErrBadPayload, eio.ErrEmptyPacket, eio.ErrUnknownType, eio.ErrBadBase64, eio.ErrBinaryControl) {
				t.Fatalf("DecodePayloadV3(%q): unexpected error %v", body, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("DecodePayloadV3(%q) accepted a payload with no packet", body)
		}
		var rebuilt []byte
		for _, p := range got {
			if p.Binary && p.Type != eio.Message {
				t.Fatalf("DecodePayloadV3(%q) gave binary %s", body, p.Type)
			}
			rebuilt = eio.AppendPayloadRecordV3(rebuilt, eio.AppendTextV3(nil, p))
		}
		again, err := collect(eio.DecodePayloadV3, rebuilt)
		if err != nil {
			t.Fatalf("re-encoded payload %q: %v", rebuilt, err)
		}
		samePackets(t, "v3 payload round trip", again, got)
	})
}

// appendBinaryPayloadV3 encodes packets as a v3 binary payload, the way a
// socket.io v2 client posts them with Content-Type application/octet-stream.
func appendBinaryPayloadV3(dst []byte, p eio.Packet) []byte {
	var rec []byte
	kind := byte(0)
	if p.Binary {
		kind = 1
		rec = append([]byte{byte(p.Type)}, p.Data...)
	} else {
		rec = eio.AppendTextV3(nil, p)
	}
	dst = append(dst, kind)
	for _, d := range strconv.Itoa(len(rec)) {
		dst = append(dst, byte(d-'0'))
	}
	dst = append(dst, 0xff)
	return append(dst, rec...)
}

func FuzzDecodeBinaryPayloadV3(f *testing.F) {
	f.Add([]byte("\x00\x06\xff4hello"))
	f.Add([]byte("\x01\x04\xff\x04\x01\x02\x03"))
	f.Add([]byte("\x00\x02\xff4a\x01\x02\xff\x04\x09\x00\x01\xff2"))
	f.Add([]byte("\x00\x06\xffb4AQ=="))
	f.Add([]byte("\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff4"))
	f.Add([]byte("\x02\x01\xff4"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := collect(eio.DecodeBinaryPayloadV3, body)
		if err != nil {
			if !isOneOf(err, eio.ErrBadPayload, eio.ErrEmptyPacket, eio.ErrUnknownType, eio.ErrBadBase64, eio.ErrBinaryControl) {
				t.Fatalf("DecodeBinaryPayloadV3(%q): unexpected error %v", body, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("DecodeBinaryPayloadV3(%q) accepted a payload with no packet", body)
		}
		var rebuilt []byte
		for _, p := range got {
			rebuilt = appendBinaryPayloadV3(rebuilt, p)
		}
		again, err := collect(eio.DecodeBinaryPayloadV3, rebuilt)
		if err != nil {
			t.Fatalf("re-encoded payload %q: %v", rebuilt, err)
		}
		samePackets(t, "v3 binary payload round trip", again, got)
	})
}

// FuzzPacketRoundTrip builds a packet from its parts and checks that every
// encoder's output decodes back to it.
func FuzzPacketRoundTrip(f *testing.F) {
	f.Add(byte(4), []byte("hello"), false)
	f.Add(byte(4), []byte{1, 2, 3, 4}, true)
	f.Add(byte(2), []byte("probe"), false)
	f.Add(byte(4), []byte("h\u00e9llo \U0001F600 \xff"), false)
	f.Add(byte(4), []byte{}, true)
	f.Fuzz(func(t *testing.T, typ byte, data []byte, bin bool) {
		p := eio.Packet{Type: eio.Type(typ % 7), Data: data, Binary: bin}
		if bin {
			p.Type = eio.Message
		}
		if p.Data == nil {
			p.Data = []byte{}
		}
		want := []eio.Packet{p}

		got, err := eio.DecodeText(eio.AppendText(nil, p))
		if err != nil {
			t.Fatalf("DecodeText(AppendText(%+v)): %v", p, err)
		}
		samePackets(t, "v4 text", []eio.Packet{got}, want)

		if bin || bytes.IndexByte(data, eio.Separator) < 0 {
			// A v4 payload cannot carry a text packet holding the
			// separator: Engine.IO v4 has no escape for it.
			body := eio.AppendPayloadRecord(eio.AppendPayloadRecord(nil, eio.AppendText(nil, p)), eio.AppendText(nil, p))
			pkts, err := collect(eio.DecodePayload, body)
			if err != nil {
				t.Fatalf("DecodePayload(%q): %v", body, err)
			}
			samePackets(t, "v4 payload", pkts, append(want, p))
		}

		body := eio.AppendPayloadRecordV3(nil, eio.AppendTextV3(nil, p))
		body = eio.AppendPayloadRecordV3(body, eio.AppendTextV3(nil, p))
		pkts, err := collect(eio.DecodePayloadV3, body)
		if err != nil {
			t.Fatalf("DecodePayloadV3(%q): %v", body, err)
		}
		samePackets(t, "v3 payload", pkts, append(want, p))

		bbody := appendBinaryPayloadV3(nil, p)
		pkts, err = collect(eio.DecodeBinaryPayloadV3, bbody)
		if err != nil {
			t.Fatalf("DecodeBinaryPayloadV3(%q): %v", bbody, err)
		}
		samePackets(t, "v3 binary payload", pkts, want)
	})
}
