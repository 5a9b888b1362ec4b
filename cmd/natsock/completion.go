package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionShells are the shells natsock completion writes a script for.
var completionShells = []string{"bash", "zsh", "fish"}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that completes natsock's commands and each command's flags
(and file names after the flags that name a file). The script is made from the
commands themselves, so it is always this binary's.

Examples:
  source <(natsock completion bash)                           # this bash session
  natsock completion bash > /etc/bash_completion.d/natsock     # every bash session
  natsock completion zsh > "${fpath[1]}/_natsock"              # zsh (or: source <(natsock completion zsh))
  natsock completion fish > ~/.config/fish/completions/natsock.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || !slices.Contains(completionShells, c.Args().First()) {
				return cli.Exit("natsock completion: want one of "+strings.Join(completionShells, ", ")+", e.g. natsock completion bash", 2)
			}
			t := completionTree(c.App)
			switch c.Args().First() {
			case "bash":
				t.writeBash(c.App.Writer)
			case "zsh":
				t.writeZsh(c.App.Writer)
			case "fish":
				t.writeFish(c.App.Writer)
			}
			return nil
		},
	}
}

// compTree is what a completion script needs of the app: its name, its
// own flags, the visible commands, and each one's flags.
type compTree struct {
	prog   string
	global []compFlag
	cmds   []compCommand
}

type compCommand struct {
	name  string
	usage string
	flags []compFlag
	args  []string // words completed as its arguments (completion's shells, help's commands)
}

type compFlag struct {
	long, short string // without dashes; either may be empty
	usage       string
	value       bool // takes a value
	file        bool // the value names a file
	repeat      bool // may be given more than once
}

// completionTree reads the app's visible commands and their flags, the
// help flag of each included.
func completionTree(app *cli.App) compTree {
	t := compTree{prog: app.Name}
	t.global = []compFlag{
		{long: "help", short: "h", usage: "show help"},
		{long: "version", short: "v", usage: "print the version"},
	}
	var names []string
	for _, c := range app.VisibleCommands() {
		names = append(names, c.Name)
	}
	for _, c := range app.VisibleCommands() {
		cc := compCommand{name: c.Name, usage: c.Usage}
		for _, f := range c.VisibleFlags() {
			cc.flags = append(cc.flags, toCompFlag(f))
		}
		if !slices.ContainsFunc(cc.flags, func(f compFlag) bool { return f.long == "help" }) {
			cc.flags = append(cc.flags, compFlag{long: "help", short: "h", usage: "show help"})
		}
		switch c.Name {
		case "completion":
			cc.args = slices.Clone(completionShells)
		case "help":
			cc.args = names
		}
		for _, sub := range c.VisibleCommands() {
			if sub.Name != "help" {
				cc.args = append(cc.args, sub.Name) // natsock bench chart
			}
		}
		t.cmds = append(t.cmds, cc)
	}
	return t
}

func toCompFlag(f cli.Flag) compFlag {
	var cf compFlag
	for _, n := range f.Names() {
		if len(n) == 1 {
			cf.short = n
		} else if cf.long == "" {
			cf.long = n
		}
	}
	if d, ok := f.(cli.DocGenerationFlag); ok {
		cf.usage = d.GetUsage()
		cf.value = d.TakesValue()
	}
	switch f := f.(type) {
	case *cliFlag:
		cf.file = f.s.file || f.s.flag == "config"
		cf.repeat = f.s.field.list()
	case cli.DocGenerationSliceFlag:
		cf.repeat = f.IsSliceFlag()
	}
	return cf
}

func (f compFlag) dashed() []string {
	var out []string
	if f.long != "" {
		out = append(out, "--"+f.long)
	}
	if f.short != "" {
		out = append(out, "-"+f.short)
	}
	return out
}

// writeBash writes a bash script: the first word that is not a
// flag is the command; after a flag that takes a value, bash completes
// file names (complete -o default).
func (t compTree) writeBash(w io.Writer) {
	fn := "_" + t.prog
	fmt.Fprintf(w, `# bash completion for %[1]s, made by "%[1]s completion bash".
# This shell: source <(%[1]s completion bash)
# Every shell: %[1]s completion bash > /etc/bash_completion.d/%[1]s
%[2]s() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i flags= args=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $cmd in
`, t.prog, fn)
	var names, global []string
	for _, c := range t.cmds {
		names = append(names, c.name)
	}
	for _, f := range t.global {
		global = append(global, f.dashed()...)
	}
	fmt.Fprintf(w, "\t'') flags='%s' args='%s' ;;\n", strings.Join(global, " "), strings.Join(names, " "))
	for _, c := range t.cmds {
		var flags, valued []string
		for _, f := range c.flags {
			flags = append(flags, f.dashed()...)
			if f.value {
				valued = append(valued, f.dashed()...)
			}
		}
		fmt.Fprintf(w, "\t%s)\n", c.name)
		if len(valued) > 0 {
			// After a flag that takes a value: bash's own file names.
			fmt.Fprintf(w, "\t\tcase $prev in %s) return 0 ;; esac\n", strings.Join(valued, "|"))
		}
		fmt.Fprintf(w, "\t\tflags='%s' args='%s' ;;\n", strings.Join(flags, " "), strings.Join(c.args, " "))
	}
	fmt.Fprintf(w, `	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$args" -- "$cur"))
	fi
}
complete -o default -F %s %s
`, fn, t.prog)
}

// shQuote quotes s for a POSIX shell (and zsh): in single quotes, each
// single quote written as '\”.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeZsh writes a zsh script for fpath (#compdef) that also
// works when sourced.
func (t compTree) writeZsh(w io.Writer) {
	prog, global, cmds := t.prog, t.global, t.cmds
	fn := "_" + prog
	fmt.Fprintf(w, `#compdef %[1]s
# zsh completion for %[1]s, made by "%[1]s completion zsh".
# This shell: source <(%[1]s completion zsh)
# Every shell: %[1]s completion zsh > "${fpath[1]}/_%[1]s"
%[2]s() {
	local curcontext=$curcontext state line
	typeset -A opt_args
	local -a commands
	commands=(
`, prog, fn)
	for _, c := range cmds {
		fmt.Fprintf(w, "\t\t%s\n", shQuote(c.name+":"+c.usage))
	}
	fmt.Fprint(w, "\t)\n\t_arguments -C \\\n")
	for _, f := range global {
		fmt.Fprintf(w, "\t\t'(- *)'{%s}%s \\\n", strings.Join(f.dashed(), ","), shQuote(zshDesc(f.usage)))
	}
	fmt.Fprintf(w, `		'1: :->command' \
		'*:: :->args' && return
	case $state in
	command) _describe -t commands '%[1]s command' commands ;;
	args)
		case $line[1] in
`, prog)
	for _, c := range cmds {
		fmt.Fprintf(w, "\t\t%s)\n", c.name)
		switch {
		case c.name == "help":
			fmt.Fprint(w, "\t\t\t_describe -t commands 'command' commands ;;\n")
			continue
		case c.name == "completion":
			fmt.Fprintf(w, "\t\t\t_values %s %s ;;\n", shQuote(c.name), strings.Join(c.args, " "))
			continue
		}
		fmt.Fprint(w, "\t\t\t_arguments -s")
		for _, f := range c.flags {
			for _, d := range f.dashed() {
				spec := d
				if f.repeat {
					spec = "*" + spec
				}
				if f.value && len(d) > 2 {
					spec += "="
				}
				switch {
				case f.file:
					spec += zshDesc(f.usage) + ":file:_files"
				case f.value:
					spec += zshDesc(f.usage) + ":value: "
				default:
					spec += zshDesc(f.usage)
				}
				fmt.Fprintf(w, " \\\n\t\t\t\t%s", shQuote(spec))
			}
		}
		if len(c.args) > 0 {
			fmt.Fprintf(w, " \\\n\t\t\t\t%s", shQuote("1:subcommand:("+strings.Join(c.args, " ")+")"))
		}
		fmt.Fprint(w, " ;;\n")
	}
	fmt.Fprintf(w, `		esac ;;
	esac
}
if [[ $funcstack[1] == %[1]s ]]; then
	%[1]s "$@"
else
	compdef %[1]s %[2]s
fi
`, fn, prog)
}

// zshDesc is an _arguments description: [usage], with the characters
// _arguments reads escaped.
func zshDesc(usage string) string {
	return "[" + strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `:`, `\:`).Replace(usage) + "]"
}

// fishQuote quotes s for fish: in single quotes, with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// writeFish writes a fish script of complete commands.
func (t compTree) writeFish(w io.Writer) {
	prog, global, cmds := t.prog, t.global, t.cmds
	fmt.Fprintf(w, `# fish completion for %[1]s, made by "%[1]s completion fish".
# This shell: %[1]s completion fish | source
# Every shell: %[1]s completion fish > ~/.config/fish/completions/%[1]s.fish
complete -c %[1]s -f
`, prog)
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c %s -n __fish_use_subcommand -a %s -d %s\n", prog, c.name, fishQuote(c.usage))
	}
	for _, f := range global {
		fmt.Fprintf(w, "complete -c %s -n __fish_use_subcommand%s -d %s\n", prog, fishFlag(f), fishQuote(f.usage))
	}
	for _, c := range cmds {
		cond := fishQuote("__fish_seen_subcommand_from " + c.name)
		if len(c.args) > 0 {
			fmt.Fprintf(w, "complete -c %s -n %s -a %s\n", prog, cond, fishQuote(strings.Join(c.args, " ")))
		}
		for _, f := range c.flags {
			fmt.Fprintf(w, "complete -c %s -n %s%s -d %s\n", prog, cond, fishFlag(f), fishQuote(f.usage))
		}
	}
}

func fishFlag(f compFlag) string {
	var b strings.Builder
	if f.long != "" {
		b.WriteString(" -l " + f.long)
	}
	if f.short != "" {
		b.WriteString(" -s " + f.short)
	}
	if f.value {
		b.WriteString(" -r")
		if f.file {
			b.WriteString(" -F")
		}
	}
	return b.String()
}
