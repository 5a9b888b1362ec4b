package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/natsock/natsock/protocol/admin"
)

// TestAdminHashMakesWhatTheAdminUIAccepts: the hash admin-hash prints
// verifies the password read from standard input (without its newline),
// and --admin-password-hash takes it.
func TestAdminHashMakesWhatTheAdminUIAccepts(t *testing.T) {
	t.Parallel()
	app := newApp()
	var out bytes.Buffer
	app.Reader = strings.NewReader("a long passphrase\n")
	app.Writer = &out
	if err := app.Run([]string{"natsock", "admin-hash", "--cost", "4"}); err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSuffix(out.String(), "\n")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("a long passphrase")); err != nil {
		t.Errorf("the hash %q does not verify the password: %v", hash, err)
	}
	if err := admin.CheckHash(hash); err != nil {
		t.Errorf("the Admin UI refuses the hash: %v", err)
	}
	cfg := mustLoad(t, nil, "--map", "a=b", "--admin-ui", "--admin-password-hash", hash)
	if problems := cfg.problems(); len(problems) > 0 {
		t.Errorf("natsock refuses the hash: %q", problems)
	}
	// The password itself is refused, and not repeated in the error.
	problems := mustLoad(t, nil, "--map", "a=b", "--admin-ui", "--admin-password-hash", "a long passphrase").problems()
	if len(problems) != 1 || !strings.Contains(problems[0], "--admin-password-hash") ||
		!strings.Contains(problems[0], "not a bcrypt hash") || strings.Contains(problems[0], "passphrase") {
		t.Errorf("a plain password: %q, want one problem naming --admin-password-hash, without the password", problems)
	}
}

func TestAdminHashRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, input string
		cost        int
		want        string
	}{
		{"no password", "\n", 4, "no password"},
		{"past bcrypt's 72 bytes", strings.Repeat("x", 73), 4, "at most 72"},
		{"a cost out of range", "pw", 99, "out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := hashPassword(strings.NewReader(c.input), c.cost); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}
