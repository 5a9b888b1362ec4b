// Package eio encodes and decodes Engine.IO packets and polling payloads.
//
// Engine.IO v4 text packets are a type digit followed by data ("4hello");
// on polling, binary data is "b" + base64 and packets are joined by the
// record separator 0x1e. Engine.IO v3 payloads, for socket.io v2 clients,
// are length-prefixed instead ("6:4hello"), with lengths in UTF-16 code
// units, or a binary framing when the client posts binary. The decoders
// never panic on any input and return errors wrapping the package's
// sentinel errors. The package does no I/O.
package eio
