package schema

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

func TestListHelpers(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		strings []string
		ints    []int64
	}{
		{"empty", "", nil, nil},
		{"strings", `["a","b\"c","\u00e9"]`, []string{"a", `b"c`, "é"}, nil},
		{"ints with spaces", `[ 40112 , -3,0 ]`, []string{"40112", "-3", "0"}, []int64{40112, -3, 0}},
		{"objects kept raw", `[{"a":1},{"b":[2]}]`, []string{`{"a":1}`, `{"b":[2]}`}, nil},
		{"invalid raw stops early", `["a",`, []string{"a"}, nil},
		{"not an array", `{"a":1}`, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := List{Raw: tc.raw}
			if got := l.Strings(); !reflect.DeepEqual(got, tc.strings) {
				t.Errorf("Strings() = %q, want %q", got, tc.strings)
			}
			if got := l.Len(); got != len(tc.strings) {
				t.Errorf("Len() = %d, want %d", got, len(tc.strings))
			}
			if got := l.Ints(); !reflect.DeepEqual(got, tc.ints) {
				t.Errorf("Ints() = %v, want %v", got, tc.ints)
			}
		})
	}
	t.Run("Each stops when fn returns false", func(t *testing.T) {
		n := 0
		List{Raw: `["a","b","c"]`}.Each(func(string) bool { n++; return n < 2 })
		want(t, n, 2)
	})
	t.Run("RawList round-trip", func(t *testing.T) {
		objs := []string{`{"ip":"10.0.0.1"}`, `{"ip":"10.0.0.2"}`}
		if got := RawList(objs).Strings(); !reflect.DeepEqual(got, objs) {
			t.Errorf("RawList(...).Strings() = %q", got)
		}
		want(t, RawList(nil), List{})
	})
}

// A clone, or a document made from a view, must not change when the line
// buffer is reused for the next line.
func TestCloneAndDocsSurviveBufferReuse(t *testing.T) {
	for _, s := range samples(t) {
		t.Run(string(s.kind)+"/"+s.name, func(t *testing.T) {
			buf := bytes.Clone(s.line)
			var before, after []byte
			switch s.kind {
			case pipeline.KindFlow:
				var f Flow
				if err := ParseFlow(buf, &f); err != nil {
					t.Fatal(err)
				}
				c := f.Clone()
				d := FlowDocFromView(&f)
				before = AppendFlowDoc(nil, &d)
				cd := FlowDocFromView(&c)
				scribble(buf)
				after = AppendFlowDoc(AppendFlowDoc(nil, &d), &cd)
				before = append(before, before...)
			case pipeline.KindL7:
				var l L7
				if err := ParseL7(buf, &l); err != nil {
					t.Fatal(err)
				}
				d := L7DocFromView(&l)
				before = AppendL7Doc(nil, &d)
				scribble(buf)
				after = AppendL7Doc(nil, &d)
			case pipeline.KindDNS:
				var n DNS
				if err := ParseDNS(buf, &n); err != nil {
					t.Fatal(err)
				}
				d := DNSDocFromView(&n)
				before = AppendDNSDoc(nil, &d)
				scribble(buf)
				after = AppendDNSDoc(nil, &d)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("document changed after the line buffer was overwritten:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func scribble(b []byte) {
	for i := range b {
		b[i] = 'Z'
	}
}
