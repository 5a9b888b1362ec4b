package admin

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/natsock/natsock/protocol/engine"
)

// socketInfo is a socket as the Admin UI lists it (socket.io admin's
// SerializedSocket).
type socketInfo struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId"`
	Transport string          `json:"transport"`
	NSP       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"` // a JSON object
	Handshake handshakeInfo   `json:"handshake"`
	// Rooms lists the socket's own id first (socket.io's private room,
	// which the UI marks as such), then its rooms in order.
	Rooms []string `json:"rooms"`
}

// handshakeInfo is what the UI shows of a socket's opening request. It
// leaves out socket.io's url and secure, which the engine does not keep.
type handshakeInfo struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"` // unix milliseconds
	Time    string            `json:"time"`
	XDomain bool              `json:"xdomain"`
}

// emptyData is the data of a socket the application says nothing of.
var emptyData = json.RawMessage(`{}`)

// socketData encodes what Config.SocketData says of a socket, or {}.
func socketData(v any) json.RawMessage {
	if v == nil {
		return emptyData
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return emptyData
	}
	return b
}

// redacted stands for a hidden header or query value.
const redacted = "[hidden by natsock]"

// hiddenHeaders carry credentials; the UI never sees their values.
var hiddenHeaders = []string{"authorization", "cookie", "proxy-authorization"}

// describeHandshake turns the engine's record of a socket's opening
// request into the UI's form: lower-case header names, repeated values
// joined with ", " (as Node.js does), the client's address (from
// CF-Connecting-IP or X-Forwarded-For when a proxy set them, as socket.io
// admin reads it), credentials hidden.
func describeHandshake(hs *engine.Handshake, redactQuery []string) handshakeInfo {
	h := handshakeInfo{
		Headers: make(map[string]string, len(hs.Header)),
		Query:   make(map[string]string, len(hs.Query)),
		Issued:  hs.Time.UnixMilli(),
		Time:    hs.Time.UTC().Format(time.RFC1123),
	}
	for k, vs := range hs.Header {
		name := strings.ToLower(k)
		if slices.Contains(hiddenHeaders, name) {
			h.Headers[name] = redacted
			continue
		}
		h.Headers[name] = strings.Join(vs, ", ")
	}
	for k, vs := range hs.Query {
		if slices.Contains(redactQuery, k) {
			h.Query[k] = redacted
			continue
		}
		if len(vs) > 0 {
			h.Query[k] = vs[len(vs)-1]
		}
	}
	h.Address = clientAddress(hs.Header, hs.RemoteAddr)
	h.XDomain = hs.Header.Get("Origin") != ""
	return h
}

// clientAddress is the address the UI shows: a proxy's CF-Connecting-IP or
// X-Forwarded-For, else the peer's IP.
func clientAddress(h http.Header, remote string) string {
	if v := h.Get("Cf-Connecting-Ip"); v != "" {
		return v
	}
	if v := h.Get("X-Forwarded-For"); v != "" {
		return v
	}
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
