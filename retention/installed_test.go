package retention

import (
	"context"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

func TestMissingTemplates(t *testing.T) {
	es := newFakeES(false)
	client := es.client(t)
	cfg := testConfig()
	missing, err := MissingTemplates(context.Background(), client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 3 || !strings.HasPrefix(missing[0], "flows: index template ") {
		t.Fatalf("before setup: missing = %v, want the three kinds' templates", missing)
	}
	kinds := map[pipeline.Kind]KindSpec{}
	for _, k := range pipeline.Kinds {
		kinds[k] = KindSpec{Mapping: schema.Mapping(k), Settings: schema.Settings(k)}
	}
	if _, err := Apply(context.Background(), client, cfg, kinds, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	missing, err = MissingTemplates(context.Background(), client, cfg)
	if err != nil || len(missing) != 0 {
		t.Fatalf("after setup: missing = %v, %v; want none", missing, err)
	}
}
