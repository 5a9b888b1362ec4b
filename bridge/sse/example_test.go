package sse_test

import (
	"fmt"

	"github.com/natsock/natsock/bridge/sse"
)

func ExampleAppendEvent() {
	b := sse.AppendRetry(nil, 3000)
	b, _ = sse.AppendEvent(b, sse.Event{ID: "42", Name: "newTaskAssigned", Data: []byte("{\n  \"taskId\": 7\n}")})
	b = sse.AppendComment(b, "keep-alive")
	fmt.Print(string(b))
	// Output:
	// retry: 3000
	//
	// id: 42
	// event: newTaskAssigned
	// data: {
	// data:   "taskId": 7
	// data: }
	//
	// : keep-alive
}

func ExampleParseSequenceID() {
	for _, id := range []string{"1042", "01042", "abc"} {
		n, err := sse.ParseSequenceID(id)
		fmt.Println(n, err)
	}
	// Output:
	// 1042 <nil>
	// 0 sse: bad event id: "01042" has a leading zero
	// 0 sse: bad event id: "abc" is not a sequence number (want decimal digits)
}
