package elasticsearch

import (
	"path"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

var (
	flowshipNaming = Naming{Mode: NamingFlowship, Prefix: "flowship", Cluster: "prod-eu"}
	calicoNaming   = Naming{Mode: NamingCalico, Prefix: "flowship", Cluster: "cluster"}
)

func TestNamingIndex(t *testing.T) {
	tests := []struct {
		name   string
		naming Naming
		kind   pipeline.Kind
		t      time.Time
		want   string
	}{
		{"flowship flows", flowshipNaming, pipeline.KindFlow,
			time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC), "flowship-flows-prod-eu-2025.06.10"},
		{"flowship dns last nanosecond of the day", flowshipNaming, pipeline.KindDNS,
			time.Date(2025, 6, 10, 23, 59, 59, 999999999, time.UTC), "flowship-dns-prod-eu-2025.06.10"},
		{"flowship l7 local time past midnight UTC", flowshipNaming, pipeline.KindL7,
			time.Date(2025, 12, 31, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)), "flowship-l7-prod-eu-2026.01.01"},
		{"flowship local time before midnight UTC", flowshipNaming, pipeline.KindFlow,
			time.Date(2025, 1, 1, 0, 30, 0, 0, time.FixedZone("UTC+2", 2*3600)), "flowship-flows-prod-eu-2024.12.31"},
		{"custom prefix", Naming{Mode: NamingFlowship, Prefix: "net", Cluster: "c1"}, pipeline.KindFlow,
			time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC), "net-flows-c1-2025.02.03"},
		{"calico flows", calicoNaming, pipeline.KindFlow,
			time.Date(2025, 6, 10, 8, 0, 0, 0, time.UTC), "tigera_secure_ee_flows.cluster.flowship-20250610"},
		{"calico dns", calicoNaming, pipeline.KindDNS,
			time.Date(2024, 2, 29, 8, 0, 0, 0, time.UTC), "tigera_secure_ee_dns.cluster.flowship-20240229"},
		{"calico l7 other cluster", Naming{Mode: NamingCalico, Prefix: "flowship", Cluster: "managed-1"}, pipeline.KindL7,
			time.Date(2025, 11, 5, 8, 0, 0, 0, time.UTC), "tigera_secure_ee_l7.managed-1.flowship-20251105"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.naming.Index(tc.kind, tc.t)
			if got != tc.want {
				t.Fatalf("Index = %q, want %q", got, tc.want)
			}
			if !matches(tc.naming.Pattern(tc.kind), got) {
				t.Errorf("Pattern %q does not match %q", tc.naming.Pattern(tc.kind), got)
			}
			kind, day, ok := tc.naming.ParseIndex(got)
			y, m, d := tc.t.UTC().Date()
			if !ok || kind != tc.kind || !day.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("ParseIndex(%q) = %v, %v, %v; want %v, %d-%d-%d", got, kind, day, ok, tc.kind, y, m, d)
			}
		})
	}
}

// matches applies an Elasticsearch index wildcard (only '*').
func matches(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

func TestNamingPatternsAndAliases(t *testing.T) {
	tests := []struct {
		name               string
		naming             Naming
		kind               pipeline.Kind
		pattern, readAlias string
	}{
		{"flowship", flowshipNaming, pipeline.KindFlow, "flowship-flows-prod-eu-*", "flowship-flows-prod-eu"},
		{"calico", calicoNaming, pipeline.KindL7, "tigera_secure_ee_l7.cluster.flowship-*", "tigera_secure_ee_l7.cluster.flowship"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.naming.Pattern(tc.kind); got != tc.pattern {
				t.Errorf("Pattern = %q, want %q", got, tc.pattern)
			}
			alias := tc.naming.ReadAlias(tc.kind)
			if alias != tc.readAlias {
				t.Errorf("ReadAlias = %q, want %q", alias, tc.readAlias)
			}
			if matches(tc.naming.Pattern(tc.kind), alias) {
				t.Errorf("the read alias %q matches the index pattern; templates would treat it as an index", alias)
			}
		})
	}
	// Calico's own pattern and Kibana index pattern must find calico-mode indices.
	idx := calicoNaming.Index(pipeline.KindFlow, time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC))
	for _, p := range []string{"tigera_secure_ee_flows.cluster.*", "tigera_secure_ee_flows*"} {
		if !matches(p, idx) {
			t.Errorf("Calico pattern %q does not match %q", p, idx)
		}
	}
	// Calico's write alias (trailing dot) must stay Calico's.
	if a := calicoNaming.ReadAlias(pipeline.KindFlow); strings.HasSuffix(a, ".") {
		t.Errorf("ReadAlias %q takes over Calico's write alias", a)
	}
}

func TestNamingParseIndexRejects(t *testing.T) {
	tests := []struct {
		name   string
		naming Naming
		index  string
	}{
		{"other cluster with our cluster as prefix", flowshipNaming, "flowship-flows-prod-eu-b-2025.06.10"},
		{"other prefix", flowshipNaming, "other-flows-prod-eu-2025.06.10"},
		{"unknown kind", flowshipNaming, "flowship-audit-prod-eu-2025.06.10"},
		{"rollover suffix", flowshipNaming, "flowship-flows-prod-eu-2025.06.10-000001"},
		{"month 13", flowshipNaming, "flowship-flows-prod-eu-2025.13.01"},
		{"feb 30", flowshipNaming, "flowship-flows-prod-eu-2025.02.30"},
		{"calico date layout in flowship mode", flowshipNaming, "flowship-flows-prod-eu-20250610"},
		{"empty", flowshipNaming, ""},
		{"calico's own fluentd index", calicoNaming, "tigera_secure_ee_flows.cluster.fluentd-20250610-000001"},
		{"calico write alias", calicoNaming, "tigera_secure_ee_flows.cluster."},
		{"flowship layout in calico mode", calicoNaming, "tigera_secure_ee_flows.cluster.flowship-2025.06.10"},
		{"signed year", calicoNaming, "tigera_secure_ee_flows.cluster.flowship-+0250610"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if k, d, ok := tc.naming.ParseIndex(tc.index); ok {
				t.Fatalf("ParseIndex(%q) = %v, %v, true; want false", tc.index, k, d)
			}
			if _, ok := tc.naming.ParseDate(tc.index); ok {
				t.Fatalf("ParseDate(%q) accepted", tc.index)
			}
		})
	}
}

func TestNamingValidate(t *testing.T) {
	tests := []struct {
		name    string
		naming  Naming
		wantErr string // substring; "" means valid
	}{
		{"default", DefaultNaming(), ""},
		{"calico", calicoNaming, ""},
		{"bad mode", Naming{Mode: "daily", Prefix: "f", Cluster: "c"}, "elasticsearch.naming.mode"},
		{"empty mode", Naming{Prefix: "f", Cluster: "c"}, "elasticsearch.naming.mode"},
		{"empty prefix", Naming{Mode: NamingFlowship, Cluster: "c"}, "elasticsearch.naming.prefix"},
		{"uppercase prefix", Naming{Mode: NamingFlowship, Prefix: "Flow", Cluster: "c"}, "elasticsearch.naming.prefix"},
		{"prefix starts with underscore", Naming{Mode: NamingFlowship, Prefix: "_f", Cluster: "c"}, "elasticsearch.naming.prefix"},
		{"wildcard in cluster", Naming{Mode: NamingFlowship, Prefix: "f", Cluster: "c*"}, "elasticsearch.naming.cluster"},
		{"space in cluster", Naming{Mode: NamingFlowship, Prefix: "f", Cluster: "my cluster"}, "elasticsearch.naming.cluster"},
		{"empty cluster", Naming{Mode: NamingCalico, Prefix: "f"}, "elasticsearch.naming.cluster"},
		{"too long", Naming{Mode: NamingCalico, Prefix: "f", Cluster: strings.Repeat("c", 240)}, "255"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.naming.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestAppendIndexDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 128)
	ts := time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)
	if n := testing.AllocsPerRun(100, func() { buf = flowshipNaming.AppendIndex(buf[:0], pipeline.KindFlow, ts) }); n != 0 {
		t.Fatalf("AppendIndex allocates %v times per call", n)
	}
}

// FuzzParseIndex checks that ParseIndex never panics and that every name it
// accepts is exactly the name Index builds back.
func FuzzParseIndex(f *testing.F) {
	for _, s := range []string{"flowship-flows-prod-eu-2025.06.10", "tigera_secure_ee_dns.cluster.flowship-20250610",
		"flowship-flows-prod-eu-9999.12.31", "flowship-l7-prod-eu-0000.01.01", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, n := range []Naming{flowshipNaming, calicoNaming} {
			k, d, ok := n.ParseIndex(s)
			if !ok {
				continue
			}
			if back := n.Index(k, d); back != s {
				t.Fatalf("ParseIndex(%q) = %v, %v but Index gives %q", s, k, d, back)
			}
		}
	})
}
