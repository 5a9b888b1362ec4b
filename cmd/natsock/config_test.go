package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/natsock/natsock/bridge"
	"github.com/natsock/natsock/internal/bridgetest"
	"github.com/natsock/natsock/protocol/engine"
)

// load reads the settings from args, env (instead of the process's
// environment) and the config file args name, in-process, as natsock
// serve and natsock check do.
func load(t *testing.T, env map[string]string, args ...string) (*config, error) {
	t.Helper()
	src := newSources()
	src.lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	// A flag set of its own, not a cli.App: urfave/cli's apps share
	// global flags (--help), so two cannot run at once.
	set := flag.NewFlagSet("natsock", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range src.flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatalf("natsock %s: %v", strings.Join(args, " "), err)
	}
	return src.load()
}

// mustLoad is load, failing the test on a config-file error.
func mustLoad(t *testing.T, env map[string]string, args ...string) *config {
	t.Helper()
	cfg, err := load(t, env, args...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return cfg
}

// configFile writes a config file into a temporary directory and returns
// its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "natsock.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// precedenceCase is the sources of one precedence test and what they
// give: max_payload, maps, nats.url and allow_eio3.
type precedenceCase struct {
	name    string
	file    bool // --config names the test's file
	env     map[string]string
	args    []string
	payload int
	maps    []string
	url     string
	eio3    bool
	from    string // where max_payload came from: a flag, a variable, "file" or ""
}

func TestAFlagBeatsTheEnvironmentWhichBeatsTheFile(t *testing.T) {
	t.Parallel()
	file := "max_payload: 100\nmaps: [a=file, b=file]\nallow_eio3: false\nnats:\n  url: nats://file:4222\n"
	tests := []precedenceCase{
		{"nothing given leaves the zero value, for the bridge's default", false, nil, nil, 0, nil, "", false, ""},
		{"the file alone gives its values", true, nil, nil, 100, []string{"a=file", "b=file"}, "nats://file:4222", false, "file"},
		{"the environment beats the file",
			true, map[string]string{"NATSOCK_MAX_PAYLOAD": "200", "NATSOCK_MAP": "c=env, d=env", "NATSOCK_ALLOW_EIO3": "true", "NATS_URL": "nats://env:4222"}, nil,
			200, []string{"c=env", "d=env"}, "nats://env:4222", true, "NATSOCK_MAX_PAYLOAD"},
		{"a flag beats the environment and the file",
			true, map[string]string{"NATSOCK_MAX_PAYLOAD": "200", "NATSOCK_MAP": "c=env"}, []string{"--max-payload", "300", "--map", "e=flag", "--map", "f=flag,g=flag", "--allow-eio3"},
			300, []string{"e=flag", "f=flag", "g=flag"}, "nats://file:4222", true, "--max-payload"},
		{"a flag beats the file", true, nil, []string{"--max-payload=300"}, 300, []string{"a=file", "b=file"}, "nats://file:4222", false, "--max-payload"},
		{"an empty environment variable gives nothing", true, map[string]string{"NATSOCK_MAX_PAYLOAD": ""}, nil, 100, []string{"a=file", "b=file"}, "nats://file:4222", false, "file"},
		{"NATSOCK_NATS_URL beats NATS_URL", false, map[string]string{"NATS_URL": "nats://b:4222", "NATSOCK_NATS_URL": "nats://a:4222"}, nil, 0, nil, "nats://a:4222", false, ""},
		{"a boolean flag can say false", true, map[string]string{"NATSOCK_ALLOW_EIO3": "true"}, []string{"--allow-eio3=false"}, 100, []string{"a=file", "b=file"}, "nats://file:4222", false, "file"},
	}
	path := writeConfig(t, file)
	other := writeConfig(t, "max_payload: 7\n")
	tests = append(tests,
		precedenceCase{"NATSOCK_CONFIG names the file when --config does not", false, map[string]string{"NATSOCK_CONFIG": path}, nil,
			100, []string{"a=file", "b=file"}, "nats://file:4222", false, "file"},
		precedenceCase{"--config beats NATSOCK_CONFIG", true, map[string]string{"NATSOCK_CONFIG": other}, nil,
			100, []string{"a=file", "b=file"}, "nats://file:4222", false, "file"},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args
			if tc.file {
				args = append([]string{"--config", path}, args...)
			}
			cfg := mustLoad(t, tc.env, args...)
			b := cfg.opts.Bridge
			if b.SocketIO.Engine.MaxPayload != tc.payload {
				t.Errorf("MaxPayload = %d, want %d", b.SocketIO.Engine.MaxPayload, tc.payload)
			}
			if !slices.Equal(b.Maps, tc.maps) {
				t.Errorf("Maps = %q, want %q", b.Maps, tc.maps)
			}
			if b.NATSURL != tc.url {
				t.Errorf("NATSURL = %q, want %q", b.NATSURL, tc.url)
			}
			if b.SocketIO.Engine.AllowEIO3 != tc.eio3 {
				t.Errorf("AllowEIO3 = %v, want %v", b.SocketIO.Engine.AllowEIO3, tc.eio3)
			}
			from := ""
			for s, o := range cfg.origins {
				if s.flag == "max-payload" {
					from = o.name
					if o.from == fromFile {
						from = "file"
					}
				}
			}
			if from != tc.from {
				t.Errorf("max_payload came from %q, want %q", from, tc.from)
			}
		})
	}
}

func TestEveryErrorNamesItsSource(t *testing.T) {
	t.Parallel()
	type tc struct {
		name string
		file string // the config file, if any; PATH in want is its path
		env  map[string]string
		args []string
		want []string // the problems, each a whole line
	}
	tests := []tc{
		{name: "a word for a number in a flag", args: []string{"--max-payload", "abc"},
			want: []string{`--max-payload "abc": not a whole number`}},
		{name: "a negative number in an environment variable", env: map[string]string{"NATSOCK_MAX_PAYLOAD": "-5"},
			want: []string{`NATSOCK_MAX_PAYLOAD="-5": must not be negative`}},
		{name: "a negative number in the file", file: "maps: [a=b]\nmax_payload: -5\n",
			want: []string{`PATH:2: max_payload "-5": must not be negative`}},
		{name: "a word for a duration in the file", file: "maps: [a=b]\n\nping_interval: soon\n",
			want: []string{`PATH:3: ping_interval "soon": not a duration (want a number with a unit: 500ms, 10s, 2m)`}},
		{name: "a bad second rule in the file names its line", file: "maps:\n  - a=b\n  - tasks.*=task:{3}\n",
			want: []string{`PATH:3: maps[1] "tasks.*=task:{3}": `}},
		{name: "a bad item of an environment list names the item", env: map[string]string{"NATSOCK_INBOUND": "ev=a, ev2=b.*"},
			want: []string{`NATSOCK_INBOUND="ev=a, ev2=b.*" (item 2): `}},
		{name: "a bad repeated flag names its value", args: []string{"--map", "tasks"},
			want: []string{`--map "tasks": `}},
		{name: "a user without a password in the file", file: "maps: [a=b]\nnats:\n  user: natsock\n",
			want: []string{`PATH:3: nats.user "natsock": a NATS user needs a password too`}},
		{name: "a secret is never shown", env: map[string]string{"NATSOCK_NATS_PASSWORD": "hunter2"},
			want: []string{`NATSOCK_NATS_PASSWORD=(hidden): a NATS password needs a user too`}},
		{name: "no rule given anywhere names every source", file: "max_payload: 5\n", want: nil},
		{name: "a bound above another source's bound", file: "maps: [a=b]\nmax_connections: 5\n", args: []string{"--max-connections-per-ip", "10"},
			want: []string{`--max-connections-per-ip "10": is above the bound on all connections (5)`}},
		{name: "an unknown policy in the file", file: "maps: [a=b]\nslow_policy: fast\n",
			want: []string{`PATH:2: slow_policy "fast": engine: unknown slow-consumer policy "fast" (want disconnect or drop-oldest)`}},
		{name: "an empty origin in the file's list", file: "maps: [a=b]\ncors_origins:\n  - https://a.example\n  - \"\"\n",
			want: []string{`PATH:4: cors_origins[1] "": is an empty origin (want scheme://host[:port], or * for any)`}},
		{name: "a missing credentials file", args: []string{"--nats-creds", "/nonexistent/natsock.creds"},
			want: []string{`--nats-creds "/nonexistent/natsock.creds": no such file or directory`}},
		{name: "a directory for a CA file", file: "maps: [a=b]\nnats:\n  tls_ca: /\n",
			want: []string{`PATH:3: nats.tls_ca "/": is a directory, not a file`}},
		{name: "a bad log format from the environment", env: map[string]string{"NATSOCK_LOG_FORMAT": "xml"},
			want: []string{`NATSOCK_LOG_FORMAT="xml": want text or json`}},
		{name: "problems from every source at once",
			file: "maps: [a=b]\nmax_queue_bytes: -1\n", env: map[string]string{"NATSOCK_WRITE_TIMEOUT": "-1s"}, args: []string{"--listen", "nowhere"},
			want: []string{
				`--listen "nowhere": missing port in address (want host:port)`,
				`NATSOCK_WRITE_TIMEOUT="-1s": must not be negative`,
				`PATH:2: max_queue_bytes "-1": must not be negative`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
				args = append([]string{"--config", path}, args...)
			}
			if tc.file == "" && !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--map") }) && tc.env["NATSOCK_MAP"] == "" {
				args = append(args, "--map", "a=b")
			}
			cfg := mustLoad(t, tc.env, args...)
			got := cfg.problems()
			want := tc.want
			if want == nil { // the case with no rule at all
				want = []string{"--map (or NATSOCK_MAP, or maps in a config file): no rule: natsock would forward nothing (e.g. tasks.assigned=newTaskAssigned)"}
			}
			for _, w := range want {
				w = strings.ReplaceAll(w, "PATH", path)
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("problems:\n  %s\nnone of them starts with\n  %s", strings.Join(got, "\n  "), w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d problems, want %d:\n  %s", len(got), len(want), strings.Join(got, "\n  "))
			}
			if joined := strings.Join(got, "\n"); strings.Contains(joined, "hunter2") {
				t.Errorf("a problem shows the secret: %s", joined)
			}
		})
	}
}

func TestTheFileRefusesWhatItCannotHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		want []string // PATH is the file's path
	}{
		{"an unknown key, with the one it resembles", "maps: [a=b]\nmax-payload: 5\n", []string{`PATH:2: unknown key max-payload (did you mean max_payload?)`}},
		{"an unknown key in a section", "nats:\n  url: nats://x:4222\n  passwd: x\n", []string{`PATH:3: unknown key nats.passwd`}},
		{"a section's key at the top", "url: nats://x:4222\n", []string{`PATH:1: unknown key url (did you mean nats.url?)`}},
		{"a list for a number", "max_payload: [1, 2]\n", []string{`PATH:1: max_payload: want a single value, found a list`}},
		{"a mapping for a list", "maps:\n  a: b\n", []string{`PATH:2: maps: want a list, found a mapping`}},
		{"a text for a list", "maps: a=b\n", []string{`PATH:1: maps: want a list, found "a=b"`}},
		{"a list in a list", "maps:\n  - [a=b]\n", []string{`PATH:2: maps[0]: want a text, found a list`}},
		{"no value", "max_payload:\n", []string{`PATH:1: max_payload: want a single value, found no value`}},
		{"a text for a section", "nats: nats://x:4222\n", []string{`PATH:1: nats: want a mapping of settings, found "nats://x:4222"`}},
		{"a key given twice", "maps: [a=b]\nlisten: :1\nlisten: :2\n", []string{`PATH:3: listen is given twice (first on line 2)`}},
		{"a list at the top", "- a=b\n", []string{`PATH:1: want a mapping of settings (key: value), found a list`}},
		{"two documents", "maps: [a=b]\n---\nmaps: [c=d]\n", []string{`PATH:2: a second YAML document; a config file holds one`}},
		{"YAML that does not parse", "maps: [a=b\nlisten: x\n", []string{`PATH:`, `did not find expected ',' or ']'`}},
		{"a tab for indentation", "nats:\n\turl: x\n", []string{`PATH:2: found character that cannot start any token`}},
		{"several problems at once", "maxpayload: 1\nnats:\n  bogus: 2\nmaps: x\n", []string{
			`PATH:1: unknown key maxpayload (did you mean max_payload?)`, `PATH:3: unknown key nats.bogus`, `PATH:4: maps: want a list, found "x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tc.file)
			_, err := load(t, nil, "--config", path)
			if err == nil {
				t.Fatal("the file was accepted")
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "PATH", path); !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\ndoes not say\n%s", err, w)
				}
			}
		})
	}
}

func TestTheFileTakesWhatYAMLAllows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		check      func(*config) bool
	}{
		{"an empty file sets nothing", "", func(c *config) bool { return len(c.origins) == 0 }},
		{"a file of comments sets nothing", "# nothing yet\n", func(c *config) bool { return len(c.origins) == 0 }},
		{"a list item keeps its commas", "cors_origins: [\"https://a.example,b\"]\n",
			func(c *config) bool {
				return slices.Equal(c.opts.Bridge.SocketIO.Engine.AllowOrigins, []string{"https://a.example,b"})
			}},
		{"an alias repeats a value", "ping_interval: &beat 7s\nping_timeout: *beat\n",
			func(c *config) bool { return c.opts.Bridge.SocketIO.Engine.PingTimeout == 7*time.Second }},
		{"a quoted number is a number", "max_connections: \"12\"\n",
			func(c *config) bool { return c.opts.Bridge.SocketIO.Engine.MaxConnections == 12 }},
		{"an empty list is a list given empty", "maps: []\n", func(c *config) bool { return len(c.opts.Bridge.Maps) == 0 && len(c.origins) == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustLoad(t, nil, "--config", writeConfig(t, tc.file))
			if len(cfg.bad) > 0 || !tc.check(cfg) {
				t.Errorf("the file gave %+v (bad: %q)", cfg.opts, cfg.bad)
			}
		})
	}
}

// TestTheExampleFileIsValidAndShowsEverySetting: the example natsock.yaml
// (the README shows it) checks clean, gives what it says, and names every
// key of the settings table.
func TestTheExampleFileIsValidAndShowsEverySetting(t *testing.T) {
	t.Parallel()
	const path = "testdata/natsock.yaml"
	cfg := mustLoad(t, nil, "--config", path)
	if problems := cfg.problems(); len(problems) > 0 {
		t.Fatalf("%s has problems:\n%s", path, strings.Join(problems, "\n"))
	}
	b := cfg.opts.Bridge
	if !slices.Equal(b.Maps, []string{"tasks.assigned=newTaskAssigned", "notify.*=notification:{2}"}) ||
		!slices.Equal(b.Inbound, []string{"taskAssigned=tasks.assigned"}) || b.NATSURL != "nats://127.0.0.1:4222" ||
		cfg.opts.LogFormat != "json" {
		t.Errorf("%s gave %+v", path, cfg.opts)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		key := s.key[strings.LastIndex(s.key, ".")+1:]
		if !regexp.MustCompile(`(?m)^[ #]*` + regexp.QuoteMeta(key) + `:`).Match(text) {
			t.Errorf("%s does not show the setting %s", path, s.key)
		}
	}
}

// TestEverySettingIsOneRow: each flag, environment variable and file key
// is one row's, and each row's field is found back from a Validate error
// about it, so that the error names the row's flag.
func TestEverySettingIsOneRow(t *testing.T) {
	t.Parallel()
	seen := make(map[string]string)
	once := func(kind, name, flag string) {
		if other, dup := seen[kind+" "+name]; dup {
			t.Errorf("%s %s is both --%s's and --%s's", kind, name, other, flag)
		}
		seen[kind+" "+name] = flag
	}
	o := newOptions()
	for _, s := range settings() {
		once("flag", s.flag, s.flag)
		once("key", s.key, s.flag)
		for _, e := range s.env {
			once("env", e, s.flag)
		}
		if s.env[0] != "NATSOCK_"+strings.ToUpper(strings.ReplaceAll(s.flag, "-", "_")) {
			t.Errorf("--%s's first environment variable is %s", s.flag, s.env[0])
		}
		path := fieldPath(&o, s.field.ptr(&o))
		if path == "" {
			// The command's own settings: logging, where /metrics and the page at / go.
			if !strings.HasPrefix(s.flag, "log-") && s.flag != "metrics-listen" && s.flag != "demo" {
				t.Errorf("--%s fills no field of bridge.Config", s.flag)
			}
			continue
		}
		cfg := &config{opts: o, table: settings(), origins: map[*setting]*origin{}}
		got := cfg.explain(errors.Join(&bridge.FieldError{Field: path, Err: errors.New("is wrong")}))
		if want := "--" + s.flag + " (or " + s.env[0]; len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Errorf("a problem with %s reads %q; want it to name --%s", path, got, s.flag)
		}
	}
}

func TestVersionDescribesTheBuild(t *testing.T) {
	t.Parallel()
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/natsock/natsock", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := describeBuild(info), "v1.2.3 (commit 0123abc, 2026-12-01T00:00:00Z, modified) go1.26.0"; got != want {
		t.Errorf("describeBuild = %q, want %q", got, want)
	}
	if got, want := describeBuild(&debug.BuildInfo{GoVersion: "go1.26.0"}), "(devel) go1.26.0"; got != want {
		t.Errorf("describeBuild without VCS = %q, want %q", got, want)
	}
}

// FuzzConfigFile: the config-file loader never panics, and what it accepts
// or refuses is well formed: every value has its lines, every error names
// the file and a line. What it accepts goes through the whole check
// (parsing each value, the bridge's Validate, naming each problem's
// source), which must not panic either, and names the file for each
// problem.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		"", "# c\n", "maps: [a=b]\n", "nats:\n  url: x\n  user: u\n", "max_payload: [1]\n", "- a\n", "a: &x [1]\nb: *x\n",
		"maps: [a=b\n", "---\n---\n", "nats: {url: {a: b}}\n", "? [a]\n: b\n", "<<: {maps: [a]}\n", "x: !!binary aGk=\n",
		"maps:\n  - *y\n", "cors_origins: [&o a, *o, *o]\n",
		"maps: [a=b, 'x.*={3}']\ninbound: [ev=a, ev=b, 'e=s.>']\nmax_connections: 5\nmax_connections_per_ip: 9\nnats: {url: 'ws://a, nats://b'}\n",
		"maps: [a=b]\nlisten: x\npath: y\nslow_policy: z\nlog: {level: loud}\nmax_payload: 1e9\n",
	} {
		f.Add([]byte(seed))
	}
	if example, err := os.ReadFile("testdata/natsock.yaml"); err == nil {
		f.Add(example)
	}
	src := newSources()
	src.lookupEnv = func(string) (string, bool) { return "", false }
	table := src.table
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := parseConfigFile("f.yaml", data, table)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml") {
					t.Fatalf("an error line does not name the file: %q", line)
				}
			}
			return
		}
		for s, v := range cf.values {
			if len(v.lines) == 0 || (s.field.list() && len(v.texts) > 0 && len(v.lines) != len(v.texts)) {
				t.Fatalf("%s: %d texts with lines %v", s.key, len(v.texts), v.lines)
			}
			if !s.field.list() && len(v.texts) != 1 {
				t.Fatalf("%s: a single value with %d texts", s.key, len(v.texts))
			}
			for _, l := range v.lines {
				if l < 1 {
					t.Fatalf("%s: line %d", s.key, l)
				}
			}
		}
		for _, p := range src.fill(cf).problems() {
			// Every value came from the file, but a missing rule is not in it.
			if !strings.HasPrefix(p, "f.yaml:") && !strings.HasPrefix(p, "--map (or ") && !strings.HasPrefix(p, "bridge: invalid config: SocketIO") {
				t.Fatalf("a problem does not name the file: %q", p)
			}
		}
	})
}

// The binary's config commands, run by TestNatsock.

// testCheckExample: natsock check says ok for the example file, from
// --config and from NATSOCK_CONFIG.
func testCheckExample(t *testing.T, bin string) {
	for _, args := range [][]string{{"check", "--config", "testdata/natsock.yaml"}, {"check"}} {
		var env []string
		if len(args) == 1 {
			env = []string{"NATSOCK_CONFIG=testdata/natsock.yaml"}
		}
		code, out := runEnv(t, bin, env, "", args...)
		if code != 0 || out != "ok\n" {
			t.Errorf("natsock %s (env %q) exited %d saying %q; want 0 and ok", strings.Join(args, " "), env, code, out)
		}
	}
}

// testCheckProblems: natsock check exits 2 and prints every problem, each
// naming its source, and starts nothing.
func testCheckProblems(t *testing.T, bin string) {
	path := writeConfig(t, "maps:\n  - a=b\n  - bad\nmax_payload: -1\nnats:\n  url: nats://127.0.0.1:1\n")
	code, out := runEnv(t, bin, []string{"NATSOCK_PING_TIMEOUT=soon"}, "", "check", "--config", path, "--max-connections", "-3")
	if code != 2 {
		t.Errorf("natsock check exited %d, want 2:\n%s", code, out)
	}
	for _, want := range []string{
		`natsock: NATSOCK_PING_TIMEOUT="soon": not a duration`,
		fmt.Sprintf(`natsock: %s:3: maps[1] "bad": `, path),
		fmt.Sprintf(`natsock: %s:4: max_payload "-1": must not be negative`, path),
		`natsock: --max-connections "-3": must not be negative`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("natsock check said:\n%s\nwant a line starting %q", out, want)
		}
	}
	if strings.HasPrefix(out, "ok") || strings.Contains(out, "NATS server started") || strings.Contains(out, "serving") {
		t.Errorf("natsock check said ok, or started something:\n%s", out)
	}
	code, out = run(t, bin, "", "check", "--config", writeConfig(t, "maps: [a=b]\nmax_payloads: 5\n"))
	if want := ":2: unknown key max_payloads (did you mean max_payload?)"; code != 2 || !strings.Contains(out, want) {
		t.Errorf("natsock check of an unknown key exited %d saying %q; want 2 and %q", code, out, want)
	}
}

// testServeConfigFile: serve takes its rules and limits from a config
// file, its flags still beating the file's listen address: a client gets
// what NATS publishes, and the handshake announces the file's max_payload.
func testServeConfigFile(t *testing.T, bin string) {
	bridgetest.RequireNode(t)
	path := writeConfig(t, "listen: 127.0.0.1:1\nmaps:\n  - tasks.assigned=newTaskAssigned\nmax_payload: 4321\n")
	serve := startServe(t, bin, "--config", path)
	natsURL, url := serve.ready()
	resp, err := http.Get(url + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(body), `"maxPayload":4321`) {
		t.Errorf("the handshake was %q (%v); want the file's maxPayload, 4321", body, err)
	}
	recv := interop(t, url, "websocket", "--scenario", "receive", "--event", "newTaskAssigned", "--count", "1")
	recv.WaitReady(startBound)
	if code, out := run(t, bin, "", "publish", "--nats-url", natsURL, "tasks.assigned", `{"taskName":"from a file's rule"}`); code != 0 {
		t.Fatalf("natsock publish exited %d:\n%s", code, out)
	}
	r := recv.MustOK(nodeBound)
	if len(r.Events) != 1 || !bridgetest.JSONEqual(r.Events[0].Args[0], []byte(`{"taskName":"from a file's rule"}`)) {
		t.Errorf("the client got %s", r.Raw)
	}
}

// testVersion: natsock version and --version print the module version,
// the commit the binary was built from (when built in a git work tree) and
// Go's version.
func testVersion(t *testing.T, bin string) {
	code, out := run(t, bin, "", "version")
	code2, out2 := run(t, bin, "", "--version")
	if code != 0 || code2 != 0 || out != out2 {
		t.Fatalf("natsock version exited %d saying %q, --version %d saying %q; want both 0 and the same", code, out, code2, out2)
	}
	if !strings.HasPrefix(out, "natsock version ") || !strings.HasSuffix(out, " "+runtime.Version()+"\n") {
		t.Errorf("natsock version said %q; want natsock version ... %s", out, runtime.Version())
	}
	// What the build stamped, as the go command reads it.
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	rev := regexp.MustCompile(`(?m)^\s+build\s+vcs\.revision=(\w+)$`).FindSubmatch(meta)
	if rev == nil {
		if strings.Contains(out, "commit") {
			t.Errorf("natsock version said %q, but the build stamped no commit", out)
		}
		t.Logf("built outside a git work tree: no commit to show")
		return
	}
	if want := "(commit " + string(rev[1]) + ", "; !strings.Contains(out, want) {
		t.Errorf("natsock version said %q; want it to name the commit, %q", out, want)
	}
	modified := regexp.MustCompile(`(?m)^\s+build\s+vcs\.modified=true$`).Match(meta)
	if strings.Contains(out, ", modified)") != modified {
		t.Errorf("natsock version said %q; the build says modified=%v", out, modified)
	}
}

// TestFieldKindsReadTheirText: each kind of field parses what a flag, an
// environment variable or a file scalar gives, refuses what it cannot
// read with a reason that does not repeat the value, and shows its value
// for --help.
func TestFieldKindsReadTheirText(t *testing.T) {
	t.Parallel()
	var o options
	var secret []byte // bytes are for a setting to come (a JWT secret)
	for _, tc := range []struct {
		name  string
		field field
		texts []string
		bad   string // a text it refuses, "" if none
		check func() bool
		help  string
	}{
		{"a string", stringField(func(o *options) *string { return &o.Bridge.Path }), []string{"/x/"}, "",
			func() bool { return o.Bridge.Path == "/x/" }, `"/x/"`},
		{"one of a few words", oneOfField(func(o *options) *string { return &o.LogFormat }, "text", "json"), []string{"json"}, "yaml",
			func() bool { return o.LogFormat == "json" }, `"json"`},
		{"a whole number", intField(func(o *options) *int { return &o.Bridge.MaxInflightRequests }), []string{" 12 "}, "1.5",
			func() bool { return o.Bridge.MaxInflightRequests == 12 }, "12"},
		{"a whole number with underscores, as Go writes it", intField(func(o *options) *int { return &o.Bridge.MaxInflightRequests }), []string{"1_000_000"}, "1,000",
			func() bool { return o.Bridge.MaxInflightRequests == 1_000_000 }, "1000000"},
		{"a number with a fraction", floatField(func(o *options) *float64 { return &o.Bridge.InboundRate }), []string{" 0.5 "}, "NaN",
			func() bool { return o.Bridge.InboundRate == 0.5 }, "0.5"},
		{"a duration", durationField(func(o *options) *time.Duration { return &o.Bridge.RequestTimeout }), []string{"1m30s"}, "90",
			func() bool { return o.Bridge.RequestTimeout == 90*time.Second }, "1m30s"},
		{"a boolean", boolField(func(o *options) *bool { return &o.Bridge.SocketIO.Engine.AllowEIO3 }), []string{"true"}, "yes",
			func() bool { return o.Bridge.SocketIO.Engine.AllowEIO3 }, "true"},
		{"a text type", textField(func(o *options) *engine.SlowPolicy { return &o.Bridge.SocketIO.Engine.SlowPolicy }), []string{"drop-oldest"}, "drop",
			func() bool { return o.Bridge.SocketIO.Engine.SlowPolicy == engine.SlowDropOldest }, `"drop-oldest"`},
		{"bytes", bytesField(func(*options) *[]byte { return &secret }), []string{"s3cret"}, "",
			func() bool { return string(secret) == "s3cret" }, `"s3cret"`},
		{"a list", listField(func(o *options) *[]string { return &o.Bridge.Maps }), []string{"a=b", "c=d"}, "",
			func() bool { return slices.Equal(o.Bridge.Maps, []string{"a=b", "c=d"}) }, "a=b,c=d"},
	} {
		if err := tc.field.set(&o, tc.texts); err != nil || !tc.check() {
			t.Errorf("%s: set(%q) = %v, giving %+v", tc.name, tc.texts, err, o)
		}
		if got := tc.field.text(&o); got != tc.help {
			t.Errorf("%s: --help shows %s, want %s", tc.name, got, tc.help)
		}
		if tc.bad == "" {
			continue
		}
		if err := tc.field.set(&o, []string{tc.bad}); err == nil {
			t.Errorf("%s: %q was accepted", tc.name, tc.bad)
		} else if !tc.check() {
			t.Errorf("%s: a refused %q changed the value", tc.name, tc.bad)
		}
	}
}
