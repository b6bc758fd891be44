package retention

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/flowship/flowship/pipeline"
)

func TestESDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{8 * 24 * time.Hour, "8d"},
		{36 * time.Hour, "36h"},
		{90 * time.Minute, "90m"},
		{5 * time.Second, "5s"},
		{1500 * time.Millisecond, "1500ms"},
		{0, "0d"},
	}
	for _, tt := range tests {
		if got := esDuration(tt.in); got != tt.want {
			t.Errorf("esDuration(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBuildPolicyPerKind(t *testing.T) {
	warm := DefaultConfig()
	warm.Kinds.Flows.Warm = WarmConfig{MinAge: 48 * time.Hour, ReadOnly: true, ForceMergeSegments: 1, Priority: 50}
	tests := []struct {
		name       string
		cfg        Config
		kind       pipeline.Kind
		wantDelete string
		wantWarm   bool
	}{
		{"flows default", DefaultConfig(), pipeline.KindFlow, "8d", false},
		{"dns default", DefaultConfig(), pipeline.KindDNS, "8d", false},
		{"l7 default", DefaultConfig(), pipeline.KindL7, "1d", false},
		{"flows with warm", warm, pipeline.KindFlow, "8d", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buildPolicy(tt.cfg.For(tt.kind))
			if p.Phases.Delete == nil || p.Phases.Delete.MinAge != tt.wantDelete || p.Phases.Delete.Actions.Delete == nil {
				t.Fatalf("delete phase = %+v, want min_age %s with a delete action", p.Phases.Delete, tt.wantDelete)
			}
			hot := p.Phases.Hot
			if hot == nil || hot.Actions.SetPriority == nil || *hot.Actions.SetPriority.Priority != 100 {
				t.Fatalf("hot phase = %+v, want set_priority 100", hot)
			}
			if hot.Actions.Rollover != nil {
				t.Error("hot phase has a rollover action; daily event-time indices must never roll over")
			}
			if got := p.Phases.Warm != nil; got != tt.wantWarm {
				t.Fatalf("warm phase present = %v, want %v", got, tt.wantWarm)
			}
			if tt.wantWarm {
				w := p.Phases.Warm
				if w.MinAge != "2d" || w.Actions.Readonly == nil || w.Actions.Forcemerge.MaxNumSegments != 1 || *w.Actions.SetPriority.Priority != 50 {
					t.Errorf("warm phase = %+v, want min_age 2d, readonly, forcemerge 1, priority 50", w)
				}
			}
			if p.Phases.Cold != nil || p.Phases.Frozen != nil {
				t.Error("unexpected cold or frozen phase")
			}
		})
	}
}

// The ILM request bodies flowship sends are goldens: reviewing a change to
// them is reviewing a change to what real clusters receive.
func TestILMRequestGoldens(t *testing.T) {
	warm := testConfig()
	warm.Kinds.Flows.Warm = WarmConfig{MinAge: 48 * time.Hour, ReadOnly: true, ForceMergeSegments: 1, Priority: 50}
	cases := map[string]struct {
		cfg  Config
		kind pipeline.Kind
	}{
		"ilm_policy_flows.json":      {testConfig(), pipeline.KindFlow},
		"ilm_policy_dns.json":        {testConfig(), pipeline.KindDNS},
		"ilm_policy_l7.json":         {testConfig(), pipeline.KindL7},
		"ilm_policy_flows_warm.json": {warm, pipeline.KindFlow},
	}
	for file, tc := range cases {
		t.Run(file, func(t *testing.T) {
			objs, err := buildObjects(tc.cfg, tc.kind, testSpecs()[tc.kind], true)
			if err != nil {
				t.Fatal(err)
			}
			if objs[0].typ != TypeILMPolicy || objs[0].path != "/_ilm/policy/flowship-"+string(tc.kind)+"-prod" {
				t.Fatalf("first object = %s %s, want the kind's ILM policy", objs[0].typ, objs[0].path)
			}
			// The body must decode with the typed API's policy struct.
			var req struct {
				Policy types.IlmPolicy `json:"policy"`
			}
			if err := json.Unmarshal(objs[0].body, &req); err != nil {
				t.Fatalf("typed API cannot decode our body: %v", err)
			}
			golden(t, file, indentJSON(t, objs[0].body))
		})
	}
}
