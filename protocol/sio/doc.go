// Package sio encodes and decodes Socket.IO v5 packets (and the v4 forms of
// socket.io v2 clients).
//
// A packet is a type digit, an attachment count for binary packets ("2-"),
// a namespace ("/admin,"), an acknowledgement id, and a JSON payload:
//
//	452-789["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]
//
// [Decoder.Decode] checks the payload's JSON and its shape for the packet
// type, with a scanner that refuses nesting deeper than [MaxDepth]. The
// payload stays raw: arguments are subslices of the input, so a server can
// pass them on byte for byte. The package does no I/O.
package sio
