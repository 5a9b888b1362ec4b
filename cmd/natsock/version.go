package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// version describes this binary from its build information: the module's
// version ("(devel)" when built from a work tree), the VCS commit and its
// time, whether the tree had uncommitted changes, and the Go version.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information) " + runtime.Version()
	}
	return describeBuild(info)
}

// describeBuild is version's text for info.
func describeBuild(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := make(map[string]string)
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var vcs []string
	if rev := settings["vcs.revision"]; rev != "" {
		vcs = append(vcs, "commit "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	if len(vcs) > 0 {
		v += " (" + strings.Join(vcs, ", ") + ")"
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	return v + " " + goVersion
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print natsock's version: the module version, the commit it was built from, and Go's version",
		Description: `Prints the version from the binary's build information: the module version (a
pseudo-version made from the commit when built in a git work tree, "(devel)"
without VCS information), the commit and its time, "modified" if the tree had
uncommitted changes, and the Go version. natsock --version prints the same.

Examples:
  natsock version`,
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, "natsock version", version())
			return nil
		},
	}
}
