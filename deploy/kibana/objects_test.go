package kibana

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

func TestFilesListsEveryEmbeddedFile(t *testing.T) {
	embedded, err := fs.Glob(files, "*.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(embedded)), slices.Sorted(slices.Values(Files))) {
		t.Errorf("embedded %v, Files %v: keep them equal", embedded, Files)
	}
	if Files[0] != "data-views.ndjson" {
		t.Errorf("data views must come first, got %s", Files[0])
	}
}

func TestObjectsIsAFreshCopy(t *testing.T) {
	a := Objects()
	a[0] = 'X'
	if b := Objects(); b[0] == 'X' {
		t.Error("Objects returned shared memory")
	}
	if n := countObjects(Objects()); n < 3+5 {
		t.Errorf("Objects has %d objects, want data views and dashboards", n)
	}
}

func TestIndexPatterns(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		calico bool
		want   map[pipeline.Kind]string
	}{
		{"flowship naming", "flowship", false, map[pipeline.Kind]string{
			pipeline.KindFlow: "flowship-flows-*", pipeline.KindL7: "flowship-l7-*", pipeline.KindDNS: "flowship-dns-*"}},
		{"custom prefix", "acme", false, map[pipeline.Kind]string{
			pipeline.KindFlow: "acme-flows-*", pipeline.KindL7: "acme-l7-*", pipeline.KindDNS: "acme-dns-*"}},
		{"calico naming ignores prefix", "acme", true, map[pipeline.Kind]string{
			pipeline.KindFlow: "tigera_secure_ee_flows*", pipeline.KindL7: "tigera_secure_ee_l7*", pipeline.KindDNS: "tigera_secure_ee_dns*"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := IndexPatterns(tc.prefix, tc.calico)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// titlesOf returns data view id → title, the data views decoded with
// their title removed, and the other lines as they are.
func titlesOf(t *testing.T, objects []byte) (titles map[string]string, views map[string]any, others [][]byte) {
	t.Helper()
	titles, views = map[string]string{}, map[string]any{}
	for line := range bytes.Lines(objects) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var o map[string]any
		if err := json.Unmarshal(line, &o); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		id, _ := o["id"].(string)
		attrs, _ := o["attributes"].(map[string]any)
		if o["type"] != "index-pattern" || attrs == nil {
			others = append(others, bytes.TrimSuffix(line, []byte("\n")))
			continue
		}
		titles[id], _ = attrs["title"].(string)
		delete(attrs, "title")
		views[id] = o
	}
	return titles, views, others
}

func TestWithIndexPatternsRewritesOnlyTitles(t *testing.T) {
	orig := Objects()
	got, err := WithIndexPatterns(orig, IndexPatterns("", true))
	if err != nil {
		t.Fatal(err)
	}
	titles, views, others := titlesOf(t, got)
	want := map[string]string{
		"flowship-flows": "tigera_secure_ee_flows*", "flowship-l7": "tigera_secure_ee_l7*", "flowship-dns": "tigera_secure_ee_dns*",
	}
	for id, title := range want {
		if titles[id] != title {
			t.Errorf("%s title = %q, want %q", id, titles[id], title)
		}
	}
	_, origViews, origOthers := titlesOf(t, orig)
	if !reflect.DeepEqual(views, origViews) {
		t.Errorf("data views changed beyond their titles:\n%v\nwant\n%v", views, origViews)
	}
	if len(others) != len(origOthers) {
		t.Fatalf("%d other objects, want %d", len(others), len(origOthers))
	}
	for i := range others {
		if !bytes.Equal(others[i], origOthers[i]) {
			t.Errorf("object %d changed:\n%s\nwant\n%s", i, others[i], origOthers[i])
		}
	}
}

func TestWithIndexPatternsPartialMapKeepsOtherTitles(t *testing.T) {
	got, err := WithIndexPatterns(Objects(), map[pipeline.Kind]string{pipeline.KindDNS: "dns-*"})
	if err != nil {
		t.Fatal(err)
	}
	titles, _, _ := titlesOf(t, got)
	if titles["flowship-dns"] != "dns-*" || titles["flowship-flows"] != "flowship-flows-*" {
		t.Errorf("titles %v", titles)
	}
}

func TestWithIndexPatternsErrors(t *testing.T) {
	tests := []struct {
		name    string
		objects []byte
		titles  map[pipeline.Kind]string
		wantErr string
	}{
		{"unknown kind", Objects(), map[pipeline.Kind]string{"audit": "a-*"}, `unknown kind "audit"`},
		{"empty title", Objects(), map[pipeline.Kind]string{pipeline.KindFlow: " "}, "is empty"},
		{"not json", []byte("{\"type\":\"index-pattern\"}\nnot json\n"), nil, "line 2: not a JSON object"},
		{"data view missing", []byte(`{"type":"dashboard","id":"x","attributes":{}}` + "\n"),
			map[pipeline.Kind]string{pipeline.KindL7: "l7-*"}, `data view "flowship-l7" not found`},
		{"attributes not an object", []byte(`{"type":"index-pattern","id":"flowship-l7","attributes":[]}` + "\n"),
			map[pipeline.Kind]string{pipeline.KindL7: "l7-*"}, "attributes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := WithIndexPatterns(tc.objects, tc.titles)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzWithIndexPatterns(f *testing.F) {
	f.Add([]byte(`{"type":"dashboard","id":"flowship-flows","attributes":{"title":"d"}}`+"\n"+`{"type":"index-pattern","id":"flowship-flows","attributes":{"title":"a","timeFieldName":"start_time"}}`), "x-*")
	f.Add([]byte(`{"type":"index-pattern","id":"flowship-flows","attributes":{"title":"a"}}`), "b")
	f.Add([]byte("\n\n{}\n"), "c")
	f.Fuzz(func(t *testing.T, objects []byte, title string) {
		out, err := WithIndexPatterns(objects, map[pipeline.Kind]string{pipeline.KindFlow: title})
		if err != nil {
			return
		}
		if countObjects(out) != countObjects(objects) {
			t.Errorf("object count changed: %d -> %d", countObjects(objects), countObjects(out))
		}
		titles, _, _ := titlesOf(t, out)
		if titles["flowship-flows"] != title {
			t.Errorf("title %q, want %q", titles["flowship-flows"], title)
		}
	})
}
