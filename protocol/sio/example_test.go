package sio_test

import (
	"fmt"

	"github.com/natsock/natsock/protocol/sio"
)

func ExampleDecoder_Decode() {
	var d sio.Decoder
	for _, text := range []string{
		`0/custom,{"token":"abc"}`,
		`2456["message-with-ack",1,"2"]`,
		`51-["upload",{"_placeholder":true,"num":0}]`,
		`2["connect"]`,
	} {
		p, err := d.Decode([]byte(text))
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s ns=%s id=%d attachments=%d data=%s\n", p.Type, p.Namespace, p.ID, p.Attachments, p.Data)
	}
	// Output:
	// CONNECT ns=/custom id=-1 attachments=0 data={"token":"abc"}
	// EVENT ns=/ id=456 attachments=0 data=["message-with-ack",1,"2"]
	// BINARY_EVENT ns=/ id=-1 attachments=1 data=["upload",{"_placeholder":true,"num":0}]
	// error: sio: payload not allowed for packet type: "connect" is a reserved event name
}

func ExampleDecoder_Decode_v4() {
	// socket.io v2 clients refuse with a bare string and put a query
	// string on the namespace.
	d := sio.Decoder{V4: true}
	p, err := d.Decode([]byte(`4/admin?token=x,"Not authorized"`))
	fmt.Println(p.Type, p.Namespace, string(p.Data), err)
	// Output: CONNECT_ERROR /admin?token=x "Not authorized" <nil>
}

func ExampleSplitArray() {
	elems, err := sio.SplitArray([]byte(` [ 1 , [2, 3] , "a,b" ] `))
	fmt.Printf("%q %v\n", elems, err)
	// Output: ["1" "[2, 3]" "\"a,b\""] <nil>
}

func ExampleValidJSON() {
	fmt.Println(sio.ValidJSON([]byte(`{"a":[1,2.5e3,null]}`)))
	fmt.Println(sio.ValidJSON([]byte(`{"a":[1,]}`)))
	// Output:
	// <nil>
	// sio: invalid JSON: unexpected ']' at offset 8
}

func ExampleAppendEventData() {
	b := sio.AppendHeader(nil, sio.Packet{Type: sio.Event, Namespace: "/chat", ID: sio.NoID})
	b = sio.AppendEventData(b, "message-back", []byte(`1`), []byte(`{"a":"b"}`))
	fmt.Println(string(b))
	// Output: 2/chat,["message-back",1,{"a":"b"}]
}

func ExampleAppendQuote() {
	fmt.Println(string(sio.AppendQuote(nil, "say \"hi\"\n\xff")))
	// Output: "say \"hi\"\n\ufffd"
}

func ExamplePlaceholderNum() {
	fmt.Println(sio.PlaceholderNum([]byte(`{"_placeholder":true,"num":2}`)))
	fmt.Println(sio.PlaceholderNum([]byte(`{"num":2}`)))
	// Output:
	// 2 true
	// 0 false
}
