package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileValue is what a config file gives one setting: its text (one, or a
// list's items) and where each is.
type fileValue struct {
	texts []string
	lines []int // the line of each text; for an empty list, the key's
	key   string
}

// configFile is a parsed config file: a YAML mapping whose keys are the
// settings table's (a dotted key "nats.url" is key url in mapping nats).
type configFile struct {
	name   string // as given, for error messages
	values map[*setting]fileValue
}

// maxAliasDepth bounds the chain of YAML aliases followed to a value.
const maxAliasDepth = 16

// parseConfigFile reads a config file's bytes against the settings table.
// It reports every problem at once, each as "NAME:LINE: ...": YAML syntax,
// an unknown or repeated key, a value of the wrong shape (a list for a
// number, a mapping for a list). Values are only parsed later, with the
// flags' and the environment's, so a bad number is reported the same way
// whichever source gave it.
func parseConfigFile(name string, data []byte, table []*setting) (*configFile, error) {
	cf := &configFile{name: name, values: make(map[*setting]fileValue)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return cf, nil // an empty file sets nothing
	} else if err != nil {
		return nil, cf.yamlError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, cf.errorf(next.Line, "a second YAML document; a config file holds one")
	} else if !errors.Is(err, io.EOF) {
		return nil, cf.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return cf, nil
		}
		root = root.Content[0]
	}
	root, err := cf.resolve(root)
	if err != nil {
		return nil, err
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cf, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, cf.errorf(root.Line, "want a mapping of settings (key: value), found %s", kindName(root))
	}

	keys := make(map[string]*setting, len(table))
	sections := make(map[string]bool)
	for _, s := range table {
		keys[s.key] = s
		parts := strings.Split(s.key, ".")
		for i := 1; i < len(parts); i++ {
			sections[strings.Join(parts[:i], ".")] = true
		}
	}
	var errs []error
	var walk func(m *yaml.Node, prefix string)
	walk = func(m *yaml.Node, prefix string) {
		seen := make(map[string]int) // key -> line
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				errs = append(errs, cf.errorf(k.Line, "a key must be a plain name, found %s", kindName(k)))
				continue
			}
			path := prefix + k.Value
			if first, dup := seen[k.Value]; dup {
				errs = append(errs, cf.errorf(k.Line, "%s is given twice (first on line %d)", path, first))
				continue
			}
			seen[k.Value] = k.Line
			v, err := cf.resolve(v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if s, ok := keys[path]; ok {
				fv, err := cf.value(s, path, k, v)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				cf.values[s] = fv
				continue
			}
			if sections[path] {
				if v.Kind != yaml.MappingNode {
					errs = append(errs, cf.errorf(v.Line, "%s: want a mapping of settings, found %s", path, kindName(v)))
					continue
				}
				walk(v, path+".")
				continue
			}
			errs = append(errs, cf.errorf(k.Line, "unknown key %s%s", path, suggest(path, keys)))
		}
	}
	walk(root, "")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cf, nil
}

// value reads the value node v of setting s's key k.
func (cf *configFile) value(s *setting, path string, k, v *yaml.Node) (fileValue, error) {
	fv := fileValue{key: path}
	if s.field.list() {
		if v.Kind != yaml.SequenceNode {
			return fv, cf.errorf(v.Line, "%s: want a list, found %s", path, kindName(v))
		}
		fv.texts, fv.lines = []string{}, []int{}
		for i, item := range v.Content {
			item, err := cf.resolve(item)
			if err != nil {
				return fv, err
			}
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return fv, cf.errorf(item.Line, "%s[%d]: want a text, found %s", path, i, kindName(item))
			}
			fv.texts = append(fv.texts, item.Value)
			fv.lines = append(fv.lines, item.Line)
		}
		if len(v.Content) == 0 {
			fv.lines = []int{k.Line}
		}
		return fv, nil
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return fv, cf.errorf(v.Line, "%s: want a single value, found %s", path, kindName(v))
	}
	fv.texts, fv.lines = []string{v.Value}, []int{v.Line}
	return fv, nil
}

// resolve follows aliases to the node they name.
func (cf *configFile) resolve(n *yaml.Node) (*yaml.Node, error) {
	for range maxAliasDepth {
		if n.Kind != yaml.AliasNode {
			return n, nil
		}
		if n.Alias == nil {
			return nil, cf.errorf(n.Line, "an alias to nothing")
		}
		n = n.Alias
	}
	return nil, cf.errorf(n.Line, "aliases nested deeper than %d", maxAliasDepth)
}

func (cf *configFile) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", cf.name, line, fmt.Sprintf(format, args...))
}

// yamlLine finds the line number in a YAML library error.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError puts a YAML syntax error in the file:line form.
func (cf *configFile) yamlError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return cf.errorf(line, "%s", m[2])
	}
	return fmt.Errorf("%s: %s", cf.name, strings.TrimPrefix(msg, "yaml: "))
}

// kindName names a YAML node's kind for an error.
func kindName(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "no value"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an alias"
}

// suggest names the known keys closest to an unknown one: those whose
// last part is the same, or a near spelling ("max-payload", "maxpayload",
// "max_payloads" for max_payload).
func suggest(path string, keys map[string]*setting) string {
	var near []string
	norm := func(s string) string { return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s)) }
	last := norm(path[strings.LastIndex(path, ".")+1:])
	for k := range keys {
		kl := norm(k[strings.LastIndex(k, ".")+1:])
		if kl == last || (len(last) > 3 && editDistance(kl, last) <= 2) {
			near = append(near, k)
		}
	}
	if len(near) == 0 {
		return ""
	}
	sort.Strings(near)
	return " (did you mean " + orList(near) + "?)"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
