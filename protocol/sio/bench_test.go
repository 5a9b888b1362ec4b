package sio_test

import (
	"strings"
	"testing"

	"github.com/natsock/natsock/protocol/sio"
)

var (
	sinkPacket sio.Packet
	sinkName   string
	sinkArgs   [][]byte
	sinkBytes  []byte
)

var benchPackets = []struct {
	name string
	text []byte
}{
	{"small event", []byte(`2["chat message",{"user":"ann","text":"hello, world"}]`)},
	{"event with ack and namespace", []byte(`2/chat,456["message-with-ack",1,"2",{"3":[true]},null,-1.5e3]`)},
	{"binary event", []byte(`52-["upload",{"_placeholder":true,"num":0},{"name":"a.png","parts":[{"_placeholder":true,"num":1}]}]`)},
	{"4 KiB string argument", []byte(`2["message","` + strings.Repeat("x", 4096) + `"]`)},
}

func BenchmarkDecoderDecode(b *testing.B) {
	var d sio.Decoder
	for _, c := range benchPackets {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.text)))
			for b.Loop() {
				p, err := d.Decode(c.text)
				if err != nil {
					b.Fatal(err)
				}
				sinkPacket = p
			}
		})
	}
}

func BenchmarkSplitEvent(b *testing.B) {
	for _, c := range benchPackets {
		p, err := sio.Decoder{}.Decode(c.text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Data)))
			for b.Loop() {
				name, args, err := sio.SplitEvent(p.Data)
				if err != nil {
					b.Fatal(err)
				}
				sinkName, sinkArgs = name, args
			}
		})
	}
}

func BenchmarkAppendEventData(b *testing.B) {
	cases := []struct {
		name  string
		event string
		args  [][]byte
	}{
		{"plain name and two args", "message-back", [][]byte{[]byte(`{"user":"ann","text":"hello, world"}`), []byte(`42`)}},
		{"name that needs escapes", "caf\u00e9 \"quoted\"\n", [][]byte{[]byte(`1`)}},
		{"4 KiB argument", "message-back", [][]byte{[]byte(`"` + strings.Repeat("x", 4096) + `"`)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 8192)
			for b.Loop() {
				buf = sio.AppendEventData(buf[:0], c.event, c.args...)
			}
			b.SetBytes(int64(len(buf)))
			sinkBytes = buf
		})
	}
}

func BenchmarkValidJSON(b *testing.B) {
	doc := []byte(`{"users":[` + strings.TrimSuffix(strings.Repeat(`{"id":12345,"name":"ann \u00e9","tags":["a","b"],"score":-1.5e3,"ok":true},`, 50), ",") + `]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if err := sio.ValidJSON(doc); err != nil {
			b.Fatal(err)
		}
	}
}
