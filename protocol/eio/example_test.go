package eio_test

import (
	"fmt"

	"github.com/natsock/natsock/protocol/eio"
)

func ExampleDecodeText() {
	for _, frame := range []string{"4hello", "2probe", "bAQIDBA=="} {
		p, err := eio.DecodeText([]byte(frame))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %q binary=%v\n", p.Type, p.Data, p.Binary)
	}
	_, err := eio.DecodeText([]byte("abc"))
	fmt.Println(err)
	// Output:
	// message "hello" binary=false
	// ping "probe" binary=false
	// message "\x01\x02\x03\x04" binary=true
	// eio: unknown packet type: 'a'
}

func ExampleDecodeBinaryV3() {
	p, err := eio.DecodeBinaryV3([]byte{4, 0xca, 0xfe})
	fmt.Println(p.Type, p.Data, p.Binary, err)
	// Output: message [202 254] true <nil>
}

func ExampleDecodePayload() {
	body := []byte("4hello\x1ebAQIDBA==\x1e3")
	err := eio.DecodePayload(body, func(p eio.Packet) error {
		fmt.Printf("%s %q\n", p.Type, p.Data)
		return nil
	})
	fmt.Println(err)
	// Output:
	// message "hello"
	// message "\x01\x02\x03\x04"
	// pong ""
	// <nil>
}

func ExampleAppendPayloadRecord() {
	var body []byte
	body = eio.AppendPayloadRecord(body, eio.AppendText(nil, eio.Packet{Type: eio.Message, Data: []byte("hi")}))
	body = eio.AppendPayloadRecord(body, eio.AppendText(nil, eio.Packet{Type: eio.Message, Data: []byte{1, 2}, Binary: true}))
	fmt.Printf("%q\n", body)
	// Output: "4hi\x1ebAQI="
}

func ExampleDecodePayloadV3() {
	// Lengths count UTF-16 code units: the emoji counts two.
	body := []byte("6:4hello3:4\U0001F6001:2")
	err := eio.DecodePayloadV3(body, func(p eio.Packet) error {
		fmt.Printf("%s %q\n", p.Type, p.Data)
		return nil
	})
	fmt.Println(err)
	// Output:
	// message "hello"
	// message "😀"
	// ping ""
	// <nil>
}

func ExampleAppendPayloadRecordV3() {
	var body []byte
	body = eio.AppendPayloadRecordV3(body, eio.AppendTextV3(nil, eio.Packet{Type: eio.Message, Data: []byte("h\u00e9")}))
	body = eio.AppendPayloadRecordV3(body, eio.AppendTextV3(nil, eio.Packet{Type: eio.Message, Data: []byte{1, 2}, Binary: true}))
	fmt.Printf("%s\n", body)
	// Output: 3:4hé6:b4AQI=
}

func ExampleDecodeBinaryPayloadV3() {
	// A string record "4hi" (kind 0, length 3) and a binary record
	// (kind 1, length 3: type byte 4 and two bytes).
	body := []byte{0, 3, 0xff, '4', 'h', 'i', 1, 3, 0xff, 4, 7, 8}
	err := eio.DecodeBinaryPayloadV3(body, func(p eio.Packet) error {
		fmt.Println(p.Type, p.Data, p.Binary)
		return nil
	})
	fmt.Println(err)
	// Output:
	// message [104 105] false
	// message [7 8] true
	// <nil>
}
