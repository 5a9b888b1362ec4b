package eio

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Separator joins the packets of an Engine.IO v4 polling payload.
const Separator = 0x1e

// DecodePayload calls fn for each packet of an Engine.IO v4 polling payload,
// in order, and stops at the first error. A payload is one or more text
// packets joined by [Separator]; an empty record is an error.
func DecodePayload(body []byte, fn func(Packet) error) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty body", ErrBadPayload)
	}
	for len(body) > 0 || body != nil {
		rec := body
		i := bytes.IndexByte(body, Separator)
		if i >= 0 {
			rec, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		p, err := DecodeText(rec)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// AppendPayloadRecord appends one packet's text form to a v4 payload being
// built in dst, preceded by [Separator] unless dst is empty.
func AppendPayloadRecord(dst []byte, text []byte) []byte {
	if len(dst) > 0 {
		dst = append(dst, Separator)
	}
	return append(dst, text...)
}

// Engine.IO v3 (socket.io v2 clients) polling payloads.
//
// Text form: each packet is "<length>:<packet>", where length counts the
// packet's UTF-16 code units (JavaScript string length) and binary packets
// are "b4"+base64. Binary form (a POST with Content-Type
// application/octet-stream): each packet is a 0 (string) or 1 (binary)
// byte, the decimal digits of its byte length as byte values 0-9, 0xFF,
// then the packet; a binary packet starts with its type byte.

// maxV3LengthDigits bounds the length prefix of a v3 record; 10 digits is
// already far beyond any maxPayload.
const maxV3LengthDigits = 10

// AppendTextV3 appends p as a v3 text packet without its length prefix:
// "4data", or "b4"+base64 for a binary message.
func AppendTextV3(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b', '0'+byte(p.Type))
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// AppendPayloadRecordV3 appends one v3 text packet (from AppendTextV3) with
// its "<length>:" prefix.
func AppendPayloadRecordV3(dst []byte, text []byte) []byte {
	dst = strconv.AppendInt(dst, int64(utf16Len(text)), 10)
	dst = append(dst, ':')
	return append(dst, text...)
}

// DecodePayloadV3 calls fn for each packet of an Engine.IO v3 text payload.
func DecodePayloadV3(body []byte, fn func(Packet) error) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty body", ErrBadPayload)
	}
	for len(body) > 0 {
		colon := bytes.IndexByte(body, ':')
		if colon <= 0 || colon > maxV3LengthDigits {
			return fmt.Errorf("%w: missing length prefix", ErrBadPayload)
		}
		n, err := strconv.Atoi(string(body[:colon]))
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: bad length %q", ErrBadPayload, body[:colon])
		}
		body = body[colon+1:]
		size, ok := utf16Prefix(body, n)
		if !ok {
			return fmt.Errorf("%w: record of length %d overruns the body", ErrBadPayload, n)
		}
		p, err := DecodeTextV3(body[:size])
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		body = body[size:]
	}
	return nil
}

// DecodeBinaryPayloadV3 calls fn for each packet of an Engine.IO v3 binary
// payload.
func DecodeBinaryPayloadV3(body []byte, fn func(Packet) error) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: empty body", ErrBadPayload)
	}
	for len(body) > 0 {
		if body[0] > 1 {
			return fmt.Errorf("%w: record kind byte %d", ErrBadPayload, body[0])
		}
		isString := body[0] == 0
		n, i := 0, 1
		for ; i < len(body) && body[i] != 0xff; i++ {
			if body[i] > 9 || i > maxV3LengthDigits {
				return fmt.Errorf("%w: bad length digit", ErrBadPayload)
			}
			n = n*10 + int(body[i])
		}
		if i == 1 || i >= len(body) || n == 0 || n > len(body)-i-1 {
			return fmt.Errorf("%w: bad record length", ErrBadPayload)
		}
		rec := body[i+1 : i+1+n]
		body = body[i+1+n:]
		var p Packet
		var err error
		if isString {
			p, err = DecodeTextV3(rec)
		} else {
			p, err = DecodeBinaryV3(rec)
		}
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// DecodeTextV3 is DecodeText for Engine.IO v3 (text frames and payload records), where base64 binary is "b" + type digit
// + base64.
func DecodeTextV3(b []byte) (Packet, error) {
	if len(b) > 0 && b[0] == 'b' {
		if len(b) < 2 || b[1] != '0'+byte(Message) {
			return Packet{}, fmt.Errorf("%w: base64 packet is not a message", ErrBinaryControl)
		}
		data, err := decodeBase64(b[2:])
		if err != nil {
			return Packet{}, err
		}
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	return DecodeText(b)
}

// utf16Len counts the UTF-16 code units of b read as UTF-8; an invalid byte
// counts as one unit, as a JavaScript decoder's replacement character does.
func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// utf16Prefix returns how many bytes of b hold exactly units UTF-16 code
// units, or false if b is shorter or a surrogate pair would be split.
func utf16Prefix(b []byte, units int) (int, bool) {
	i := 0
	for units > 0 {
		if i >= len(b) {
			return 0, false
		}
		r, size := utf8.DecodeRune(b[i:])
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if u > units {
			return 0, false
		}
		units -= u
		i += size
	}
	return i, true
}
