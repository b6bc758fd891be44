package retention

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/pipeline"
)

func TestDefaultConfigIsValidAndMatchesCalicoRetention(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	// spec §6.5: flows 8, dns 8, l7 1 (fixed in the operator).
	for kind, want := range map[pipeline.Kind]int{pipeline.KindFlow: 8, pipeline.KindDNS: 8, pipeline.KindL7: 1} {
		if got := c.For(kind).RetentionDays; got != want {
			t.Errorf("default %s retention_days = %d, want %d", kind, got, want)
		}
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantKey string
	}{
		{"unknown mode", func(c *Config) { c.Mode = "ilmm" }, "retention.mode:"},
		{"empty cluster", func(c *Config) { c.Naming.Cluster = "" }, "elasticsearch.naming.cluster:"},
		{"negative replicas", func(c *Config) { c.Replicas = -1 }, "retention.replicas:"},
		{"sub-millisecond refresh", func(c *Config) { c.RefreshInterval = time.Microsecond }, "retention.refresh_interval:"},
		{"negative priority", func(c *Config) { c.TemplatePriority = -5 }, "retention.template_priority:"},
		{"too frequent managed runs", func(c *Config) { c.ManagedInterval = time.Second }, "retention.managed_interval:"},
		{"wildcard policy name", func(c *Config) { c.PolicyName = "flowship-*" }, "retention.policy_name:"},
		{"zero retention", func(c *Config) { c.Kinds.L7.RetentionDays = 0 }, "retention.kinds.l7.retention_days:"},
		{"zero shards", func(c *Config) { c.Kinds.DNS.Shards = 0 }, "retention.kinds.dns.shards:"},
		{"negative hot priority", func(c *Config) { c.Kinds.Flows.HotPriority = -1 }, "retention.kinds.flows.hot_priority:"},
		{"warm before the day ends", func(c *Config) { c.Kinds.Flows.Warm.MinAge = 12 * time.Hour }, "retention.kinds.flows.warm.min_age:"},
		{"warm after delete", func(c *Config) { c.Kinds.Flows.Warm.MinAge = 8 * 24 * time.Hour }, "retention.kinds.flows.warm.min_age:"},
		{"negative force merge", func(c *Config) { c.Kinds.Flows.Warm.ForceMergeSegments = -1 }, "retention.kinds.flows.warm.forcemerge_max_num_segments:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantKey) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tt.wantKey)
			}
		})
	}
}

func TestConfigYAMLKeepsDefaultsOfUnsetFields(t *testing.T) {
	src := `
mode: managed
replicas: 0
refresh_interval: 30s
kinds:
  flows: {retention_days: 15, warm: {min_age: 72h, readonly: true, forcemerge_max_num_segments: 1}}
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeManaged || c.Replicas != 0 || c.RefreshInterval != 30*time.Second {
		t.Errorf("top-level fields not decoded: %+v", c)
	}
	f := c.For(pipeline.KindFlow)
	if f.RetentionDays != 15 || f.Shards != 1 || f.HotPriority != 100 || f.Warm.MinAge != 72*time.Hour || f.Warm.Priority != 50 {
		t.Errorf("flows = %+v, want retention 15 with default shards 1, hot priority 100, warm priority 50", f)
	}
	if c.For(pipeline.KindL7).RetentionDays != 1 {
		t.Errorf("l7 retention lost its default: %+v", c.For(pipeline.KindL7))
	}
}

func TestObjectNames(t *testing.T) {
	tests := []struct {
		name         string
		mutate       func(*Config)
		wantPolicy   string
		wantTemplate string
	}{
		{"flowship mode", func(*Config) {}, "flowship-dns-prod", "flowship-dns-prod"},
		{"custom prefix", func(c *Config) { c.Naming.Prefix = "logs" }, "logs-dns-prod", "logs-dns-prod"},
		{"calico mode keeps off the operator's policy", func(c *Config) { c.Naming.Mode = "calico" }, "flowship-dns-prod", "flowship-dns-prod"},
		{"calico policy on request", func(c *Config) { c.Naming.Mode = "calico"; c.PolicyName = "tigera_secure_ee_{kind}_policy" }, "tigera_secure_ee_dns_policy", "flowship-dns-prod"},
		{"explicit policy name", func(c *Config) { c.PolicyName = "ours_{kind}_{cluster}" }, "ours_dns_prod", "flowship-dns-prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.mutate(&c)
			if got := c.policyName(pipeline.KindDNS); got != tt.wantPolicy {
				t.Errorf("policyName = %q, want %q", got, tt.wantPolicy)
			}
			if got := c.templateName(pipeline.KindDNS); got != tt.wantTemplate {
				t.Errorf("templateName = %q, want %q", got, tt.wantTemplate)
			}
		})
	}
}
