package aggregator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

// Rule is one declarative filter rule. A record of Kind is dropped when
// it matches any exclude rule; when include rules exist for its kind it
// must also match at least one of them. Dropped records are acknowledged
// like delivered ones.
//
// Example (YAML):
//
//	filters:
//	  - name: drop-kube-system-allowed
//	    kind: flows
//	    action: exclude
//	    match:
//	      all:
//	        - {field: action, equals: allow}
//	        - {field: source_namespace, equals: kube-system}
//
// This covers what fluentd grep filters did (spec §7.2): <regexp> is an
// include rule with regex, <exclude> an exclude rule, <and>/<or> are
// all/any.
type Rule struct {
	Name   string        `yaml:"name"`   // used in errors and logs; optional
	Kind   pipeline.Kind `yaml:"kind"`   // flows | l7 | dns
	Action string        `yaml:"action"` // include | exclude
	Match  Match         `yaml:"match"`
}

// Match is a condition: exactly one of All, Any, Not, or Field with one
// operator. Fields are Calico JSON names; "policies" matches the names of
// the enforced policies, "policy_tiers" their tiers.
type Match struct {
	All []Match `yaml:"all,omitempty"` // every sub-condition holds
	Any []Match `yaml:"any,omitempty"` // at least one holds
	Not *Match  `yaml:"not,omitempty"` // the sub-condition does not hold

	Field  string  `yaml:"field,omitempty"`
	Equals *string `yaml:"equals,omitempty"` // exact value (integers compared numerically)
	In     Values  `yaml:"in,omitempty"`     // any of the values
	Prefix *string `yaml:"prefix,omitempty"` // string fields
	Regex  *string `yaml:"regex,omitempty"`  // RE2, unanchored; string fields
	CIDR   Values  `yaml:"cidr,omitempty"`   // IP fields: inside any of the prefixes
	Range  Values  `yaml:"range,omitempty"`  // integer fields: "1-1024" or "53", any of them
	Exists *bool   `yaml:"exists,omitempty"` // true: not null, "", "-" or empty list
}

// Values is a list that reads from YAML as one scalar or a sequence.
type Values []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (v *Values) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*v = Values{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*v = s
	return nil
}

type pred[T any] func(*T) bool

type kindRules[T any] struct {
	include, exclude []pred[T]
}

func (k *kindRules[T]) keep(v *T) bool {
	for _, p := range k.exclude {
		if p(v) {
			return false
		}
	}
	if len(k.include) == 0 {
		return true
	}
	for _, p := range k.include {
		if p(v) {
			return true
		}
	}
	return false
}

// Filters are compiled rules. The zero value keeps everything. Keep
// methods allocate nothing and are safe for concurrent use.
type Filters struct {
	flows kindRules[schema.Flow]
	l7    kindRules[schema.L7]
	dns   kindRules[schema.DNS]
}

// KeepFlow reports whether f passes the flow rules.
func (fs *Filters) KeepFlow(f *schema.Flow) bool { return fs.flows.keep(f) }

// KeepL7 reports whether l passes the l7 rules.
func (fs *Filters) KeepL7(l *schema.L7) bool { return fs.l7.keep(l) }

// KeepDNS reports whether d passes the dns rules.
func (fs *Filters) KeepDNS(d *schema.DNS) bool { return fs.dns.keep(d) }

// CompileFilters checks and compiles rules. Errors name the rule (index
// and name) and the key.
func CompileFilters(rules []Rule) (*Filters, error) {
	fs := &Filters{}
	var errs []error
	for i, r := range rules {
		where := fmt.Sprintf("aggregator.filters[%d]", i)
		if r.Name != "" {
			where += fmt.Sprintf(" (%s)", r.Name)
		}
		if err := fs.add(r); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return fs, nil
}

func (fs *Filters) add(r Rule) error {
	if r.Action != "include" && r.Action != "exclude" {
		return fmt.Errorf("action: %q is not include or exclude", r.Action)
	}
	switch r.Kind {
	case pipeline.KindFlow:
		return addRule(&fs.flows, r, flowFields)
	case pipeline.KindL7:
		return addRule(&fs.l7, r, l7Fields)
	case pipeline.KindDNS:
		return addRule(&fs.dns, r, dnsFields)
	}
	return fmt.Errorf("kind: %q is not one of %q", r.Kind, pipeline.Kinds)
}

func addRule[T any](k *kindRules[T], r Rule, fields map[string]field[T]) error {
	p, err := compileMatch(&r.Match, "match", fields, string(r.Kind))
	if err != nil {
		return err
	}
	if r.Action == "include" {
		k.include = append(k.include, p)
	} else {
		k.exclude = append(k.exclude, p)
	}
	return nil
}

func compileMatch[T any](m *Match, path string, fields map[string]field[T], kind string) (pred[T], error) {
	n := 0
	for _, set := range []bool{m.All != nil, m.Any != nil, m.Not != nil, m.Field != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%s: want exactly one of all, any, not or field", path)
	}
	switch {
	case m.All != nil, m.Any != nil:
		subs, all := m.Any, false
		key := "any"
		if m.All != nil {
			subs, all, key = m.All, true, "all"
		}
		if len(subs) == 0 {
			return nil, fmt.Errorf("%s.%s: must not be empty", path, key)
		}
		ps := make([]pred[T], len(subs))
		for i := range subs {
			p, err := compileMatch(&subs[i], fmt.Sprintf("%s.%s[%d]", path, key, i), fields, kind)
			if err != nil {
				return nil, err
			}
			ps[i] = p
		}
		if all {
			return func(v *T) bool {
				for _, p := range ps {
					if !p(v) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(v *T) bool {
			for _, p := range ps {
				if p(v) {
					return true
				}
			}
			return false
		}, nil
	case m.Not != nil:
		p, err := compileMatch(m.Not, path+".not", fields, kind)
		if err != nil {
			return nil, err
		}
		return func(v *T) bool { return !p(v) }, nil
	}
	f, ok := fields[m.Field]
	if !ok {
		return nil, fmt.Errorf("%s.field: unknown field %q for kind %s; known fields: %s",
			path, m.Field, kind, strings.Join(fieldNames(fields), ", "))
	}
	p, err := compileLeaf(m, f)
	if err != nil {
		return nil, fmt.Errorf("%s: field %s (%s): %w", path, m.Field, f.typ, err)
	}
	return p, nil
}

// compileLeaf builds the predicate of one field condition.
func compileLeaf[T any](m *Match, f field[T]) (pred[T], error) {
	ops := 0
	for _, set := range []bool{m.Equals != nil, m.In != nil, m.Prefix != nil, m.Regex != nil, m.CIDR != nil, m.Range != nil, m.Exists != nil} {
		if set {
			ops++
		}
	}
	if ops != 1 {
		return nil, errors.New("want exactly one operator: equals, in, prefix, regex, cidr, range or exists")
	}
	if m.Exists != nil {
		want := *m.Exists
		ex := existsPred(f)
		return func(v *T) bool { return ex(v) == want }, nil
	}
	switch f.typ {
	case tInt, tOptInt, tIntList:
		im, err := intMatcher(m)
		if err != nil {
			return nil, err
		}
		return intPred(f, im), nil
	}
	sm, err := strMatcher(m, f.typ)
	if err != nil {
		return nil, err
	}
	return strPred(f, sm), nil
}

func existsPred[T any](f field[T]) pred[T] {
	switch f.typ {
	case tStr, tIP:
		return func(v *T) bool { return !absent(f.str(v)) }
	case tInt, tOptInt:
		return func(v *T) bool { _, ok := f.num(v); return ok }
	}
	return func(v *T) bool {
		found := false
		f.list(v).Each(func(e string) bool { found = !absent(e); return !found })
		return found
	}
}

func strPred[T any](f field[T], sm func(string) bool) pred[T] {
	switch f.typ {
	case tStr, tIP:
		return func(v *T) bool { return sm(f.str(v)) }
	case tPolicy:
		return func(v *T) bool {
			found := false
			f.list(v).Each(func(e string) bool { found = sm(f.elem(e)); return !found })
			return found
		}
	}
	return func(v *T) bool {
		found := false
		f.list(v).Each(func(e string) bool { found = sm(e); return !found })
		return found
	}
}

func intPred[T any](f field[T], im func(int64) bool) pred[T] {
	if f.typ == tIntList {
		return func(v *T) bool {
			found := false
			f.list(v).Each(func(e string) bool {
				n, err := strconv.ParseInt(e, 10, 64)
				found = err == nil && im(n)
				return !found
			})
			return found
		}
	}
	return func(v *T) bool { n, ok := f.num(v); return ok && im(n) }
}
