package sio_test

import (
	"errors"
	"testing"

	"github.com/natsock/natsock/protocol/sio"
)

// TestDecodeChecksPlaceholders: socket.io's parser closes the connection
// ("illegal attachments") when a binary packet's placeholder names an
// attachment that is not there; so does Decode.
func TestDecodeChecksPlaceholders(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"a placeholder past the attachments is refused", `51-["message",{"_placeholder":true,"num":7}]`, false},
		{"a placeholder naming the count is refused", `51-["message",{"_placeholder":true,"num":1}]`, false},
		{"a placeholder naming an attachment is accepted", `52-["message",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`, true},
		{"a negative num is refused", `51-["m",{"_placeholder":true,"num":-1}]`, false},
		{"a fractional num is refused", `51-["m",{"_placeholder":true,"num":0.5}]`, false},
		{"a string num is refused", `51-["m",{"_placeholder":true,"num":"0"}]`, false},
		{"a missing num is refused", `51-["m",{"_placeholder":true}]`, false},
		{"a num written with a fraction or exponent counts by its value", `52-["m",{"_placeholder":true,"num":1.0},{"_placeholder":true,"num":1e0}]`, true},
		{"a placeholder deep inside the arguments is checked", `51-["m",{"a":[1,{"b":{"_placeholder":true,"num":3}}]}]`, false},
		{"a placeholder in an ack is checked", `61-5[{"_placeholder":true,"num":2}]`, false},
		{"extra keys do not stop an object being a placeholder", `51-["m",{"_placeholder":true,"num":4,"x":1}]`, false},
		{"extra keys beside a good num are accepted", `51-["m",{"_placeholder":true,"num":0,"x":1}]`, true},
		{"a false flag is an ordinary object", `51-["m",{"_placeholder":false,"num":7}]`, true},
		{"a string flag is an ordinary object", `51-["m",{"_placeholder":"true","num":7}]`, true},
		{"an escaped key is the same key", `51-["m",{"\u005fplaceholder":true,"num":7}]`, false},
		{"the last of duplicate flags wins", `51-["m",{"_placeholder":true,"_placeholder":false,"num":7}]`, true},
		{"the last of duplicate nums wins", `51-["m",{"_placeholder":true,"num":7,"num":0}]`, true},
		{"a member a later duplicate replaces is not checked", `51-["m",{"a":{"_placeholder":true,"num":7},"a":1}]`, true},
		{"a member that replaces an earlier one is checked", `51-["m",{"a":1,"a":{"_placeholder":true,"num":7}}]`, false},
		{"what a placeholder holds is not checked", `51-["m",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":7}}]`, true},
		{"a text EVENT's placeholder-like object is left alone", `2["m",{"_placeholder":true,"num":7}]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sio.Decoder{}.Decode([]byte(tt.in))
			if tt.ok && err != nil {
				t.Fatalf("Decode(%s) = %v, want ok", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, sio.ErrBadAttachments) {
				t.Fatalf("Decode(%s) = %v, want %v", tt.in, err, sio.ErrBadAttachments)
			}
		})
	}
}
