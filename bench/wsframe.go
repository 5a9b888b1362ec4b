package bench

import (
	"encoding/binary"
	"errors"
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// frameHeader is a WebSocket frame's header, as a server sends it.
type frameHeader struct {
	fin    bool
	op     byte
	length int64 // payload bytes
}

// errBadFrame is a frame header a server must not send.
var errBadFrame = errors.New("bench: malformed websocket frame from the server")

// maxFrameHeader is the longest header a server may send (no mask).
const maxFrameHeader = 10

// parseFrameHeader reads the frame header at the start of b, in place. It
// returns the header and its size, or size 0 (and no error) when b holds
// only part of it. A server's frames are never masked and, with no
// extension negotiated, have no RSV bit set.
func parseFrameHeader(b []byte) (frameHeader, int, error) {
	if len(b) < 2 {
		return frameHeader{}, 0, nil
	}
	h := frameHeader{fin: b[0]&0x80 != 0, op: b[0] & 0x0f}
	if b[0]&0x70 != 0 || b[1]&0x80 != 0 {
		return frameHeader{}, 0, errBadFrame // RSV bits, or a masked frame
	}
	n := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return frameHeader{}, 0, nil
		}
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return frameHeader{}, 0, nil
		}
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return frameHeader{}, 0, errBadFrame
		}
		h.length = int64(u)
		n = 10
	default:
		h.length = int64(l)
	}
	switch h.op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !h.fin || h.length > 125 {
			return frameHeader{}, 0, errBadFrame
		}
	default:
		return frameHeader{}, 0, errBadFrame
	}
	return h, n, nil
}

// appendClientFrame appends a final, masked client frame holding p (a
// client must mask; one fixed key is allowed).
func appendClientFrame(dst []byte, op byte, p []byte) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case len(p) < 126:
		dst = append(dst, 0x80|byte(len(p)))
	case len(p) <= 0xffff:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(p)))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(len(p)))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	dst = append(dst, key[:]...)
	for i, c := range p {
		dst = append(dst, c^key[i%4])
	}
	return dst
}
