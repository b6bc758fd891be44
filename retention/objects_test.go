package retention

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

func TestTemplateGoldens(t *testing.T) {
	for _, ilm := range []bool{true, false} {
		for _, kind := range pipeline.Kinds {
			objs, err := buildObjects(testConfig(), kind, testSpecs()[kind], ilm)
			if err != nil {
				t.Fatal(err)
			}
			suffix := "managed"
			if ilm {
				suffix = "ilm"
			}
			var all []byte
			for _, o := range objs {
				if o.typ == TypeILMPolicy {
					continue
				}
				all = append(all, "PUT "+o.path+"\n"...)
				all = append(all, indentJSON(t, o.body)...)
			}
			golden(t, "templates_"+string(kind)+"_"+suffix+".txt", all)
		}
	}
}

func TestTemplatesFollowTheNaming(t *testing.T) {
	tests := []struct {
		name        string
		naming      esink.Naming
		ilm         bool
		wantPattern string
		wantAlias   string
		wantParse   bool // index.lifecycle.parse_origination_date sent
		wantILM     bool // index.lifecycle.* sent at all
	}{
		{"flowship with ILM", esink.Naming{Mode: "flowship", Prefix: "flowship", Cluster: "prod"}, true, "flowship-flows-prod-*", "flowship-flows-prod", true, true},
		{"flowship without ILM", esink.Naming{Mode: "flowship", Prefix: "flowship", Cluster: "prod"}, false, "flowship-flows-prod-*", "flowship-flows-prod", false, false},
		// Calico-mode names end in yyyyMMdd, which ILM cannot parse: setting
		// parse_origination_date would make index creation fail.
		{"calico with ILM", esink.Naming{Mode: "calico", Prefix: "flowship", Cluster: "cluster"}, true, "tigera_secure_ee_flows.cluster.flowship-*", "tigera_secure_ee_flows.cluster.flowship", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Naming = tt.naming
			objs, err := buildObjects(cfg, pipeline.KindFlow, testSpecs()[pipeline.KindFlow], tt.ilm)
			if err != nil {
				t.Fatal(err)
			}
			it := decode(t, objs[len(objs)-1].body)
			if got := it["index_patterns"].([]any)[0]; got != tt.wantPattern {
				t.Errorf("index_patterns = %v, want %s", got, tt.wantPattern)
			}
			aliases := it["template"].(map[string]any)["aliases"].(map[string]any)
			if _, ok := aliases[tt.wantAlias]; !ok || len(aliases) != 1 {
				t.Errorf("aliases = %v, want exactly %q", aliases, tt.wantAlias)
			}
			settings := string(objs[len(objs)-2].body)
			if got := strings.Contains(settings, `"lifecycle"`); got != tt.wantILM {
				t.Errorf("settings %s: lifecycle present = %v, want %v", settings, got, tt.wantILM)
			}
			if got := strings.Contains(settings, `"parse_origination_date":true`); got != tt.wantParse {
				t.Errorf("settings %s: parse_origination_date = %v, want %v", settings, got, tt.wantParse)
			}
		})
	}
}

func TestParsesOrigination(t *testing.T) {
	// Index names ILM accepts with parse_origination_date: "<anything>-yyyy.MM.dd[-digits]".
	tests := []struct {
		index string
		want  bool
	}{
		{"flowship-flows-prod-2025.06.10", true},
		{"tigera_secure_ee_flows.cluster.flowship-20250610", false},
		{"logs-2025.06.10-000002", true},
		{"tigera_secure_ee_flows.cluster.fluentd-20250610-000001", false},
		{"flows_2025.06.10", false},
	}
	for _, tt := range tests {
		if got := originationDate.MatchString(tt.index); got != tt.want {
			t.Errorf("originationDate matches %q = %v, want %v", tt.index, got, tt.want)
		}
	}
}

func TestHashIsStableAndSensitive(t *testing.T) {
	hashOf := func(cfg Config, spec KindSpec) map[string]string {
		t.Helper()
		objs, err := buildObjects(cfg, pipeline.KindDNS, spec, true)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, o := range objs {
			out[string(o.typ)+" "+o.name] = o.hash
		}
		return out
	}
	base := hashOf(testConfig(), testSpecs()[pipeline.KindDNS])
	if len(base) != 4 {
		t.Fatalf("got objects %v, want a policy, two component templates and an index template", base)
	}

	reindented := testSpecs()[pipeline.KindDNS]
	reindented.Mapping = json.RawMessage(" {\n \"dynamic\" : false, \"properties\": {\"start_time\":{\"type\":\"date\"},\"qname\":{\"type\":\"keyword\",\"normalizer\":\"lowercase\"}}}\n")
	for name, h := range hashOf(testConfig(), reindented) {
		if h != base[name] {
			t.Errorf("%s: re-indenting the mapping changed the hash; Apply would rewrite it needlessly", name)
		}
	}

	longer := testConfig()
	longer.Kinds.DNS.RetentionDays = 30
	for name, h := range hashOf(longer, testSpecs()[pipeline.KindDNS]) {
		isPolicy := strings.HasPrefix(name, string(TypeILMPolicy))
		if changed := h != base[name]; changed != isPolicy {
			t.Errorf("%s: hash changed = %v after a retention change, want %v (only the policy holds retention)", name, changed, isPolicy)
		}
	}

	bigger := testSpecs()[pipeline.KindDNS]
	bigger.Mapping = json.RawMessage(`{"dynamic":false,"properties":{"start_time":{"type":"date"}}}`)
	for name, h := range hashOf(testConfig(), bigger) {
		isMappings := strings.HasSuffix(name, "-mappings")
		if changed := h != base[name]; changed != isMappings {
			t.Errorf("%s: hash changed = %v after a mapping change, want %v", name, changed, isMappings)
		}
	}
}

func TestBuildObjectsRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec KindSpec
	}{
		{"mapping not JSON", KindSpec{Mapping: json.RawMessage(`{"dynamic":`)}},
		{"mapping not an object", KindSpec{Mapping: json.RawMessage(`[1,2]`)}},
		{"settings not an object", KindSpec{Settings: json.RawMessage(`"x"`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildObjects(testConfig(), pipeline.KindFlow, tt.spec, false)
			if err == nil || !strings.Contains(err.Error(), "flows") {
				t.Fatalf("buildObjects = %v, want an error naming the kind", err)
			}
		})
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
