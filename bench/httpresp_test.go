package bench

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestParseResponseHead(t *testing.T) {
	tests := []struct {
		name  string
		resp  string
		want  responseHead
		fails bool
	}{
		{"natsock's polling answer", "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello",
			responseHead{status: 200, contentLength: 5}, false},
		{"Node's, with lower-case names", "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\ncontent-length: 2\r\nDate: x\r\nConnection: keep-alive\r\n\r\nok",
			responseHead{status: 200, contentLength: 2}, false},
		{"Connection: close ends the connection", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
			responseHead{status: 200, contentLength: 2, close: true}, false},
		{"HTTP/1.0 ends the connection", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
			responseHead{status: 200, contentLength: 0, close: true}, false},
		{"an error status is read", "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}",
			responseHead{status: 400, contentLength: 2}, false},
		{"a status line without a reason", "HTTP/1.1 204\r\n\r\n", responseHead{status: 204}, false},
		{"a chunked body is refused", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", responseHead{}, true},
		{"no Content-Length is refused", "HTTP/1.1 200 OK\r\n\r\n", responseHead{}, true},
		{"two different Content-Lengths are refused", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", responseHead{}, true},
		{"a bad Content-Length is refused", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", responseHead{}, true},
		{"a bad status line is refused", "HTTP/2 200\r\n\r\n", responseHead{}, true},
		{"a header line without a colon is refused", "HTTP/1.1 200 OK\r\nbogus\r\n\r\n", responseHead{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := parseResponseHead([]byte(tc.resp))
			if tc.fails {
				if err == nil {
					t.Fatalf("accepted %q as %+v", tc.resp, h)
				}
				return
			}
			if err != nil || h != tc.want {
				t.Fatalf("parseResponseHead = %+v, %v; want %+v", h, err, tc.want)
			}
			if wantN := strings.Index(tc.resp, "\r\n\r\n") + 4; n != wantN {
				t.Errorf("head size %d, want %d", n, wantN)
			}
			for i := range n {
				if _, n, err := parseResponseHead([]byte(tc.resp[:i])); n != 0 || err != nil {
					t.Fatalf("the first %d bytes: size %d, error %v; want 0 and none (need more)", i, n, err)
				}
			}
		})
	}
}

func TestParseResponseHeadBoundsTheHead(t *testing.T) {
	long := []byte("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxResponseHead))
	if _, _, err := parseResponseHead(long); err == nil {
		t.Error("an unbounded head was not refused")
	}
}

// FuzzParseResponseHead checks that parseResponseHead never panics, and
// that what it accepts net/http reads the same.
func FuzzParseResponseHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nConnection: close\r\n\r\nok"))
	f.Add([]byte("HTTP/1.0 400 Bad\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := parseResponseHead(b)
		if err != nil || n == 0 {
			return
		}
		if n > len(b) || h.contentLength < 0 || h.status < 0 || h.status > 999 {
			t.Fatalf("parseResponseHead(%q) = %+v, %d", b, h, n)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b[:n])), nil)
		if err != nil {
			return // net/http is stricter about some lines; we need not be
		}
		resp.Body.Close()
		if resp.StatusCode != h.status || (resp.ContentLength >= 0 && resp.ContentLength != int64(h.contentLength)) {
			t.Fatalf("%q: parsed %+v, net/http reads status %d length %d", b, h, resp.StatusCode, resp.ContentLength)
		}
	})
}
