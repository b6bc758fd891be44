package kibana

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

var update = flag.Bool("update", false, "rewrite the *.ndjson saved objects from dashboards_test.go")

// Migration levels written into every object. Kibana refuses an object
// whose level is above the newest migration it knows for the type, and
// runs every newer migration on import. These are the newest levels that
// every Kibana 8.x knows (index-pattern 7.11.0, visualization 7.17.0,
// dashboard 7.14.0); coreMigrationVersion 8.0.0 says the objects are
// already multi-space, so ids are kept in every space.
const coreMigrationVersion = "8.0.0"

var migrationVersions = map[string]string{
	"index-pattern": "7.11.0",
	"visualization": "7.17.0",
	"dashboard":     "7.14.0",
}

// panelVersion is the Kibana version stamped on dashboard panels; >= 7.3.0
// keeps Kibana off its pre-7.3 panel conversion.
const panelVersion = "8.0.0"

type dataViewDef struct {
	Kind    pipeline.Kind
	Name    string
	Formats map[string]fieldFormat
}

type fieldFormat struct {
	ID     string         `json:"id"`
	Params map[string]any `json:"params,omitempty"`
}

type aggDef struct {
	ID, Type, Schema, Field, Label, OrderBy string
	Size                                    int
}

type visDef struct {
	ID, Title, Type, Query string
	Kind                   pipeline.Kind
	Aggs                   []aggDef
}

type panelDef struct {
	W, H int
	Vis  visDef
}

type dashboardDef struct {
	File, ID, Title, Description string
	Panels                       []panelDef
}

func count(id, label string) aggDef {
	return aggDef{ID: id, Type: "count", Schema: "metric", Label: label}
}
func sum(id, field, label string) aggDef {
	return aggDef{ID: id, Type: "sum", Schema: "metric", Field: field, Label: label}
}
func avg(id, field, label string) aggDef {
	return aggDef{ID: id, Type: "avg", Schema: "metric", Field: field, Label: label}
}
func maximum(id, field, label string) aggDef {
	return aggDef{ID: id, Type: "max", Schema: "metric", Field: field, Label: label}
}
func dateHistogram(id, schema string) aggDef {
	return aggDef{ID: id, Type: "date_histogram", Schema: schema, Field: timeField}
}
func terms(id, schema, field string, size int, orderBy, label string) aggDef {
	return aggDef{ID: id, Type: "terms", Schema: schema, Field: field, Size: size, OrderBy: orderBy, Label: label}
}

// savedObject is one NDJSON line, as Kibana exports it.
type savedObject struct {
	Attributes           map[string]any    `json:"attributes"`
	CoreMigrationVersion string            `json:"coreMigrationVersion"`
	ID                   string            `json:"id"`
	MigrationVersion     map[string]string `json:"migrationVersion"`
	References           []reference       `json:"references"`
	Type                 string            `json:"type"`
}

type reference struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func newObject(typ, id string, attrs map[string]any, refs []reference) savedObject {
	if refs == nil {
		refs = []reference{}
	}
	return savedObject{Attributes: attrs, CoreMigrationVersion: coreMigrationVersion, ID: id,
		MigrationVersion: map[string]string{typ: migrationVersions[typ]}, References: refs, Type: typ}
}

// jsonString renders v as compact JSON for Kibana's JSON-in-a-string
// attributes (visState, panelsJSON, searchSourceJSON, ...).
func jsonString(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding %T: %v", v, err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func renderDataView(t testing.TB, d dataViewDef) savedObject {
	return newObject("index-pattern", DataViewID(d.Kind), map[string]any{
		"title":          IndexPatterns("flowship", false)[d.Kind],
		"name":           d.Name,
		"timeFieldName":  timeField,
		"fields":         "[]",
		"fieldFormatMap": jsonString(t, d.Formats),
	}, nil)
}

const searchIndexRef = "kibanaSavedObjectMeta.searchSourceJSON.index"

func renderVis(t testing.TB, v visDef) savedObject {
	var aggs, metrics []map[string]any
	for _, a := range v.Aggs {
		aggs = append(aggs, map[string]any{"id": a.ID, "enabled": true, "type": a.Type, "schema": a.Schema, "params": aggParams(a)})
		if a.Schema == "metric" {
			metrics = append(metrics, map[string]any{"id": a.ID, "label": a.Label})
		}
	}
	state := map[string]any{"title": v.Title, "type": v.Type, "aggs": aggs, "params": visParams(v.Type, metrics)}
	search := map[string]any{
		"query":        map[string]any{"query": v.Query, "language": "kuery"},
		"filter":       []any{},
		"indexRefName": searchIndexRef,
	}
	return newObject("visualization", v.ID, map[string]any{
		"title":                 v.Title,
		"description":           "",
		"version":               1,
		"uiStateJSON":           "{}",
		"visState":              jsonString(t, state),
		"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": jsonString(t, search)},
	}, []reference{{ID: DataViewID(v.Kind), Name: searchIndexRef, Type: "index-pattern"}})
}

func aggParams(a aggDef) map[string]any {
	p := map[string]any{}
	switch a.Type {
	case "count":
	case "date_histogram":
		p["field"] = a.Field
		p["interval"] = "auto"
		p["useNormalizedEsInterval"] = true
		p["scaleMetricValues"] = false
		p["drop_partials"] = false
		p["min_doc_count"] = 1
		p["extended_bounds"] = map[string]any{}
	case "terms":
		p["field"] = a.Field
		p["size"] = a.Size
		p["orderBy"] = a.OrderBy
		p["order"] = "desc"
		p["otherBucket"] = false
		p["otherBucketLabel"] = "Other"
		p["missingBucket"] = false
		p["missingBucketLabel"] = "Missing"
	default:
		p["field"] = a.Field
	}
	if a.Label != "" {
		p["customLabel"] = a.Label
	}
	return p
}

func renderDashboard(t testing.TB, d dashboardDef) savedObject {
	var panels []map[string]any
	var refs []reference
	x, y, rowH := 0, 0, 0
	for i, p := range d.Panels {
		if x+p.W > 48 {
			x, y, rowH = 0, y+rowH, 0
		}
		idx := strconv.Itoa(i + 1)
		panels = append(panels, map[string]any{
			"version":          panelVersion,
			"type":             "visualization",
			"gridData":         map[string]any{"x": x, "y": y, "w": p.W, "h": p.H, "i": idx},
			"panelIndex":       idx,
			"embeddableConfig": map[string]any{"enhancements": map[string]any{}},
			"panelRefName":     "panel_" + idx,
		})
		refs = append(refs, reference{ID: p.Vis.ID, Name: idx + ":panel_" + idx, Type: "visualization"})
		x += p.W
		rowH = max(rowH, p.H)
	}
	return newObject("dashboard", d.ID, map[string]any{
		"title":           d.Title,
		"description":     d.Description,
		"hits":            0,
		"version":         1,
		"panelsJSON":      jsonString(t, panels),
		"optionsJSON":     jsonString(t, map[string]any{"useMargins": true, "syncColors": false, "hidePanelTitles": false}),
		"timeRestore":     true,
		"timeFrom":        "now-24h",
		"timeTo":          "now",
		"refreshInterval": map[string]any{"pause": true, "value": 60000},
		"kibanaSavedObjectMeta": map[string]any{
			"searchSourceJSON": jsonString(t, map[string]any{"query": map[string]any{"query": "", "language": "kuery"}, "filter": []any{}}),
		},
	}, refs)
}

// renderFiles returns the content of every NDJSON file, by name.
func renderFiles(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	var views []savedObject
	for _, d := range dataViews {
		views = append(views, renderDataView(t, d))
	}
	out["data-views.ndjson"] = ndjson(t, views)
	for _, d := range dashboards {
		var objs []savedObject
		for _, p := range d.Panels {
			objs = append(objs, renderVis(t, p.Vis))
		}
		objs = append(objs, renderDashboard(t, d))
		out[d.File] = ndjson(t, objs)
	}
	return out
}

func ndjson(t testing.TB, objs []savedObject) []byte {
	var b bytes.Buffer
	for _, o := range objs {
		b.WriteString(jsonString(t, o))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestGeneratedFilesUpToDate keeps the shipped NDJSON equal to what the
// definitions render; run with -update after changing a definition.
func TestGeneratedFilesUpToDate(t *testing.T) {
	want := renderFiles(t)
	if len(want) != len(Files) {
		t.Fatalf("definitions render %d files, Files lists %d", len(want), len(Files))
	}
	for _, name := range Files {
		content, ok := want[name]
		if !ok {
			t.Fatalf("Files lists %s but no definition renders it", name)
		}
		if *update {
			if err := os.WriteFile(name, content, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%v; run go test ./deploy/kibana -update", err)
		}
		if !bytes.Equal(got, content) {
			t.Errorf("%s differs from dashboards_test.go; run go test ./deploy/kibana -update and review the diff", name)
		}
	}
}
