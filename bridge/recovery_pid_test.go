package bridge

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/natsock/natsock/bridge/auth"
)

var testPIDKey = bytes.Repeat([]byte{7}, pidKeyLen)

func testTicket() pidTicket {
	return pidTicket{Issued: time.Unix(1700000000, 0), Stream: 1234567890123, Start: 42, SocketID: "w1zaqZS6o7Ixgwc_65he"}
}

// TestPIDBindsNamespaceIdentityAndKey: a pid checks only with the key,
// the namespace and the identity it was issued for; any changed byte
// fails it.
func TestPIDBindsNamespaceIdentityAndKey(t *testing.T) {
	t.Parallel()
	signer := pidSigner{key: testPIDKey}
	alice := identityBinding(&auth.Identity{Subject: "alice", Rooms: []string{"user:alice", "team:a"}})
	pid := signer.issue(testTicket(), "/", alice)

	got, err := signer.check(pid, "/", alice)
	if err != nil || got != testTicket() {
		t.Fatalf("check(issue(t)) = %+v, %v; want %+v", got, err, testTicket())
	}
	// The rooms in another order are the same identity.
	if _, err := signer.check(pid, "/", identityBinding(&auth.Identity{Subject: "alice", Rooms: []string{"team:a", "user:alice"}})); err != nil {
		t.Errorf("the same rooms in another order: %v", err)
	}
	for _, tc := range []struct {
		name    string
		signer  pidSigner
		ns      string
		binding []byte
	}{
		{"another namespace", signer, "/admin", alice},
		{"another user", signer, "/", identityBinding(&auth.Identity{Subject: "bob", Rooms: []string{"user:bob"}})},
		{"the same user with another room", signer, "/", identityBinding(&auth.Identity{Subject: "alice", Rooms: []string{"user:alice", "team:b"}})},
		{"an anonymous socket", signer, "/", identityBinding(nil)},
		{"another cluster's key", pidSigner{key: bytes.Repeat([]byte{8}, pidKeyLen)}, "/", alice},
	} {
		if _, err := tc.signer.check(pid, tc.ns, tc.binding); !errors.Is(err, errPIDForged) {
			t.Errorf("%s: %v, want errPIDForged", tc.name, err)
		}
	}
	raw, _ := base64.RawURLEncoding.DecodeString(pid)
	for i := range raw {
		for _, bit := range []byte{1, 0x80} {
			mod := bytes.Clone(raw)
			mod[i] ^= bit
			if _, err := signer.check(base64.RawURLEncoding.EncodeToString(mod), "/", alice); err == nil {
				t.Fatalf("byte %d flipped (bit %#x): the pid still checks", i, bit)
			}
		}
	}
}

// FuzzPIDCheck: any text a client sends as a pid is refused or accepted
// without a panic, and one that is accepted is exactly what issue makes of
// what it says (there is one encoding of each ticket).
func FuzzPIDCheck(f *testing.F) {
	signer := pidSigner{key: testPIDKey}
	binding := identityBinding(nil)
	f.Add(signer.issue(testTicket(), "/", binding))
	f.Add(signer.issue(pidTicket{}, "/", binding))
	f.Add("")
	f.Add("AQ")
	f.Add("bm90LWEtcGlk")
	f.Add(string(bytes.Repeat([]byte("A"), pidMaxLen+1)))
	f.Fuzz(func(t *testing.T, pid string) {
		got, err := signer.check(pid, "/", binding)
		if err != nil {
			if !errors.Is(err, errPIDMalformed) && !errors.Is(err, errPIDForged) {
				t.Fatalf("check(%q): unexpected error %v", pid, err)
			}
			return
		}
		if again := signer.issue(got, "/", binding); again != pid {
			t.Fatalf("check(%q) = %+v, which issues as %q", pid, got, again)
		}
	})
}
