package main

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// envRef matches ${NAME} and ${NAME:-default} in config values, so a
// DaemonSet can pass NODE_NAME from the downward API.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// loadConfig reads a YAML file into out (which holds the defaults already)
// strictly: unknown keys are errors that name the key and line.
func loadConfig(path string, out any) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return decodeConfig(path, src, out)
}

// decodeConfig decodes src (named name in errors) into out with the
// process environment; see decodeConfigEnv.
func decodeConfig(name string, src []byte, out any) error {
	return decodeConfigEnv(name, src, os.LookupEnv, out)
}

// decodeConfigEnv decodes the first YAML document of src into out. It
// parses first and expands ${NAME} references in scalar values only (see
// expandEnv), so a variable's value can never add keys, lists or
// documents. Keys not in out's type are errors naming key and line; every
// error of the file is reported, in line order.
func decodeConfigEnv(name string, src []byte, lookup func(string) (string, bool), out any) error {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(src)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("config %s: %s%s", name, friendlyYAMLError(err), flowHint(src, err))
	}
	if err := expandEnv(&doc, lookup); err != nil {
		return fmt.Errorf("config %s: %w", name, err)
	}
	msgs := unknownKeys(&doc, reflect.TypeOf(out), 0)
	if err := doc.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs = append(msgs, te.Errors...)
		} else {
			msgs = append(msgs, friendlyYAMLError(err))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	slices.SortStableFunc(msgs, func(a, b string) int { return lineOf(a) - lineOf(b) })
	return fmt.Errorf("config %s: %s", name, strings.Join(msgs, "; "))
}

// expandEnv replaces ${NAME} and ${NAME:-default} in the scalar values of
// the tree at n; keys, comments and tags are left alone, and a value is
// expanded once (a variable holding "${X}" stays "${X}"). A variable that
// is unset or empty and has no default is an error naming it and the line.
//
// A plain (unquoted) scalar is typed again after expansion, as if the
// value had been written there: "9200" is a number, and a value that
// expands to nothing reads as null, so the key keeps its default. A quoted
// or block scalar stays a string ("${NAME:-}" is an empty string).
func expandEnv(n *yaml.Node, lookup func(string) (string, bool)) error {
	var errs []error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.ScalarNode:
			expandScalar(n, lookup, &errs)
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		}
		// An alias shares its anchor's node, which is expanded where
		// it is defined.
	}
	walk(n)
	return errors.Join(errs...)
}

func expandScalar(n *yaml.Node, lookup func(string) (string, bool), errs *[]error) {
	if !strings.Contains(n.Value, "${") {
		return
	}
	v := envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		if v, ok := lookup(sub[1]); ok && v != "" {
			return v
		}
		if sub[2] != "" {
			return sub[3]
		}
		*errs = append(*errs, fmt.Errorf("line %d: environment variable %s is not set (use ${%s:-default} for a default)", n.Line, sub[1], sub[1]))
		return m
	})
	if v == n.Value {
		return
	}
	n.Value = v
	const quotedOrBlock = yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle | yaml.TaggedStyle
	if n.Style&quotedOrBlock == 0 {
		n.Tag = "" // typed from the value when decoded
		if v == "" {
			n.Tag = "!!null"
		}
	}
}

var (
	unmarshalerType       = reflect.TypeFor[yaml.Unmarshaler]()
	legacyUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownKeys returns "line N: unknown key K" for every mapping key in the
// tree at n that t (the Go type it decodes into) has no field for, with
// yaml's field rules (tag name, else the lower-cased field name; ",inline"
// structs and maps; "-" skipped). A type that decodes itself is not looked
// into. It does what yaml's strict decoder does, which cannot decode a
// tree that was changed after parsing.
func unknownKeys(n *yaml.Node, t reflect.Type, depth int) []string {
	if depth > 1000 || t == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		// An alias is checked where its anchor is defined; following
		// aliases here could take exponential time (nested aliases).
		return nil
	}
	if n.Kind == yaml.DocumentNode {
		var out []string
		for _, c := range n.Content {
			out = append(out, unknownKeys(c, t, depth+1)...)
		}
		return out
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if pt := reflect.PointerTo(t); pt.Implements(unmarshalerType) || pt.Implements(legacyUnmarshalerType) || pt.Implements(textUnmarshalerType) {
		return nil
	}
	var out []string
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields, rest := structKeys(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				out = append(out, unknownKeys(v, t, depth+1)...)
				continue
			}
			ft, ok := fields[k.Value]
			switch {
			case ok:
				out = append(out, unknownKeys(v, ft, depth+1)...)
			case rest != nil:
				out = append(out, unknownKeys(v, rest, depth+1)...)
			default:
				out = append(out, fmt.Sprintf("line %d: unknown key %s", k.Line, k.Value))
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 1; i < len(n.Content); i += 2 {
				out = append(out, unknownKeys(n.Content[i], t.Elem(), depth+1)...)
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				out = append(out, unknownKeys(c, t.Elem(), depth+1)...)
			}
		}
	}
	return out
}

// structKeys maps each YAML key of struct t to its field's type; rest is
// the element type of an ",inline" map (any other key goes there), or nil.
func structKeys(t reflect.Type) (fields map[string]reflect.Type, rest reflect.Type) {
	fields = map[string]reflect.Type{}
	for f := range t.Fields() {
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(flags, ","), "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Map:
				rest = ft.Elem()
			case ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType):
				inner, innerRest := structKeys(ft)
				for k, v := range inner {
					fields[k] = v
				}
				if innerRest != nil {
					rest = innerRest
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields, rest
}

// flowHint explains the syntax error of an unquoted ${NAME} in a flow
// collection (its braces are YAML syntax there), which worked when
// expansion was textual.
func flowHint(src []byte, err error) string {
	var line int
	if _, e := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); e != nil || line < 1 {
		return ""
	}
	// yaml numbers a parser error's line from 0 or 1, depending on
	// the error: look at both.
	lines := bytes.Split(src, []byte("\n"))
	if !slices.ContainsFunc(lines[max(0, min(line-1, len(lines))):min(line+1, len(lines))], func(l []byte) bool { return bytes.Contains(l, []byte("${")) }) {
		return ""
	}
	return ` (a ${NAME} inside [ ] or { } must be quoted: ["${NAME}"])`
}

// lineOf returns N of a message starting "line N:", else 0.
func lineOf(msg string) int {
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return 0
	}
	num, _, _ := strings.Cut(rest, ":")
	n, _ := strconv.Atoi(num)
	return n
}

// friendlyYAMLError strips yaml's "yaml: unmarshal errors:" framing.
func friendlyYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	return strings.ReplaceAll(strings.TrimSpace(msg), "\n  ", "; ")
}
