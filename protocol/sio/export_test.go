package sio

import "fmt"

// The tests' own encoder and EVENT splitter: the server encodes with
// AppendHeader and its own data, and splits events as it decodes them, so
// neither is part of the package's API.

// appendPacket appends the whole packet's text: the encoder the tests
// check Decode against (the server encodes with AppendHeader and its own
// data).
func appendPacket(dst []byte, p Packet) []byte {
	return append(AppendHeader(dst, p), p.Data...)
}

// splitEvent splits an EVENT payload (already checked by Decode) into the
// event name and its arguments, each argument a raw JSON subslice. A
// numeric first element (allowed by the protocol) yields its digits as the
// name.
func splitEvent(data []byte) (name string, args [][]byte, err error) {
	elems, err := SplitArray(data)
	if err != nil {
		return "", nil, err
	}
	if len(elems) == 0 {
		return "", nil, fmt.Errorf("%w: EVENT without a name", ErrBadPayload)
	}
	name, err = EventName(elems[0])
	return name, elems[1:], err
}

// For the external tests.
var (
	Append     = appendPacket
	SplitEvent = splitEvent
)
