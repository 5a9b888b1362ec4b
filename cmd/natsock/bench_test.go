package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runBench runs `natsock bench args...` in this process, and returns its
// exit code and what it wrote, without letting cli exit the test.
func runBench(t *testing.T, args ...string) (int, string) {
	t.Helper()
	app := newApp()
	var out strings.Builder
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := app.Run(append([]string{"natsock", "bench"}, args...))
	var exit cli.ExitCoder
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String() + exit.Error()
	}
	if err != nil {
		return -1, out.String() + err.Error()
	}
	return 0, out.String()
}

func TestBenchTargetedFlags(t *testing.T) {
	t.Run("a targeted run without a secret exits 2 and names the flag it needs", func(t *testing.T) {
		code, out := runBench(t, "--scenario", "targeted", "--url", "http://127.0.0.1:1")
		if code != 2 || !strings.Contains(out, "--jwt-secret") {
			t.Errorf("exit %d, output %q; want 2 naming --jwt-secret", code, out)
		}
	})
	t.Run("an unknown scenario exits 2 and names it", func(t *testing.T) {
		code, out := runBench(t, "--scenario", "multicast")
		if code != 2 || !strings.Contains(out, `--scenario "multicast"`) {
			t.Errorf("exit %d, output %q; want 2 naming the scenario", code, out)
		}
	})
	t.Run("--help lists the targeted flags with their env vars", func(t *testing.T) {
		_, out := runBench(t, "--help")
		for _, want := range []string{"--scenario", "NATSOCK_BENCH_SCENARIO", "--jwt-secret", "NATSOCK_BENCH_JWT_SECRET", "notify.user"} {
			if !strings.Contains(out, want) {
				t.Errorf("--help lacks %q:\n%s", want, out)
			}
		}
	})
}
