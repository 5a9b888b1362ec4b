package bench

import (
	"bytes"
	"errors"
	"fmt"
)

// responseHead is what a polling client needs from an HTTP/1.1 response's
// status line and headers.
type responseHead struct {
	status        int
	contentLength int
	close         bool // the server closes the connection after the body
}

var (
	// errBadResponse is a response the polling client cannot read.
	errBadResponse = errors.New("bench: malformed HTTP response")
	// errHeadTooLong is a response head that does not fit the buffer.
	errHeadTooLong = errors.New("bench: HTTP response head too long")
)

// maxResponseHead bounds a response's status line and headers.
const maxResponseHead = 16 << 10

var crlfcrlf = []byte("\r\n\r\n")

// parseResponseHead reads the HTTP/1.1 response head at the start of b, in
// place. It returns the head and its size, or size 0 (and no error) when b
// does not hold all of it yet. A body must be delimited by Content-Length
// (both natsock and Node's engine.io send one); chunked bodies are refused.
func parseResponseHead(b []byte) (responseHead, int, error) {
	end := bytes.Index(b, crlfcrlf)
	if end < 0 {
		if len(b) >= maxResponseHead {
			return responseHead{}, 0, errHeadTooLong
		}
		return responseHead{}, 0, nil
	}
	head := b[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return responseHead{}, 0, fmt.Errorf("%w: status line %q", errBadResponse, trim(line))
	}
	h := responseHead{contentLength: -1, close: line[7] == '0'}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return responseHead{}, 0, fmt.Errorf("%w: status line %q", errBadResponse, trim(line))
		}
		h.status = h.status*10 + int(c-'0')
	}
	for len(rest) > 0 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok {
			return responseHead{}, 0, fmt.Errorf("%w: header line %q", errBadResponse, trim(field))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, rest, ok := parseUint(value)
			if !ok || len(rest) != 0 || n > 1<<30 || (h.contentLength >= 0 && h.contentLength != int(n)) {
				return responseHead{}, 0, fmt.Errorf("%w: Content-Length %q", errBadResponse, trim(value))
			}
			h.contentLength = int(n)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return responseHead{}, 0, fmt.Errorf("%w: Transfer-Encoding %q is not supported", errBadResponse, trim(value))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				h.close = true
			}
		}
	}
	if h.contentLength < 0 {
		if h.status != 101 && h.status != 204 && h.status != 304 {
			return responseHead{}, 0, fmt.Errorf("%w: no Content-Length", errBadResponse)
		}
		h.contentLength = 0
	}
	return h, end + len(crlfcrlf), nil
}

// trim shortens what an error quotes.
func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
