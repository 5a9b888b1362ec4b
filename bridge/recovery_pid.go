package bridge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/natsock/natsock/bridge/auth"
)

// A pid is what socket.io calls a session's private id: the client keeps
// it from its CONNECT answer and sends it back, with the offset of the
// last event it got, when it reconnects. natsock keeps no session table:
// a pid is a signed ticket that any node can check with the key all nodes
// share (in a JetStream KV bucket, see recovery.go). It holds:
//
//	version   1 byte   (pidVersion)
//	issued    8 bytes  unix seconds, when the socket connected
//	stream    8 bytes  the recovery stream's creation time, unix nanoseconds
//	start     8 bytes  the stream sequence live delivery had reached then
//	sid       1 byte length, then the socket id
//	mac       16 bytes HMAC-SHA256, truncated
//
// The MAC covers all of that and, without carrying them, the namespace and
// a digest of the socket's identity (its subject and rooms): a pid checked
// on another namespace or with another user's credentials fails as if it
// were forged, and the new handshake's credentials are verified anew
// anyway. The stream's creation time makes a pid die with its stream
// (sequences restart in a stream made anew). The start bounds a replay
// from below: a client cannot ask for events from before it connected.
//
// The whole is base64url without padding, so it passes through JSON and
// URLs unchanged.
const (
	pidVersion = 1
	pidMACLen  = 16
	pidFixed   = 1 + 8 + 8 + 8 + 1
	// pidMaxSID bounds the socket id a pid carries (natsock's are 20
	// bytes; socket.io v2's "/ns#" + session id are longer).
	pidMaxSID = 255
	// pidMaxLen bounds the pid text read from a client before decoding.
	pidMaxLen = (pidFixed + pidMaxSID + pidMACLen + 2) * 4 / 3
)

// Why a pid was not honoured; the socket gets a normal connect.
var (
	errPIDMalformed = errors.New("malformed pid")
	errPIDForged    = errors.New("pid not signed by this cluster's key for this namespace and identity (forged, another user's, or another namespace's)")
	errPIDStream    = errors.New("pid from another incarnation of the recovery stream")
	errPIDOffset    = errors.New("offset before the pid's start, or malformed")
)

// pidTicket is what a pid says, once its MAC is checked.
type pidTicket struct {
	Issued   time.Time
	Stream   int64 // the stream's creation, unix nanoseconds
	Start    uint64
	SocketID string
}

// pidSigner makes and checks pids with one key.
type pidSigner struct{ key []byte }

// issue returns the pid of a socket of namespace ns whose identity digest
// is binding.
func (p pidSigner) issue(t pidTicket, ns string, binding []byte) string {
	buf := make([]byte, 0, pidFixed+len(t.SocketID)+pidMACLen)
	buf = append(buf, pidVersion)
	buf = binary.BigEndian.AppendUint64(buf, uint64(t.Issued.Unix()))
	buf = binary.BigEndian.AppendUint64(buf, uint64(t.Stream))
	buf = binary.BigEndian.AppendUint64(buf, t.Start)
	buf = append(buf, byte(len(t.SocketID)))
	buf = append(buf, t.SocketID...)
	buf = append(buf, p.mac(buf, ns, binding)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// check verifies pid for namespace ns and identity digest binding and
// returns what it says.
func (p pidSigner) check(pid, ns string, binding []byte) (pidTicket, error) {
	if len(pid) > pidMaxLen {
		return pidTicket{}, errPIDMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(pid)
	if err != nil || len(raw) < pidFixed+pidMACLen || raw[0] != pidVersion {
		return pidTicket{}, errPIDMalformed
	}
	sidLen := int(raw[pidFixed-1])
	if len(raw) != pidFixed+sidLen+pidMACLen {
		return pidTicket{}, errPIDMalformed
	}
	body, mac := raw[:pidFixed+sidLen], raw[pidFixed+sidLen:]
	if !hmac.Equal(mac, p.mac(body, ns, binding)) {
		return pidTicket{}, errPIDForged
	}
	return pidTicket{
		Issued:   time.Unix(int64(binary.BigEndian.Uint64(body[1:9])), 0),
		Stream:   int64(binary.BigEndian.Uint64(body[9:17])),
		Start:    binary.BigEndian.Uint64(body[17:25]),
		SocketID: string(body[pidFixed:]),
	}, nil
}

func (p pidSigner) mac(body []byte, ns string, binding []byte) []byte {
	h := hmac.New(sha256.New, p.key)
	h.Write([]byte("natsock pid\x00"))
	h.Write([]byte(ns))
	h.Write([]byte{0})
	h.Write(binding)
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)[:pidMACLen]
}

// identityBinding is the digest of what makes a socket this user's: the
// identity's subject and its rooms (in any order), or a fixed value for an
// anonymous socket. Two handshakes that would get the same events bind
// alike.
func identityBinding(id *auth.Identity) []byte {
	h := sha256.New()
	if id == nil {
		h.Write([]byte("anonymous"))
		return h.Sum(nil)
	}
	h.Write([]byte("subject\x00"))
	h.Write([]byte(id.Subject))
	rooms := slices.Clone(id.Rooms)
	slices.Sort(rooms)
	for _, r := range slices.Compact(rooms) {
		h.Write([]byte{0})
		h.Write([]byte(r))
	}
	return h.Sum(nil)
}
