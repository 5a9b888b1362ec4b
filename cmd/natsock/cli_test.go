package main

// Tests of the CLI a person learns from: each command's --help with
// examples that are checked here (flags that exist, serve's and check's
// accepted by natsock check), and the shell completion scripts, loaded by
// the real shells.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runApp runs the natsock app in-process with args (after "natsock") and
// returns its exit code and what it wrote. Exits do not end the test
// process; an error without a code counts as 1.
func runApp(t *testing.T, args ...string) (int, string) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := app.Run(append([]string{"natsock"}, args...))
	var coder cli.ExitCoder
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &coder):
		return coder.ExitCode(), out.String() + err.Error()
	default:
		return 1, out.String() + err.Error()
	}
}

// helpCommands are every command and subcommand but help, as the words
// that run it ("bench chart"): each one's --help must show examples.
func helpCommands() [][]string {
	var out [][]string
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(slices.Clone(path), c.Name)
			out = append(out, p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp().Commands)
	return out
}

func TestHelpShowsExamplesThatWork(t *testing.T) {
	// natsock check reads the example config file from the working
	// directory, as a user running the example would.
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join("testdata", "natsock.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "natsock.yaml"), example, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range helpCommands() {
		name := strings.Join(path, " ")
		t.Run(name, func(t *testing.T) {
			code, help := runApp(t, append(slices.Clone(path), "--help")...)
			if code != 0 {
				t.Fatalf("natsock %s --help exited %d:\n%s", name, code, help)
			}
			examples := helpExamples(help)
			if len(examples) == 0 {
				t.Fatalf("natsock %s --help has no Examples: section of indented lines:\n%s", name, help)
			}
			flags := commandFlags(t, path...)
			for _, ex := range examples {
				env, args, ok := exampleCommand(ex)
				if !ok || len(args) < len(path) || !slices.Equal(args[:len(path)], path) {
					t.Errorf("natsock %s --help: example %q does not run natsock %s", name, ex, name)
					continue
				}
				for _, a := range args[len(path):] {
					f, isFlag := strings.CutPrefix(a, "--")
					f, _, _ = strings.Cut(f, "=")
					if isFlag && !slices.Contains(flags, f) {
						t.Errorf("natsock %s --help: example %q uses --%s, which natsock %s does not have", name, ex, f, name)
					}
				}
				for _, kv := range env {
					k, _, _ := strings.Cut(kv, "=")
					if strings.HasPrefix(k, "NATSOCK_") && !knownEnv(k) {
						t.Errorf("natsock %s --help: example %q sets %s, which no setting reads", name, ex, k)
					}
				}
				if name == "serve" || name == "check" {
					checkExample(t, dir, ex, env, args)
				}
			}
		})
	}
}

// checkExample runs a serve or check example as natsock check, with its
// environment, in dir: it must say ok.
func checkExample(t *testing.T, dir, ex string, env, args []string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	defer t.Chdir(wd)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "NATSOCK_") || strings.HasPrefix(k, "NATS_") {
			t.Setenv(k, "")
		}
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	code, out := runApp(t, append([]string{"check"}, args[1:]...)...)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		t.Setenv(k, "")
	}
	if code != 0 || strings.TrimSpace(out) != "ok" {
		t.Errorf("example %q, run as natsock check, exited %d:\n%s", ex, code, out)
	}
}

// helpExamples returns the indented lines under "Examples:" in help.
func helpExamples(help string) []string {
	_, after, ok := strings.Cut(help, "Examples:\n")
	if !ok {
		return nil
	}
	var out []string
	for _, l := range strings.Split(after, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || !strings.Contains(l, "natsock ") {
			break
		}
		out = append(out, l)
	}
	return out
}

// commandFlags are the flag names of the command at path ("bench",
// "chart").
func commandFlags(t *testing.T, path ...string) []string {
	t.Helper()
	cmd := newApp().Command(path[0])
	for _, p := range path[1:] {
		if cmd != nil {
			cmd = cmd.Command(p)
		}
	}
	if cmd == nil {
		t.Fatalf("no command %s", strings.Join(path, " "))
	}
	names := []string{"help"}
	for _, f := range cmd.Flags {
		names = append(names, f.Names()...)
	}
	return names
}

// knownEnv reports whether a setting of the table, or a command's own
// flag, reads the environment variable k.
func knownEnv(k string) bool {
	if k == "NATSOCK_CONFIG" {
		return true
	}
	for _, s := range settings() {
		if slices.Contains(s.env, k) {
			return true
		}
	}
	for _, c := range newApp().Commands {
		for _, f := range c.Flags {
			if d, ok := f.(cli.DocGenerationFlag); ok && slices.Contains(d.GetEnvVars(), k) {
				return true
			}
		}
	}
	return false
}

// exampleCommand reads an example line as a shell would, enough for
// these examples: it returns the NAME=value words before "natsock" and the
// words after it, up to a pipe, a redirection, a closing parenthesis or a
// comment.
func exampleCommand(line string) (env, args []string, ok bool) {
	words := shellWords(line)
	i := slices.Index(words, "natsock")
	if i < 0 {
		return nil, nil, false
	}
	for j := i - 1; j >= 0 && isAssignment(words[j]); j-- {
		env = append([]string{words[j]}, env...)
	}
	for _, w := range words[i+1:] {
		if w == "|" || w == ">" || w == "<" || w == ")" || w == "<(" || w == "#" {
			break
		}
		args = append(args, w)
	}
	return env, args, true
}

func isAssignment(w string) bool {
	k, _, ok := strings.Cut(w, "=")
	if !ok || k == "" {
		return false
	}
	for _, r := range k {
		if r != '_' && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// shellWords splits line into words with single and double quotes
// removed; |, >, <, ), <( and # (at a word's start) are words of their own.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(line[i+1:], c)
			if end < 0 {
				end = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 1
		case c == ' ' || c == '\t':
			flush()
		case c == '|' || c == '>' || c == ')' || (c == '#' && !inWord):
			flush()
			words = append(words, string(c))
		case c == '<' && i+1 < len(line) && line[i+1] == '(':
			flush()
			words = append(words, "<(")
			i++
		case c == '<':
			flush()
			words = append(words, "<")
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words
}

func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		env  []string
		args []string
	}{
		{`natsock serve --map a=b --cors-origin '*'`, nil, []string{"serve", "--map", "a=b", "--cors-origin", "*"}},
		{`NATSOCK_MAP='notify.*={2}' NATSOCK_NATS_URL=nats://x:4222 natsock serve`,
			[]string{"NATSOCK_MAP=notify.*={2}", "NATSOCK_NATS_URL=nats://x:4222"}, []string{"serve"}},
		{`echo '{"a":1}' | natsock publish s`, nil, []string{"publish", "s"}},
		{`source <(natsock completion bash)   # this shell`, nil, []string{"completion", "bash"}},
		{`natsock completion zsh > "${fpath[1]}/_natsock"`, nil, []string{"completion", "zsh"}},
		{`natsock bench --pid "$(pidof natsock)"`, nil, []string{"bench", "--pid", "$(pidof natsock)"}},
		{`read -rs PW && printf '%s' "$PW" | natsock admin-hash`, nil, []string{"admin-hash"}},
		{`natsock admin-hash < password.txt`, nil, []string{"admin-hash"}},
	} {
		env, args, ok := exampleCommand(tc.line)
		if !ok || !slices.Equal(env, tc.env) || !slices.Equal(args, tc.args) {
			t.Errorf("exampleCommand(%q) = %q, %q, %v; want %q, %q", tc.line, env, args, ok, tc.env, tc.args)
		}
	}
}

// completionScript is natsock completion SHELL's output, written to a file.
func completionScript(t *testing.T, shell string) (path, script string) {
	t.Helper()
	code, out := runApp(t, "completion", shell)
	if code != 0 {
		t.Fatalf("natsock completion %s exited %d:\n%s", shell, code, out)
	}
	for _, c := range newApp().VisibleCommands() {
		if !strings.Contains(out, c.Name) {
			t.Errorf("natsock completion %s does not mention the command %s", shell, c.Name)
		}
	}
	for _, s := range settings() {
		if !strings.Contains(out, s.flag) {
			t.Errorf("natsock completion %s does not mention serve's flag --%s", shell, s.flag)
		}
	}
	path = filepath.Join(t.TempDir(), "natsock."+shell)
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, out
}

// shellOutput runs a shell command line, bounded, and returns its output.
func shellOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (Debian package %s; CI installs it in .ci/run): %v", name, name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(cleanEnv(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestCompletion(t *testing.T) {
	t.Run("bash completes commands, a command's flags, completion's shells, and files after a flag's value", func(t *testing.T) {
		path, _ := completionScript(t, "bash")
		complete := func(words ...string) []string {
			t.Helper()
			// COMP_WORDS is the command line, its last word the one completed.
			script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _natsock; printf '%s\n' "${COMPREPLY[@]}"`
			out := shellOutput(t, "bash", append([]string{"-c", script, "bash", path}, words...)...)
			return strings.Fields(out)
		}
		for _, tc := range []struct {
			words []string
			want  []string
		}{
			{[]string{"natsock", "se"}, []string{"serve"}},
			{[]string{"natsock", "c"}, []string{"check", "completion"}},
			{[]string{"natsock", "serve", "--max-conn"}, []string{"--max-connections", "--max-connections-per-ip"}},
			{[]string{"natsock", "--version", "publish", "--ti"}, []string{"--timeout"}},
			{[]string{"natsock", "completion", ""}, []string{"bash", "zsh", "fish"}},
			{[]string{"natsock", "health", "--u"}, []string{"--url"}},
			{[]string{"natsock", "bench", "ch"}, []string{"chart"}},
			{[]string{"natsock", "serve", "--config", ""}, nil}, // bash's file names (complete -o default)
		} {
			if got := complete(tc.words...); !slices.Equal(got, tc.want) {
				t.Errorf("completing %q: got %q, want %q", tc.words, got, tc.want)
			}
		}
	})
	t.Run("zsh loads the script and registers it for natsock", func(t *testing.T) {
		path, _ := completionScript(t, "zsh")
		shellOutput(t, "zsh", "-n", path)
		out := shellOutput(t, "zsh", "-fc", `autoload -Uz compinit && compinit -u -D && source "$1" && print -r -- $_comps[natsock]`, "zsh", path)
		if strings.TrimSpace(out) != "_natsock" {
			t.Errorf("after sourcing the zsh script, natsock completes with %q, want _natsock", out)
		}
	})
	t.Run("fish completes commands and a command's flags", func(t *testing.T) {
		path, _ := completionScript(t, "fish")
		shellOutput(t, "fish", "--no-execute", path)
		complete := func(line string) []string {
			t.Helper()
			out := shellOutput(t, "fish", "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, path, line)
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				w, _, _ := strings.Cut(l, "\t")
				got = append(got, w)
			}
			return got
		}
		if got := complete("natsock se"); !slices.Equal(got, []string{"serve"}) {
			t.Errorf(`fish completes "natsock se" to %q, want [serve]`, got)
		}
		if got := complete("natsock serve --max-conn"); !slices.Equal(got, []string{"--max-connections", "--max-connections-per-ip"}) {
			t.Errorf(`fish completes "natsock serve --max-conn" to %q`, got)
		}
		if got := complete("natsock completion "); !slices.Equal(got, []string{"bash", "fish", "zsh"}) && !slices.Equal(got, []string{"bash", "zsh", "fish"}) {
			t.Errorf(`fish completes "natsock completion " to %q, want bash, zsh, fish`, got)
		}
	})
	t.Run("an unknown shell is refused, naming the ones there are", func(t *testing.T) {
		code, out := runApp(t, "completion", "powershell")
		if code != 2 || !strings.Contains(out, "bash, zsh, fish") {
			t.Errorf("natsock completion powershell exited %d:\n%s", code, out)
		}
	})
}
