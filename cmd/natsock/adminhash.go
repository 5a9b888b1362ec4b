package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/natsock/natsock/protocol/admin"
)

// defaultHashCost is admin-hash's bcrypt cost: about a quarter of a second
// a check on a current CPU, which the Admin UI's login pays once a session.
const defaultHashCost = 12

// maxPasswordInput bounds what admin-hash reads; bcrypt uses 72 bytes.
const maxPasswordInput = 4096

func adminHashCommand() *cli.Command {
	return &cli.Command{
		Name:      "admin-hash",
		Usage:     "print the bcrypt hash of the Admin UI's password, read from standard input, for --admin-password-hash",
		ArgsUsage: " ",
		Description: `Reads the password from standard input (one trailing newline is dropped) and
prints its bcrypt hash, which --admin-password-hash (NATSOCK_ADMIN_PASSWORD_HASH,
admin_ui.password_hash) takes: natsock never takes the password itself. The
password is not an argument, so that it stays out of the shell's history and
the process list.

Examples:
  read -rs PW && printf '%s' "$PW" | natsock admin-hash
  natsock admin-hash < password.txt`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "cost", Value: defaultHashCost,
				Usage: fmt.Sprintf("bcrypt cost, %d to %d: each step doubles the time of a check", bcrypt.MinCost, bcrypt.MaxCost)},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("natsock admin-hash: the password is read from standard input, not taken as an argument", 2)
			}
			hash, err := hashPassword(c.App.Reader, c.Int("cost"))
			if err != nil {
				return cli.Exit("natsock admin-hash: "+err.Error(), 2)
			}
			_, err = fmt.Fprintln(c.App.Writer, hash)
			return err
		},
	}
}

// hashPassword reads a password from r and returns its bcrypt hash.
func hashPassword(r io.Reader, cost int) (string, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return "", fmt.Errorf("--cost %d is out of range (%d to %d)", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPasswordInput+1))
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(b) > maxPasswordInput {
		return "", fmt.Errorf("standard input holds more than %d bytes: give the password alone", maxPasswordInput)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	switch {
	case len(b) == 0:
		return "", errors.New("no password on standard input")
	case len(b) > 72:
		return "", fmt.Errorf("the password is %d bytes; bcrypt uses at most 72", len(b))
	}
	h, err := bcrypt.GenerateFromPassword(b, cost)
	if err != nil {
		return "", err
	}
	if err := admin.CheckHash(string(h)); err != nil { // the form --admin-password-hash accepts
		return "", fmt.Errorf("the hash made: %w", err)
	}
	return string(h), nil
}
