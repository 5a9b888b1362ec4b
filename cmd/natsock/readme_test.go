package main

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// otherTools' flags appear in the README in commands that are not
// natsock's: npm, go, curl, node, docker, kubectl, nats-server.
var otherTools = map[string]bool{
	"prefix": true, "no-audit": true, "no-fund": true, "race": true, "count": true,
	"run": true, "bench": true, "benchtime": true, "update-screenshot": true,
	"js": true, "sd": true, "rm": true, "save-exact": true, "help": true, "version": true,
	"cost": true, "fuzz": true, "fuzztime": true, "timeout": true, "short": true,
	"user-map": true, "port": true, "nats": true, // the Node peer's
	"build": true, // docker compose up --build
}

// Every --flag the README names is one of natsock's (a command's flag, or
// a flag another tool the README shows takes), so that a renamed or removed
// setting cannot leave the README describing one that does not exist.
func TestTheREADMENamesOnlyFlagsThatExist(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					known[n] = true
				}
			}
			walk(c.Subcommands)
		}
	}
	app := newApp()
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			known[n] = true
		}
	}
	walk(app.Commands)
	var unknown []string
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile("(?:^|[\\s`'\"(\\[])--([a-z][a-z0-9-]*[a-z0-9])").FindAllStringSubmatch(string(b), -1) {
		name := m[1]
		if known[name] || otherTools[name] || seen[name] {
			continue
		}
		seen[name] = true
		unknown = append(unknown, "--"+name)
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("the README names flags no natsock command has: %s", strings.Join(unknown, ", "))
	}
}

// The README's config file section shows the example file as it is, and
// its table has a row for every setting, as the settings table makes it:
// a new setting cannot be missing from the README. On failure the test
// prints the table to paste.
func TestTheREADMEShowsTheExampleFileAndEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("testdata/natsock.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+string(example)+"```\n") {
		t.Errorf("the README's config file section does not show testdata/natsock.yaml as it is")
	}
	var table strings.Builder
	table.WriteString("| flag | environment | file key |\n|---|---|---|\n")
	for _, s := range settings() {
		envs := make([]string, len(s.env))
		for i, e := range s.env {
			envs[i] = "`" + e + "`"
		}
		table.WriteString("| `--" + s.flag + "` | " + strings.Join(envs, ", ") + " | `" + s.key + "` |\n")
	}
	if !strings.Contains(string(readme), table.String()) {
		t.Errorf("the README's table of settings is not the settings table's; it should read:\n%s", table.String())
	}
}
