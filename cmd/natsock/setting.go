package main

import (
	"encoding"
	"errors"
	"flag"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// A setting is one row of the settings table (settings.go): one value of
// options, and the flag, environment variables and config-file key that
// may give it. Its default is not in the row: it is whatever the layer
// that owns the field fills in (bridge.DefaultConfig, engine's Default*
// constants), read through the same field, so --help cannot disagree
// with what runs.
type setting struct {
	flag  string   // the flag's name, without "--"
	env   []string // its environment variables, most specific first
	key   string   // its key in the config file; "a.b" is key b in section a
	usage string   // --help's text
	// secret keeps the value out of every error message.
	secret bool
	// file says the value names a file natsock reads, so that natsock
	// check finds one that is missing before serve needs it.
	file  bool
	field field
}

// row builds a setting whose environment variable is NATSOCK_ and the
// flag's name in upper snake case.
func row(flag, key string, f field, usage string) *setting {
	return &setting{flag: flag, key: key, usage: usage, field: f,
		env: []string{"NATSOCK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))}}
}

// alsoEnv adds environment variables read when the first is unset.
func (s *setting) alsoEnv(names ...string) *setting { s.env = append(s.env, names...); return s }

// hidden keeps the setting's value out of error messages.
func (s *setting) hidden() *setting { s.secret = true; return s }

// names says the setting's value is the name of a file to read.
func (s *setting) names() *setting { s.file = true; return s }

// A field reads a setting's texts into its place in options.
type field interface {
	// set parses texts (one, or a list's elements) into o. Its error
	// says what is wrong without naming the value or its source.
	set(o *options, texts []string) error
	// text is the field's current value in o as --help shows it: quoted
	// if it is text, "" for none.
	text(o *options) string
	// ptr is the field's address in o, to find its path in bridge.Config.
	ptr(o *options) any
	// list reports whether the field takes many values.
	list() bool
	// isBool reports whether a flag alone ("--allow-eio3") sets it.
	isBool() bool
}

// scalar is a field of one value of type T.
type scalar[T any] struct {
	at     func(*options) *T
	parse  func(string) (T, error)
	format func(T) string
	quote  bool // --help shows the value quoted, as text
}

func (f scalar[T]) set(o *options, texts []string) error {
	v, err := f.parse(texts[0])
	if err != nil {
		return err
	}
	*f.at(o) = v
	return nil
}

func (f scalar[T]) text(o *options) string {
	s := f.format(*f.at(o))
	if f.quote && s != "" {
		return strconv.Quote(s)
	}
	return s
}
func (f scalar[T]) ptr(o *options) any { return f.at(o) }
func (f scalar[T]) list() bool         { return false }

func (f scalar[T]) isBool() bool {
	var zero T
	_, ok := any(zero).(bool)
	return ok
}

func stringField(at func(*options) *string) field {
	return scalar[string]{at: at, quote: true,
		parse:  func(s string) (string, error) { return s, nil },
		format: func(s string) string { return s }}
}

// oneOfField is a string field that takes one of choices.
func oneOfField(at func(*options) *string, choices ...string) field {
	return scalar[string]{at: at, quote: true,
		parse: func(s string) (string, error) {
			for _, c := range choices {
				if s == c {
					return s, nil
				}
			}
			return "", fmt.Errorf("want %s", orList(choices))
		},
		format: func(s string) string { return s }}
}

func intField(at func(*options) *int) field {
	return scalar[int]{at: at,
		parse: func(s string) (int, error) {
			// Base 0, as the flags took before: 1_000_000 and 0x400 too.
			n, err := strconv.ParseInt(strings.TrimSpace(s), 0, strconv.IntSize)
			if errors.Is(err, strconv.ErrRange) {
				return 0, errors.New("out of range")
			} else if err != nil {
				return 0, errors.New("not a whole number")
			}
			return int(n), nil
		},
		format: strconv.Itoa}
}

// floatField is a number that may have a fraction (0.5, 25, 1e3); NaN
// and the infinities are refused here, a range by the layer that owns it.
func floatField(at func(*options) *float64) field {
	return scalar[float64]{at: at,
		parse: func(s string) (float64, error) {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, errors.New("not a number (want, say, 10 or 0.5)")
			}
			return f, nil
		},
		format: func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }}
}

func durationField(at func(*options) *time.Duration) field {
	return scalar[time.Duration]{at: at,
		parse: func(s string) (time.Duration, error) {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				return 0, errors.New("not a duration (want a number with a unit: 500ms, 10s, 2m)")
			}
			return d, nil
		},
		format: time.Duration.String}
}

// bytesField is a field of bytes given as text (a secret, say).
func bytesField(at func(*options) *[]byte) field {
	return scalar[[]byte]{at: at, quote: true,
		parse:  func(s string) ([]byte, error) { return []byte(s), nil },
		format: func(b []byte) string { return string(b) }}
}

func boolField(at func(*options) *bool) field {
	return scalar[bool]{at: at,
		parse: func(s string) (bool, error) {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return false, errors.New("want true or false")
			}
			return b, nil
		},
		format: strconv.FormatBool}
}

// textField is a field of a type that reads and writes itself as text
// (engine.SlowPolicy, slog.Level).
func textField[T any, PT interface {
	*T
	encoding.TextUnmarshaler
	encoding.TextMarshaler
}](at func(*options) *T) field {
	return scalar[T]{at: at, quote: true,
		parse: func(s string) (T, error) {
			var v T
			err := PT(&v).UnmarshalText([]byte(strings.TrimSpace(s)))
			return v, err
		},
		format: func(v T) string {
			b, _ := PT(&v).MarshalText()
			return string(b)
		}}
}

// listField is a field of many strings: a flag given again adds to it, and
// a flag's or environment variable's value is split on commas (a file's
// list is taken item by item, so its items may hold commas).
type listField func(*options) *[]string

func (f listField) set(o *options, texts []string) error {
	*f(o) = append([]string(nil), texts...)
	return nil
}

func (f listField) text(o *options) string { return strings.Join(*f(o), ",") }
func (f listField) ptr(o *options) any     { return f(o) }
func (f listField) list() bool             { return true }
func (f listField) isBool() bool           { return false }

// splitList splits a flag's or environment variable's value on commas,
// dropping the spaces around each item.
func splitList(s string) []string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// fieldPath returns the path from bridge.Config of the field at p in o
// ("SocketIO.Engine.MaxPayload"), or "" when p is not in o.Bridge.
func fieldPath(o *options, p any) string {
	pv := reflect.ValueOf(p)
	var walk func(v reflect.Value, prefix string) string
	walk = func(v reflect.Value, prefix string) string {
		for i := range v.NumField() {
			f := v.Field(i)
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			if f.Addr().Pointer() == pv.Pointer() && f.Type() == pv.Type().Elem() {
				return prefix + sf.Name
			}
			if f.Kind() == reflect.Struct {
				if path := walk(f, prefix+sf.Name+"."); path != "" {
					return path
				}
			}
		}
		return ""
	}
	return walk(reflect.ValueOf(&o.Bridge).Elem(), "")
}

// cliFlag is a setting's command-line flag. It keeps the texts given, to
// be parsed with the environment's and the file's (resolve.go), so that a
// bad value is reported the same way whichever source gave it, and every
// bad value at once. It implements urfave/cli's Flag and the interfaces
// its --help uses.
type cliFlag struct {
	s     *setting
	def   string   // the default, for --help
	texts []string // what the command line gave, in order
	given bool
}

var (
	_ cli.DocGenerationSliceFlag = (*cliFlag)(nil)
	_ cli.CategorizableFlag      = (*cliFlag)(nil)
	_ flag.Value                 = (*cliValue)(nil)
)

func (f *cliFlag) Apply(set *flag.FlagSet) error {
	f.texts, f.given = nil, false
	set.Var((*cliValue)(f), f.s.flag, f.s.usage)
	return nil
}

func (f *cliFlag) Names() []string        { return []string{f.s.flag} }
func (f *cliFlag) IsSet() bool            { return f.given }
func (f *cliFlag) String() string         { return cli.FlagStringer(f) }
func (f *cliFlag) IsVisible() bool        { return true }
func (f *cliFlag) TakesValue() bool       { return !f.s.field.isBool() }
func (f *cliFlag) GetUsage() string       { return f.s.usage }
func (f *cliFlag) GetValue() string       { return strings.Join(f.texts, ",") }
func (f *cliFlag) GetDefaultText() string { return f.def }
func (f *cliFlag) GetEnvVars() []string   { return f.s.env }
func (f *cliFlag) IsSliceFlag() bool      { return f.s.field.list() }

// GetCategory groups --help's flags by their config file section: "nats"
// for the nats.* keys, and none for the top-level keys.
func (f *cliFlag) GetCategory() string {
	if i := strings.IndexByte(f.s.key, '.'); i > 0 {
		return f.s.key[:i] + ":"
	}
	return ""
}

// cliValue is the flag.Value behind a cliFlag.
type cliValue cliFlag

func (v *cliValue) Set(s string) error {
	v.given = true
	if v.s.field.list() {
		v.texts = append(v.texts, splitList(s)...)
	} else {
		v.texts = []string{s}
	}
	return nil
}

func (v *cliValue) String() string {
	if v == nil {
		return ""
	}
	return strings.Join(v.texts, ",")
}

// IsBoolFlag lets a boolean flag stand alone ("--allow-eio3").
func (v *cliValue) IsBoolFlag() bool { return v.s.field.isBool() }
