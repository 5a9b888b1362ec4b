package eio_test

import (
	"bytes"
	"testing"

	"github.com/natsock/natsock/protocol/eio"
)

var sink eio.Packet

func BenchmarkDecodeText(b *testing.B) {
	cases := []struct {
		name string
		in   []byte
	}{
		{"text message", []byte(`42["chat message",{"user":"ann","text":"hello, world"}]`)},
		{"base64 binary message", eio.AppendText(nil, eio.Packet{Type: eio.Message, Data: bytes.Repeat([]byte{1, 2, 3, 4}, 128), Binary: true})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				p, err := eio.DecodeText(c.in)
				if err != nil {
					b.Fatal(err)
				}
				sink = p
			}
		})
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	text := eio.Packet{Type: eio.Message, Data: []byte(`2["chat message",{"user":"ann","text":"hello, world"}]`)}
	bin := eio.Packet{Type: eio.Message, Data: bytes.Repeat([]byte{1, 2, 3, 4}, 64), Binary: true}
	packets := []eio.Packet{text, text, bin, text}
	b.Run("v4", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		rec := make([]byte, 0, 1024)
		for b.Loop() {
			buf = buf[:0]
			for _, p := range packets {
				rec = eio.AppendText(rec[:0], p)
				buf = eio.AppendPayloadRecord(buf, rec)
			}
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("v3", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		rec := make([]byte, 0, 1024)
		for b.Loop() {
			buf = buf[:0]
			for _, p := range packets {
				rec = eio.AppendTextV3(rec[:0], p)
				buf = eio.AppendPayloadRecordV3(buf, rec)
			}
		}
		b.SetBytes(int64(len(buf)))
	})
}

func BenchmarkDecodePayload(b *testing.B) {
	body := []byte("4hello\x1e42[\"chat\",\"hi\"]\x1ebAQIDBA==\x1e3")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		err := eio.DecodePayload(body, func(p eio.Packet) error { sink = p; return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}
