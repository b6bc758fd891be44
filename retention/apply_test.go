package retention

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

func TestApplyIsIdempotent(t *testing.T) {
	for _, ilm := range []bool{true, false} {
		t.Run(map[bool]string{true: "with ILM", false: "without ILM"}[ilm], func(t *testing.T) {
			es := newFakeES(ilm)
			ctx := context.Background()
			first, err := Apply(ctx, es.client(t), testConfig(), testSpecs(), ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if first.ILM != ilm {
				t.Errorf("Report.ILM = %v, want %v", first.ILM, ilm)
			}
			perKind := 3
			if ilm {
				perKind = 4
			}
			if first.Changed() != 3*perKind {
				t.Errorf("first run changed %d objects, want %d:\n%s", first.Changed(), 3*perKind, first)
			}
			for _, o := range first.Objects {
				if o.Action != Created {
					t.Errorf("first run: %s %s %s, want created", o.Type, o.Name, o.Action)
				}
			}
			writes := es.writes()
			second, err := Apply(ctx, es.client(t), testConfig(), testSpecs(), ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if second.Changed() != 0 || !strings.HasSuffix(second.String(), "no changes\n") {
				t.Errorf("second run is not a no-op:\n%s", second)
			}
			if extra := es.writes()[len(writes):]; len(extra) != 0 {
				t.Errorf("second run wrote %v", extra)
			}
		})
	}
}

func TestApplyWritesInDependencyOrder(t *testing.T) {
	es := newFakeES(true)
	if _, err := Apply(context.Background(), es.client(t), testConfig(), map[pipeline.Kind]KindSpec{pipeline.KindDNS: testSpecs()[pipeline.KindDNS]}, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PUT /_ilm/policy/flowship-dns-prod",
		"PUT /_component_template/flowship-dns-prod-mappings",
		"PUT /_component_template/flowship-dns-prod-settings",
		"PUT /_index_template/flowship-dns-prod",
	}
	if got := es.writes(); !slices.Equal(got, want) {
		t.Errorf("writes = %q, want %q (only the kinds passed, policy and components before the index template)", got, want)
	}
}

func TestApplyUpdatesOnlyWhatChanged(t *testing.T) {
	es := newFakeES(true)
	ctx := context.Background()
	if _, err := Apply(ctx, es.client(t), testConfig(), testSpecs(), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Kinds.Flows.RetentionDays = 31
	rep, err := Apply(ctx, es.client(t), cfg, testSpecs(), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, o := range rep.Objects {
		if o.Action != Unchanged {
			changed = append(changed, string(o.Action)+" "+string(o.Type)+" "+o.Name)
		}
	}
	if want := []string{"updated ilm policy flowship-flows-prod"}; !slices.Equal(changed, want) {
		t.Errorf("changed = %q, want %q", changed, want)
	}
}

func TestApplyWithoutILMSendsNoLifecycleSettings(t *testing.T) {
	es := newFakeES(false)
	rep, err := Apply(context.Background(), es.client(t), testConfig(), testSpecs(), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ILM || !strings.Contains(rep.ILMDetail, "unavailable") {
		t.Errorf("Report = %+v, want ILM false with the reason", rep)
	}
	for p, body := range es.objects {
		if strings.HasPrefix(p, "/_ilm/") || bytes.Contains(body, []byte("lifecycle")) {
			t.Errorf("%s was sent with ILM content: %s", p, body)
		}
	}
}

func TestApplyModes(t *testing.T) {
	tests := []struct {
		name       string
		mode       Mode
		clusterILM bool
		wantILM    bool
		wantErr    string
		wantStatus bool // GET /_ilm/status was asked
	}{
		{"auto finds ILM", ModeAuto, true, true, "", true},
		{"auto falls back to managed", ModeAuto, false, false, "", true},
		{"ilm on a cluster with ILM", ModeILM, true, true, "", true},
		{"ilm on a cluster without ILM", ModeILM, false, false, "retention.mode is ilm but this Elasticsearch has no ILM", true},
		{"managed never asks", ModeManaged, true, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := newFakeES(tt.clusterILM)
			cfg := testConfig()
			cfg.Mode = tt.mode
			rep, err := Apply(context.Background(), es.client(t), cfg, testSpecs(), ApplyOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Apply = %v, want error containing %q", err, tt.wantErr)
				}
				if len(es.writes()) != 0 {
					t.Errorf("a failed mode check still wrote %v", es.writes())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.ILM != tt.wantILM {
				t.Errorf("Report.ILM = %v, want %v", rep.ILM, tt.wantILM)
			}
			if asked := slices.Contains(es.requests, "GET /_ilm/status"); asked != tt.wantStatus {
				t.Errorf("asked GET /_ilm/status = %v, want %v", asked, tt.wantStatus)
			}
		})
	}
}

func TestApplyErrorNamesObjectAndReason(t *testing.T) {
	es := newFakeES(false)
	es.failPut["/_component_template/flowship-dns-prod-mappings"] = "unknown normalizer [lowercase]"
	_, err := Apply(context.Background(), es.client(t), testConfig(), testSpecs(), ApplyOptions{})
	if err == nil {
		t.Fatal("Apply succeeded despite a refused template")
	}
	for _, want := range []string{`component template "flowship-dns-prod-mappings"`, "400", "mapper_parsing_exception: unknown normalizer [lowercase]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if slices.Contains(es.writes(), "PUT /_index_template/flowship-dns-prod") {
		t.Error("the index template was written although its component failed")
	}
}

func TestApplyOverwritesObjectsItDidNotWrite(t *testing.T) {
	es := newFakeES(false)
	es.objects["/_index_template/flowship-l7-prod"] = []byte(`{"index_patterns":["flowship-l7-prod-*"],"priority":1}`)
	rep, err := Apply(context.Background(), es.client(t), testConfig(), testSpecs(), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range rep.Objects {
		want := Created
		if o.Type == TypeIndexTemplate && o.Name == "flowship-l7-prod" {
			want = Updated
		}
		if o.Action != want {
			t.Errorf("%s %s: %s, want %s", o.Type, o.Name, o.Action, want)
		}
	}
}

func TestDryRun(t *testing.T) {
	t.Run("without a client prints every request", func(t *testing.T) {
		var out bytes.Buffer
		rep, err := Apply(context.Background(), nil, testConfig(), testSpecs(), ApplyOptions{DryRun: true, Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.ILM || !rep.DryRun || rep.Changed() != 12 {
			t.Errorf("report = %+v, want 12 would-be-created objects with ILM assumed", rep)
		}
		golden(t, "dry_run.txt", out.Bytes())
		if !strings.Contains(rep.String(), "would be created  index template flowship-flows-prod") {
			t.Errorf("report does not say what would happen:\n%s", rep)
		}
	})
	t.Run("with a client sends no writes", func(t *testing.T) {
		es := newFakeES(true)
		var out bytes.Buffer
		if _, err := Apply(context.Background(), es.client(t), testConfig(), testSpecs(), ApplyOptions{DryRun: true, Out: &out}); err != nil {
			t.Fatal(err)
		}
		if w := es.writes(); len(w) != 0 {
			t.Errorf("dry run wrote %v", w)
		}
		if n := strings.Count("\n"+out.String(), "\nPUT "); n != 12 {
			t.Errorf("dry run printed %d PUTs, want 12", n)
		}
	})
	t.Run("with a client prints only what differs", func(t *testing.T) {
		es := newFakeES(true)
		if _, err := Apply(context.Background(), es.client(t), testConfig(), testSpecs(), ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig()
		cfg.Kinds.L7.RetentionDays = 2
		var out bytes.Buffer
		rep, err := Apply(context.Background(), es.client(t), cfg, testSpecs(), ApplyOptions{DryRun: true, Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "PUT /_ilm/policy/flowship-l7-prod\n") || strings.Count(out.String(), "PUT ") != 1 || !strings.Contains(out.String(), `"min_age": "2d"`) {
			t.Errorf("dry run output:\n%s\nwant exactly the l7 policy with min_age 2d", out.String())
		}
		if rep.Changed() != 1 {
			t.Errorf("report:\n%s\nwant one would-be update", rep)
		}
	})
}

func TestApplyRefusesMisuse(t *testing.T) {
	if _, err := Apply(context.Background(), nil, testConfig(), testSpecs(), ApplyOptions{}); err == nil {
		t.Error("Apply without a client and without dry run succeeded")
	}
	if _, err := Apply(context.Background(), nil, testConfig(), testSpecs(), ApplyOptions{DryRun: true}); err == nil {
		t.Error("dry run without an output succeeded")
	}
	if _, err := Apply(context.Background(), newFakeES(true).client(t), testConfig(), map[pipeline.Kind]KindSpec{"audit": {}}, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), `"audit"`) {
		t.Errorf("Apply with an unknown kind = %v, want an error naming it", err)
	}
	bad := testConfig()
	bad.Replicas = -1
	if _, err := Apply(context.Background(), newFakeES(true).client(t), bad, testSpecs(), ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "retention.replicas") {
		t.Errorf("Apply with invalid config = %v, want the validation error", err)
	}
}
