package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/natsock/natsock/bridge"
)

// Where a setting's value came from. The first source that gives a
// setting wins, in this order: a flag, an environment variable, the config
// file; a setting none of them gives keeps its default.
const (
	fromDefault = iota
	fromFlag
	fromEnv
	fromFile
)

// origin is where one setting's value came from, to name it in an error.
type origin struct {
	s     *setting
	from  int
	name  string   // "--map", "NATSOCK_MAP" or the file's name
	raw   string   // the environment variable's whole value
	texts []string // the value, or a list's items
	lines []int    // the file line of each text
	key   string   // the file key
}

// sources are where a command reads its settings: its flags (made from
// the settings table, with the --config flag), the environment, and the
// config file the flag or NATSOCK_CONFIG names.
type sources struct {
	table     []*setting
	flags     []cli.Flag
	flagOf    map[*setting]*cliFlag
	file      *cliFlag // --config
	lookupEnv func(string) (string, bool)
}

// newSources makes the command-line flags of the settings table, with
// their defaults for --help, and the --config flag.
func newSources() *sources {
	def := defaultOptions()
	src := &sources{table: settings(), flagOf: make(map[*setting]*cliFlag), lookupEnv: os.LookupEnv}
	// The file's own setting: a flag and an environment variable, read
	// first, through the same sources as the others.
	src.file = &cliFlag{s: &setting{flag: "config", env: []string{"NATSOCK_CONFIG"},
		usage: "YAML config file giving any setting below by its key; a flag beats its environment variable, which beats the file",
		field: stringField(func(o *options) *string { return &o.ConfigFile })}}
	src.flags = []cli.Flag{src.file}
	for _, s := range src.table {
		f := &cliFlag{s: s, def: s.field.text(&def)}
		src.flagOf[s] = f
		src.flags = append(src.flags, f)
	}
	return src
}

// config is a resolved configuration: the options, where each of the
// settings that were given came from, and the values that could not be
// read.
type config struct {
	opts    options
	origins map[*setting]*origin
	table   []*setting
	bad     []string // the values that could not be read, each naming its source
}

// load fills options from the flags given (once the command line is
// parsed), the environment and the config file (--config or
// NATSOCK_CONFIG), in that precedence. Its error is the config file's:
// unreadable, not YAML, an unknown key, a value of the wrong shape. A
// value that does not parse (a word for a number) is kept in cfg.bad,
// naming its source, and its setting keeps its default, so that
// problems() can report it with every other problem.
func (src *sources) load() (*config, error) {
	var file *configFile
	path := ""
	if o := src.pick(src.file.s, nil); o != nil {
		path = o.texts[0]
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.describe(0), err)
		}
		if file, err = parseConfigFile(path, data, src.table); err != nil {
			return nil, err
		}
	}
	cfg := src.fill(file)
	cfg.opts.ConfigFile = path
	return cfg, nil
}

// fill reads every setting from the source that wins for it: a flag, the
// environment or file (nil for none).
func (src *sources) fill(file *configFile) *config {
	cfg := &config{opts: newOptions(), origins: make(map[*setting]*origin), table: src.table}
	for _, s := range src.table {
		o := src.pick(s, file)
		if o == nil {
			continue
		}
		cfg.origins[s] = o
		if err := s.field.set(&cfg.opts, o.texts); err != nil {
			cfg.bad = append(cfg.bad, fmt.Sprintf("%s: %v", o.describe(0), err))
		}
	}
	return cfg
}

// problems lists every problem with the configuration, each naming where
// its value came from: the values that could not be read, the files named
// that cannot be, then what the bridge's Validate finds.
func (cfg *config) problems() []string {
	out := append([]string(nil), cfg.bad...)
	for _, s := range cfg.table {
		if o := cfg.origins[s]; o != nil && s.file && o.texts[0] != "" {
			if err := readable(o.texts[0]); err != nil {
				out = append(out, fmt.Sprintf("%s: %v", o.describe(0), err))
			}
		}
	}
	return append(out, cfg.explain(cfg.opts.Bridge.Validate())...)
}

// readable reports why the file name cannot be read, if it is missing or
// a directory. It only looks (a named pipe is not opened, so a check never
// blocks); a file that cannot be opened is still found when serve starts.
func readable(name string) error {
	st, err := os.Stat(name)
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	} else if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory, not a file")
	}
	return nil
}

// pick returns the origin of the value that wins for s, or nil when no
// source gives one.
func (src *sources) pick(s *setting, file *configFile) *origin {
	f := src.flagOf[s]
	if s == src.file.s {
		f = src.file
	}
	if f != nil && f.given {
		return &origin{s: s, from: fromFlag, name: "--" + s.flag, texts: f.texts}
	}
	for _, name := range s.env {
		v, ok := src.lookupEnv(name)
		if !ok || v == "" {
			continue
		}
		texts := []string{v}
		if s.field.list() {
			texts = splitList(v)
		}
		return &origin{s: s, from: fromEnv, name: name, raw: v, texts: texts}
	}
	if file != nil {
		if fv, ok := file.values[s]; ok {
			return &origin{s: s, from: fromFile, name: file.name, texts: fv.texts, lines: fv.lines, key: fv.key}
		}
	}
	return nil
}

// describe names the source of the value (item i of a list), with the
// value unless it is secret: `--max-payload "abc"`,
// `NATSOCK_MAP="a,b" (item 2)`, `natsock.yaml:12: maps[1] "b"`.
func (o *origin) describe(i int) string {
	text := ""
	if i < len(o.texts) {
		text = o.texts[i]
	}
	quoted := func(s string) string {
		if o.s.secret {
			return "(hidden)"
		}
		return strconv.Quote(s)
	}
	list := o.s.field.list()
	switch o.from {
	case fromFlag:
		return "--" + o.s.flag + " " + quoted(text)
	case fromEnv:
		if list && len(o.texts) > 1 {
			return fmt.Sprintf("%s=%s (item %d)", o.name, quoted(o.raw), i+1)
		}
		return o.name + "=" + quoted(o.raw)
	case fromFile:
		line := 0
		if i < len(o.lines) {
			line = o.lines[i]
		} else if len(o.lines) > 0 {
			line = o.lines[0]
		}
		if list {
			if i < len(o.texts) {
				return fmt.Sprintf("%s:%d: %s[%d] %s", o.name, line, o.key, i, quoted(text))
			}
			return fmt.Sprintf("%s:%d: %s", o.name, line, o.key)
		}
		return fmt.Sprintf("%s:%d: %s %s", o.name, line, o.key, quoted(text))
	}
	return "--" + o.s.flag + " (or " + strings.Join(o.s.env, ", ") + ", or " + o.s.key + " in a config file)"
}

// fieldIndex splits a bridge.FieldError's field path into the field and
// the index of a list item: "Maps[1]" is "Maps", 1.
var fieldIndex = regexp.MustCompile(`^(.*)\[(\d+)\]$`)

// explain puts each problem in err (bridge.Config.Validate's) in the
// terms of where its value came from. A problem with a field no setting
// fills is kept as it is.
func (cfg *config) explain(err error) []string {
	paths := make(map[string]*setting, len(cfg.table))
	for _, s := range cfg.table {
		if p := fieldPath(&cfg.opts, s.field.ptr(&cfg.opts)); p != "" {
			paths[p] = s
		}
	}
	var out []string
	for _, e := range flatten(err) {
		var fe *bridge.FieldError
		if !errors.As(e, &fe) {
			out = append(out, e.Error())
			continue
		}
		path, index := fe.Field, 0
		if m := fieldIndex.FindStringSubmatch(path); m != nil {
			path = m[1]
			index, _ = strconv.Atoi(m[2])
		}
		s, ok := paths[path]
		if !ok {
			out = append(out, e.Error())
			continue
		}
		o := cfg.origins[s]
		if o == nil {
			o = &origin{s: s, from: fromDefault}
		}
		out = append(out, o.describe(index)+": "+fe.Err.Error())
	}
	return out
}

// flatten lists the errors joined in err (errors.Join, nested).
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*bridge.FieldError); ok {
		return []error{err} // it unwraps to ErrConfig and its reason
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// lines lists the problems in err, one a line.
func lines(err error) []string {
	var out []string
	for _, e := range flatten(err) {
		out = append(out, strings.Split(e.Error(), "\n")...)
	}
	return out
}
