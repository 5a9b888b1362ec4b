//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/natsock/natsock/protocol/conformance"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// suiteChecks is how many checks the official suites hold: 25 Engine.IO
// and 32 Socket.IO (see the suites' README). A run that passes fewer, even
// with none failed, did not run them all.
const suiteChecks = 57

// suitesScript is run.sh of the official suites, relative to the module
// root: the shared folder sits beside the repository, here and in CI.
const suitesScript = "../shared/protocol-suites/run.sh"

// TestOfficialProtocolSuites runs the official Engine.IO v4 and Socket.IO v5
// test suites (node and mocha, through their run.sh) against the
// conformance server, started here on a loopback port, and requires every
// check to pass. Without node, npm or the suites it skips, saying which is
// missing; with CI set it fails instead. The suites' npm dependencies are
// kept under the temporary folder (or SUITES_NPM_CACHE), so only the first
// run on a machine installs them.
func TestOfficialProtocolSuites(t *testing.T) {
	script, err := findSuites()
	if err == nil {
		for _, tool := range []string{"node", "npm"} {
			if _, lerr := exec.LookPath(tool); lerr != nil {
				err = errors.Join(err, lerr)
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the official protocol suites cannot run (CI is set, so this fails): %v", err)
		}
		t.Skipf("the official protocol suites cannot run here: %v", err)
	}

	srv, err := conformance.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := errors.Join(hs.Shutdown(ctx), srv.Close(ctx)); err != nil {
			t.Errorf("closing the conformance server: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving: %v", err)
		}
	})

	// npm ci on a fresh machine takes a while; the suites take seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "http://"+ln.Addr().String())
	cmd.Env = os.Environ()
	if os.Getenv("SUITES_NPM_CACHE") == "" {
		cmd.Env = append(cmd.Env, "SUITES_NPM_CACHE="+filepath.Join(os.TempDir(), "natsock-protocol-suites-npm"))
	}
	// run.sh starts npm and mocha: on a timeout, stop them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, runErr := cmd.CombinedOutput()

	passed, failed, ok := suiteTally(out)
	switch {
	case !ok:
		t.Fatalf("run.sh ended (%v) without its \"N passed, M failed\" line:\n%s", runErr, out)
	case failed != 0 || passed != suiteChecks:
		t.Fatalf("official protocol suites: %d passed, %d failed; want %d passed, 0 failed:\n%s",
			passed, failed, suiteChecks, out)
	case runErr != nil:
		t.Fatalf("run.sh reported all %d checks passed but failed: %v\n%s", passed, runErr, out)
	}
	t.Logf("official protocol suites: %d passed, %d failed", passed, failed)
}

// findSuites locates run.sh relative to the module root (the folder of
// go.mod above the working directory).
func findSuites() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
	script := filepath.Join(dir, filepath.FromSlash(suitesScript))
	if _, err := os.Stat(script); err != nil {
		return "", errors.New("no official suites at " + script + " (the repository's sibling shared/protocol-suites)")
	}
	return script, nil
}

var tallyLine = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

// suiteTally reads run.sh's last "N passed, M failed" line.
func suiteTally(out []byte) (passed, failed int, ok bool) {
	m := tallyLine.FindAllSubmatch(bytes.TrimSpace(out), -1)
	if len(m) == 0 {
		return 0, 0, false
	}
	last := m[len(m)-1]
	passed, _ = strconv.Atoi(string(last[1]))
	failed, _ = strconv.Atoi(string(last[2]))
	return passed, failed, true
}
