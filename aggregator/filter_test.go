package aggregator

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

func parseRules(t testing.TB, y string) []Rule {
	t.Helper()
	var c struct {
		Filters []Rule `yaml:"filters"`
	}
	dec := yaml.NewDecoder(strings.NewReader(y))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return c.Filters
}

func parseFlow(t testing.TB, l []byte) *schema.Flow {
	t.Helper()
	var f schema.Flow
	if err := schema.ParseFlow(l, &f); err != nil {
		t.Fatalf("ParseFlow: %v", err)
	}
	return &f
}

func TestFilterSemantics(t *testing.T) {
	const dropKubeSystemAllowed = `
filters:
  - name: drop-kube-system-allowed
    kind: flows
    action: exclude
    match:
      all:
        - {field: action, equals: allow}
        - {field: source_namespace, equals: kube-system}
`
	const keepOnlyDenied = `
filters:
  - name: keep-denied
    kind: flows
    action: include
    match: {field: action, equals: deny}
`
	allowedKS := line(t, baseFlow, map[string]any{"source_namespace": "kube-system"})
	deniedKS := line(t, baseFlow, map[string]any{"source_namespace": "kube-system", "action": "deny"})
	allowedShop := line(t, baseFlow, nil)
	tests := []struct {
		name  string
		rules string
		line  []byte
		keep  bool
	}{
		{"exclude matches", dropKubeSystemAllowed, allowedKS, false},
		{"exclude: denied kept", dropKubeSystemAllowed, deniedKS, true},
		{"exclude: other namespace kept", dropKubeSystemAllowed, allowedShop, true},
		{"include: denied kept", keepOnlyDenied, deniedKS, true},
		{"include: allowed dropped", keepOnlyDenied, allowedShop, false},
		{"no rules keep all", `filters: []`, allowedKS, true},
		{"exclude wins over include", keepOnlyDenied + `
  - {name: no-ks, kind: flows, action: exclude, match: {field: source_namespace, equals: kube-system}}
`, deniedKS, false},
		{"rules of another kind do not apply", `
filters:
  - {kind: dns, action: include, match: {field: qname, regex: '\.co\.uk$'}}
`, allowedShop, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := CompileFilters(parseRules(t, tc.rules))
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.KeepFlow(parseFlow(t, tc.line)); got != tc.keep {
				t.Errorf("KeepFlow = %v, want %v", got, tc.keep)
			}
		})
	}
}

func TestFilterOperators(t *testing.T) {
	f := parseFlow(t, line(t, baseFlow, map[string]any{
		"dest_domains":       []string{"registry.example.org", "cdn.example.org"},
		"nat_outgoing_ports": []int{30001, 30007},
		"policies": map[string]any{
			"all_policies":      []string{"0|security|security.staged:quarantine|deny|0", "1|default|shop/knp.default.web|allow|0"},
			"enforced_policies": []string{"0|default|shop/knp.default.web|allow|0"},
			"pending_policies":  nil,
		},
	}))
	tests := []struct {
		match string
		want  bool
	}{
		{`{field: source_ip, cidr: 10.42.0.0/16}`, true},
		{`{field: source_ip, cidr: [192.168.0.0/16, 10.42.1.0/24]}`, true},
		{`{field: dest_ip, cidr: 10.42.1.0/24}`, false},
		{`{field: dest_port, range: "1-1024"}`, false},
		{`{field: dest_port, range: ["1-1024", "8000-8999"]}`, true},
		{`{field: dest_port, equals: 8080}`, true},
		{`{field: dest_port, in: [80, 443]}`, false},
		{`{field: source_port, range: "40000-40001"}`, true},
		{`{field: dest_service_port_num, exists: true}`, false},
		{`{field: dest_service_port_num, exists: false}`, true},
		{`{field: dest_service_name, exists: true}`, false},
		{`{field: source_name, exists: true}`, true},
		{`{field: source_name, prefix: client-}`, true},
		{`{field: source_name_aggr, regex: '^backend'}`, false},
		{`{field: proto, in: [udp, tcp]}`, true},
		{`{field: source_labels, equals: app=client}`, true},
		{`{field: dest_labels, prefix: tier=}`, false},
		{`{field: dest_domains, regex: 'example\.org$'}`, true},
		{`{field: original_source_ips, exists: true}`, false},
		{`{field: nat_outgoing_ports, range: 30005-30010}`, true},
		{`{field: policies, equals: shop/knp.default.web}`, true},
		{`{field: policies, prefix: "security."}`, false},
		{`{field: all_policies, prefix: "security.staged:"}`, true},
		{`{field: policy_tiers, equals: default}`, true},
		{`{not: {field: reporter, equals: src}}`, false},
		{`{any: [{field: reporter, equals: dst}, {field: dest_port, equals: 8080}]}`, true},
		{`{all: [{field: reporter, equals: dst}, {field: dest_port, equals: 8080}]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.match, func(t *testing.T) {
			rules := parseRules(t, "filters:\n  - {kind: flows, action: include, match: "+tc.match+"}\n")
			fs, err := CompileFilters(rules)
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.KeepFlow(f); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterL7AndDNS(t *testing.T) {
	var l schema.L7
	if err := schema.ParseL7([]byte(baseL7), &l); err != nil {
		t.Fatal(err)
	}
	var d schema.DNS
	if err := schema.ParseDNS([]byte(baseDNS), &d); err != nil {
		t.Fatal(err)
	}
	fs, err := CompileFilters(parseRules(t, `
filters:
  - {kind: dns, action: exclude, match: {field: qname, regex: '\.cluster\.local$'}}
  - {kind: l7, action: include, match: {all: [{field: response_code, prefix: "5"}, {field: method, equals: GET}]}}
  - {kind: dns, action: exclude, match: {field: client_ip, cidr: 10.0.0.0/8}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if fs.KeepDNS(&d) {
		t.Error("DNS lookup of a cluster.local name kept")
	}
	if fs.KeepL7(&l) {
		t.Error("L7 200 response kept by an include rule for 5xx")
	}
	l.ResponseCode = "503"
	if !fs.KeepL7(&l) {
		t.Error("L7 503 GET dropped")
	}
}

func TestFilterCompileErrors(t *testing.T) {
	tests := []struct {
		name, rules string
		want        []string // substrings of the error
	}{
		{"unknown field", `[{name: r1, kind: flows, action: exclude, match: {all: [{field: action, equals: allow}, {field: sourc_namespace, equals: x}]}}]`,
			[]string{"filters[0] (r1)", "match.all[1].field", `unknown field "sourc_namespace"`, "source_namespace"}},
		{"bad regex", `[{kind: dns, action: exclude, match: {field: qname, regex: "(["}}]`,
			[]string{"filters[0]", "match: field qname", "regex"}},
		{"bad cidr", `[{name: c, kind: flows, action: include, match: {field: dest_ip, cidr: 10.0.0.0/33}}]`,
			[]string{"filters[0] (c)", "cidr[0]", "10.0.0.0/33"}},
		{"cidr on non-IP field", `[{kind: flows, action: include, match: {field: source_namespace, cidr: 10.0.0.0/8}}]`,
			[]string{"cidr applies only to IP fields"}},
		{"bad range", `[{name: p, kind: flows, action: include, match: {field: dest_port, range: "1024-1"}}]`,
			[]string{"filters[0] (p)", "range[0]", `"1024-1"`}},
		{"range on string", `[{kind: flows, action: include, match: {field: proto, range: "1-2"}}]`,
			[]string{"range applies only to integer fields"}},
		{"non-integer equals on port", `[{kind: flows, action: include, match: {field: dest_port, equals: http}}]`,
			[]string{"equals", `"http"`}},
		{"two operators", `[{kind: flows, action: include, match: {field: proto, equals: tcp, prefix: t}}]`,
			[]string{"exactly one operator"}},
		{"empty match", `[{kind: flows, action: include, match: {}}]`, []string{"exactly one of all, any, not or field"}},
		{"bad action", `[{name: x, kind: flows, action: drop, match: {field: proto, equals: tcp}}]`,
			[]string{"filters[0] (x)", "action", `"drop"`}},
		{"bad kind", `[{kind: flow, action: include, match: {field: proto, equals: tcp}}]`, []string{"kind", `"flow"`}},
		{"second rule named by index", `[{kind: l7, action: include, match: {field: url, prefix: a}}, {kind: l7, action: include, match: {field: nope, exists: true}}]`,
			[]string{"filters[1]", `"nope"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileFilters(parseRules(t, "filters: "+tc.rules))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFilterDropsAreAcknowledged(t *testing.T) {
	cfg := testConfig()
	cfg.Filters = parseRules(t, `
filters:
  - {name: keep-denied, kind: flows, action: include, match: {field: action, equals: deny}}
`)
	docs := aggregate(t, cfg, pipeline.KindFlow,
		line(t, baseFlow, nil), line(t, baseFlow, map[string]any{"action": "deny"}))
	if len(docs) != 1 || docs[0]["action"] != "deny" {
		t.Fatalf("documents = %v, want only the denied flow", docs)
	}
}

func TestFilterEvaluationAllocatesNothing(t *testing.T) {
	fs, err := CompileFilters(benchRules(t))
	if err != nil {
		t.Fatal(err)
	}
	f := parseFlow(t, []byte(baseFlow))
	if n := testing.AllocsPerRun(100, func() { fs.KeepFlow(f) }); n != 0 {
		t.Errorf("KeepFlow allocates %v times per call", n)
	}
}

func benchRules(t testing.TB) []Rule {
	return parseRules(t, `
filters:
  - {name: ks, kind: flows, action: exclude, match: {all: [{field: action, equals: allow}, {field: source_namespace, in: [kube-system, calico-system]}]}}
  - {name: internet, kind: flows, action: exclude, match: {all: [{field: dest_name_aggr, regex: '^nginx-internet'}, {field: source_name_aggr, equals: pub}]}}
  - {name: ports, kind: flows, action: include, match: {any: [{field: dest_port, range: "1-10000"}, {field: source_ip, cidr: 10.0.0.0/8}, {field: policies, prefix: shop/}, {field: source_labels, equals: app=client}]}}
`)
}

func BenchmarkFilter(b *testing.B) {
	fs, err := CompileFilters(benchRules(b))
	if err != nil {
		b.Fatal(err)
	}
	f := parseFlow(b, []byte(baseFlow))
	b.ReportAllocs()
	for b.Loop() {
		fs.KeepFlow(f)
	}
}
