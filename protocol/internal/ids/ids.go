// Package ids makes the random ids of Engine.IO sessions and Socket.IO
// sockets: 20 URL-safe characters, as Node's base64id makes them.
package ids

import (
	"crypto/rand"
	"encoding/base64"
)

// New returns a random 20-character id (120 bits from crypto/rand).
func New() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b[:])
}
