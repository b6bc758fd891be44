//go:build integration

package retention

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/schema"
)

// realSpecs are the schema package's real mappings and settings.
func realSpecs() map[pipeline.Kind]KindSpec {
	out := map[pipeline.Kind]KindSpec{}
	for _, k := range pipeline.Kinds {
		out[k] = KindSpec{Mapping: schema.Mapping(k), Settings: schema.Settings(k)}
	}
	return out
}

// itConfig is a single-node configuration with a cluster name no other test
// uses, and a cleanup that removes every object and index it may create.
func itConfig(t *testing.T, es *elasticsearch.Client) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Replicas = 0
	cfg.Naming.Cluster = testenv.UniqueName(t, "rt")
	t.Cleanup(func() {
		ctx := context.Background()
		calico := cfg.Naming
		calico.Mode = "calico"
		for _, k := range pipeline.Kinds {
			base := cfg.templateName(k)
			_, _ = send(ctx, es, http.MethodDelete, "/"+cfg.Naming.Pattern(k), "expand_wildcards=all", nil)
			_, _ = send(ctx, es, http.MethodDelete, "/"+calico.Pattern(k), "expand_wildcards=all", nil)
			_, _ = send(ctx, es, http.MethodDelete, "/_index_template/"+base, "", nil)
			_, _ = send(ctx, es, http.MethodDelete, "/_component_template/"+base+"-mappings", "", nil)
			_, _ = send(ctx, es, http.MethodDelete, "/_component_template/"+base+"-settings", "", nil)
		}
	})
	return cfg
}

func mustDo(t *testing.T, es *elasticsearch.Client, method, path, query, body string, want int) []byte {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r, err := send(context.Background(), es, method, path, query, b)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r.body
}

func TestIntegrationApplyTwiceAndTemplatesApply(t *testing.T) {
	es := testenv.ESClient(t)
	cfg := itConfig(t, es)
	ctx := context.Background()

	first, err := Apply(ctx, es, cfg, realSpecs(), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The integ-test distribution has no ILM: detection must say so and
	// nothing ILM-related may be sent (the settings would be refused).
	if first.ILM || !strings.Contains(first.ILMDetail, "unavailable") {
		t.Errorf("Report = %+v, want ILM unavailable", first)
	}
	if first.Changed() != 9 {
		t.Errorf("first Apply:\n%s\nwant 9 objects created", first)
	}
	second, err := Apply(ctx, es, cfg, realSpecs(), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Changed() != 0 || !strings.HasSuffix(second.String(), "no changes\n") {
		t.Errorf("second Apply is not a no-op:\n%s", second)
	}
	settings := mustDo(t, es, http.MethodGet, "/_component_template/"+cfg.templateName(pipeline.KindFlow)+"-settings", "", "", 200)
	if strings.Contains(string(settings), "lifecycle") {
		t.Errorf("settings template carries ILM settings on a cluster without ILM: %s", settings)
	}

	// A new index named by the sink's naming picks up mapping, settings and alias.
	day := time.Date(2025, 6, 10, 13, 0, 0, 0, time.UTC)
	for _, kind := range pipeline.Kinds {
		index := cfg.Naming.Index(kind, day)
		mustDo(t, es, http.MethodPut, "/"+index+"/_doc/1", "refresh=true", `{"start_time": 1749560400}`, 201)

		checkIndex(t, es, cfg, kind, index)
	}
}

// checkIndex asserts that index got the schema mapping, the template
// settings and the kind's read alias.
func checkIndex(t *testing.T, es *elasticsearch.Client, cfg Config, kind pipeline.Kind, index string) {
	t.Helper()
	var mapping map[string]struct {
		Mappings struct {
			Dynamic    string                     `json:"dynamic"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	decodeJSON(t, mustDo(t, es, http.MethodGet, "/"+index+"/_mapping", "", "", 200), &mapping)
	m := mapping[index].Mappings
	if m.Dynamic != "false" || len(m.Properties) < 5 || !strings.Contains(string(m.Properties["start_time"]), `"date"`) {
		t.Errorf("%s: mapping dynamic=%q with %d properties, start_time %s; want the schema mapping", index, m.Dynamic, len(m.Properties), m.Properties["start_time"])
	}

	var set map[string]struct {
		Settings struct {
			Index struct {
				Shards   string          `json:"number_of_shards"`
				Replicas string          `json:"number_of_replicas"`
				Refresh  string          `json:"refresh_interval"`
				Analysis json.RawMessage `json:"analysis"`
			} `json:"index"`
		} `json:"settings"`
	}
	decodeJSON(t, mustDo(t, es, http.MethodGet, "/"+index+"/_settings", "", "", 200), &set)
	s := set[index].Settings.Index
	if s.Shards != "1" || s.Replicas != "0" || s.Refresh != "5s" {
		t.Errorf("%s: shards=%s replicas=%s refresh=%s, want 1, 0, 5s", index, s.Shards, s.Replicas, s.Refresh)
	}
	if kind == pipeline.KindDNS && !strings.Contains(string(s.Analysis), "normalizer") {
		t.Errorf("%s: analysis %s, want the DNS normalizers", index, s.Analysis)
	}

	var alias map[string]json.RawMessage
	decodeJSON(t, mustDo(t, es, http.MethodGet, "/_alias/"+cfg.Naming.ReadAlias(kind), "", "", 200), &alias)
	if _, ok := alias[index]; !ok || len(alias) != 1 {
		t.Errorf("alias %s points at %v, want [%s]", cfg.Naming.ReadAlias(kind), keys(alias), index)
	}
}

func TestIntegrationCalicoNamingTemplatesApply(t *testing.T) {
	es := testenv.ESClient(t)
	cfg := itConfig(t, es)
	cfg.Naming.Mode = "calico"
	specs := map[pipeline.Kind]KindSpec{pipeline.KindFlow: realSpecs()[pipeline.KindFlow]}
	if _, err := Apply(context.Background(), es, cfg, specs, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	index := cfg.Naming.Index(pipeline.KindFlow, time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC))
	mustDo(t, es, http.MethodPut, "/"+index+"/_doc/1", "refresh=true", `{"start_time": 1749560400}`, 201)
	var alias map[string]json.RawMessage
	decodeJSON(t, mustDo(t, es, http.MethodGet, "/_alias/"+cfg.Naming.ReadAlias(pipeline.KindFlow), "", "", 200), &alias)
	if _, ok := alias[index]; !ok {
		t.Errorf("calico-mode index %s did not join alias %s: %v", index, cfg.Naming.ReadAlias(pipeline.KindFlow), keys(alias))
	}
}

func TestIntegrationILMDetection(t *testing.T) {
	es := testenv.ESClient(t)
	st, err := DetectILM(context.Background(), es)
	if err != nil {
		t.Fatal(err)
	}
	if st.Available {
		t.Fatalf("DetectILM = %+v on the integ-test distribution, which has no ILM", st)
	}
	cfg := itConfig(t, es)
	cfg.Mode = ModeILM
	_, err = Apply(context.Background(), es, cfg, realSpecs(), ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "retention.mode is ilm") {
		t.Errorf("Apply in mode ilm = %v, want an error telling to use auto or managed", err)
	}
}

func TestIntegrationManagedRetention(t *testing.T) {
	es := testenv.ESClient(t)
	cfg := itConfig(t, es)
	ctx := context.Background()
	if _, err := Apply(ctx, es, cfg, realSpecs(), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	n := cfg.Naming
	at := func(kind pipeline.Kind, d string) string { return n.Index(kind, day(d)) }
	deleted := []string{
		at(pipeline.KindFlow, "2025-06-09"),
		at(pipeline.KindFlow, "2025-06-10"), // started exactly 8 days before now
		at(pipeline.KindL7, "2025-06-17"),   // exactly 1 day
	}
	slices.Sort(deleted)
	kept := []string{
		at(pipeline.KindFlow, "2025-06-11"),
		at(pipeline.KindL7, "2025-06-18"),
		at(pipeline.KindDNS, "2025-06-11"),
		n.Pattern(pipeline.KindFlow)[:len(n.Pattern(pipeline.KindFlow))-1] + "archive",
		testenv.UniqueName(t, "other") + "-2020.01.01",
	}
	t.Cleanup(func() { _, _ = send(ctx, es, http.MethodDelete, "/"+kept[len(kept)-1], "", nil) })
	for _, index := range append(slices.Clone(deleted), kept...) {
		mustDo(t, es, http.MethodPut, "/"+index+"/_doc/1", "refresh=true", `{"start_time": 1749560400}`, 201)
	}

	m, err := NewManager(cfg, es, pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.RunOnce(ctx, time.Date(2025, 6, 18, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, deleted) {
		t.Errorf("RunOnce deleted %q, want %q", got, deleted)
	}
	for _, index := range deleted {
		mustDo(t, es, http.MethodHead, "/"+index, "", "", 404)
	}
	for _, index := range kept {
		mustDo(t, es, http.MethodHead, "/"+index, "", "", 200)
	}
	again, err := m.RunOnce(ctx, time.Date(2025, 6, 18, 0, 0, 0, 0, time.UTC))
	if err != nil || len(again) != 0 {
		t.Errorf("second RunOnce deleted %q (err %v), want nothing", again, err)
	}
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
