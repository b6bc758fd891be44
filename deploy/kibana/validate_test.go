package kibana

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// These tests are the proof that the shipped objects work, since no Kibana
// runs here: every object is parsed from the embedded NDJSON and checked
// against what Kibana 8 requires and against the Elasticsearch mapping of
// the kind its data view reads.

// kibana80Newest is, per saved-object type, the newest migration level
// Kibana 8.0.0 knows; an object declaring a newer level is refused by that
// version. kibanaOldest is the level below which Kibana would run
// migrations written for pre-reference (pre-7.x) shapes on our objects.
var (
	kibana80Newest = map[string]string{"index-pattern": "7.11.0", "visualization": "8.0.0", "dashboard": "8.0.0"}
	kibanaOldest   = "7.11.0"
)

// allowedAttributes lists the attributes Kibana 8 stores per type; the
// dashboard list is Kibana's dashboard attribute schema, which forbids
// unknown keys.
var allowedAttributes = map[string][]string{
	"index-pattern": {"title", "name", "timeFieldName", "fields", "fieldFormatMap", "fieldAttrs",
		"sourceFilters", "runtimeFieldMap", "typeMeta", "allowNoIndex"},
	"visualization": {"title", "description", "visState", "uiStateJSON", "version", "kibanaSavedObjectMeta", "savedSearchRefName"},
	"dashboard": {"title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo",
		"refreshInterval", "controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version"},
}

// visSchemas lists the agg schemas each legacy visualization type has.
var visSchemas = map[string][]string{
	"table":     {"metric", "bucket", "split"},
	"metric":    {"metric", "group"},
	"line":      {"metric", "segment", "group", "split", "radius"},
	"histogram": {"metric", "segment", "group", "split", "radius"},
}

// loadObjects parses every line of Objects() strictly.
func loadObjects(t *testing.T) []savedObject {
	t.Helper()
	var out []savedObject
	sc := bufio.NewScanner(bytes.NewReader(Objects()))
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var o savedObject
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("objects line %d: %v", line, err)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		t.Fatal("Objects() is empty")
	}
	return out
}

// parseVersion parses "x.y.z" into a comparable triple.
func parseVersion(t *testing.T, v string) [3]int {
	t.Helper()
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		t.Fatalf("version %q is not x.y.z", v)
	}
	var out [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("version %q: %v", v, err)
		}
		out[i] = n
	}
	return out
}

func versionLE(t *testing.T, a, b string) bool {
	va, vb := parseVersion(t, a), parseVersion(t, b)
	return slices.Compare(va[:], vb[:]) <= 0
}

// jsonAttr decodes a JSON-in-a-string attribute into v.
func jsonAttr(t *testing.T, o savedObject, key string, v any) {
	t.Helper()
	s, ok := o.Attributes[key].(string)
	if !ok {
		t.Fatalf("%s %s: attribute %s is not a string", o.Type, o.ID, key)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%s %s: attribute %s: %v", o.Type, o.ID, key, err)
	}
}

func TestObjectsEnvelope(t *testing.T) {
	objs := loadObjects(t)
	byID := map[string]savedObject{}
	for _, o := range objs {
		if _, dup := byID[o.ID]; dup || o.ID == "" {
			t.Errorf("id %q is empty or not unique", o.ID)
		}
		byID[o.ID] = o
	}
	for _, o := range objs {
		t.Run(o.Type+"/"+o.ID, func(t *testing.T) {
			newest, known := kibana80Newest[o.Type]
			if !known {
				t.Fatalf("type %q is not one Kibana 8 imports here (%v)", o.Type, kibana80Newest)
			}
			mv, ok := o.MigrationVersion[o.Type]
			if !ok || len(o.MigrationVersion) != 1 {
				t.Errorf("migrationVersion %v must name exactly the type %s", o.MigrationVersion, o.Type)
			} else if !versionLE(t, mv, newest) || !versionLE(t, kibanaOldest, mv) {
				t.Errorf("migrationVersion %s=%s outside [%s, %s]: Kibana 8.0 refuses it or misapplies old migrations", o.Type, mv, kibanaOldest, newest)
			}
			if !versionLE(t, o.CoreMigrationVersion, "8.0.0") {
				t.Errorf("coreMigrationVersion %s is newer than Kibana 8.0.0", o.CoreMigrationVersion)
			}
			for k := range o.Attributes {
				if !slices.Contains(allowedAttributes[o.Type], k) {
					t.Errorf("attribute %q is not a %s attribute Kibana 8 accepts", k, o.Type)
				}
			}
			if title, _ := o.Attributes["title"].(string); title == "" {
				t.Error("attribute title is empty")
			}
			names := map[string]bool{}
			for _, r := range o.References {
				if names[r.Name] {
					t.Errorf("reference name %q repeated", r.Name)
				}
				names[r.Name] = true
				if target, ok := byID[r.ID]; !ok || target.Type != r.Type {
					t.Errorf("reference %s -> %s %q does not resolve to an object in the set", r.Name, r.Type, r.ID)
				}
			}
		})
	}
}

// dataViewKinds maps each data view id to its kind.
func dataViewKinds() map[string]pipeline.Kind {
	out := map[string]pipeline.Kind{}
	for _, k := range pipeline.Kinds {
		out[DataViewID(k)] = k
	}
	return out
}

func TestDataViews(t *testing.T) {
	kinds := dataViewKinds()
	seen := map[pipeline.Kind]bool{}
	for _, o := range loadObjects(t) {
		if o.Type != "index-pattern" {
			continue
		}
		t.Run(o.ID, func(t *testing.T) {
			kind, ok := kinds[o.ID]
			if !ok {
				t.Fatalf("data view id %q is not DataViewID of a kind", o.ID)
			}
			seen[kind] = true
			fields := mappingFields(t, kind)
			if got, want := o.Attributes["title"], IndexPatterns("flowship", false)[kind]; got != want {
				t.Errorf("title = %v, want %s", got, want)
			}
			tf, _ := o.Attributes["timeFieldName"].(string)
			if err := checkField(fields, tf, dateTypes); err != nil {
				t.Errorf("timeFieldName: %v", err)
			}
			var formats map[string]fieldFormat
			jsonAttr(t, o, "fieldFormatMap", &formats)
			for f := range formats {
				if err := checkField(fields, f, numericTypes); err != nil {
					t.Errorf("fieldFormatMap: %v", err)
				}
			}
		})
	}
	for _, k := range pipeline.Kinds {
		if !seen[k] {
			t.Errorf("no data view for kind %s", k)
		}
	}
}

// visState is the part of a legacy visualization's state the tests read.
type visState struct {
	Title  string `json:"title"`
	Type   string `json:"type"`
	Params struct {
		SeriesParams []struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		} `json:"seriesParams"`
	} `json:"params"`
	Aggs []visAgg `json:"aggs"`
}

type visAgg struct {
	ID      string `json:"id"`
	Enabled bool   `json:"enabled"`
	Type    string `json:"type"`
	Schema  string `json:"schema"`
	Params  struct {
		Field   string `json:"field"`
		OrderBy string `json:"orderBy"`
		Size    int    `json:"size"`
	} `json:"params"`
}

type searchSource struct {
	IndexRefName string `json:"indexRefName"`
	Query        struct {
		Query    string `json:"query"`
		Language string `json:"language"`
	} `json:"query"`
	Filter []json.RawMessage `json:"filter"`
}

// visKind returns the kind of the data view a visualization reads.
func visKind(t *testing.T, o savedObject) (pipeline.Kind, searchSource) {
	t.Helper()
	var ss searchSource
	meta, _ := o.Attributes["kibanaSavedObjectMeta"].(map[string]any)
	raw, _ := meta["searchSourceJSON"].(string)
	if err := json.Unmarshal([]byte(raw), &ss); err != nil {
		t.Fatalf("searchSourceJSON: %v", err)
	}
	for _, r := range o.References {
		if r.Name == ss.IndexRefName && r.Type == "index-pattern" {
			kind, ok := dataViewKinds()[r.ID]
			if !ok {
				t.Fatalf("data view %q is not one of ours", r.ID)
			}
			return kind, ss
		}
	}
	t.Fatalf("searchSourceJSON.indexRefName %q names no index-pattern reference", ss.IndexRefName)
	return "", ss
}

func TestVisualizations(t *testing.T) {
	for _, o := range loadObjects(t) {
		if o.Type != "visualization" {
			continue
		}
		t.Run(o.ID, func(t *testing.T) {
			kind, ss := visKind(t, o)
			fields := mappingFields(t, kind)
			var vs visState
			jsonAttr(t, o, "visState", &vs)
			checkVisState(t, vs, o, fields)
			if ss.Query.Language != "kuery" {
				t.Errorf("query language %q, want kuery", ss.Query.Language)
			}
			if len(ss.Filter) != 0 {
				t.Errorf("filters are not validated; express them in the KQL query")
			}
			for _, term := range kqlTerms(ss.Query.Query) {
				typ, ok := fields[term.Field]
				if !ok {
					t.Errorf("query %q: field %q is not in the %s mapping", ss.Query.Query, term.Field, kind)
					continue
				}
				if err := checkQueryValue(typ, term.Value); err != nil {
					t.Errorf("query %q: %s: %v", ss.Query.Query, term.Field, err)
				}
			}
		})
	}
}

func checkVisState(t *testing.T, vs visState, o savedObject, fields map[string]string) {
	t.Helper()
	if vs.Title != o.Attributes["title"] {
		t.Errorf("visState title %q differs from the object's title %v", vs.Title, o.Attributes["title"])
	}
	schemas, ok := visSchemas[vs.Type]
	if !ok {
		t.Fatalf("visualization type %q is not one validated here", vs.Type)
	}
	metrics := map[string]bool{}
	for _, a := range vs.Aggs {
		if a.Schema == "metric" {
			metrics[a.ID] = true
		}
	}
	if len(metrics) == 0 {
		t.Error("no metric aggregation")
	}
	ids := map[string]bool{}
	for _, a := range vs.Aggs {
		if ids[a.ID] || a.ID == "" {
			t.Errorf("agg id %q empty or repeated", a.ID)
		}
		ids[a.ID] = true
		accept, known := aggFieldTypes[a.Type]
		switch {
		case !known:
			t.Errorf("agg %s: type %q not validated here", a.ID, a.Type)
		case !a.Enabled:
			t.Errorf("agg %s is disabled", a.ID)
		case !slices.Contains(schemas, a.Schema):
			t.Errorf("agg %s: schema %q not valid for %s (%v)", a.ID, a.Schema, vs.Type, schemas)
		case accept == nil && a.Params.Field != "":
			t.Errorf("agg %s: %s takes no field, has %q", a.ID, a.Type, a.Params.Field)
		case accept != nil:
			if err := checkField(fields, a.Params.Field, accept); err != nil {
				t.Errorf("agg %s (%s): %v", a.ID, a.Type, err)
			}
		}
		if a.Type == "date_histogram" && a.Params.Field != timeField {
			t.Errorf("agg %s: date_histogram on %q, the data view's time field is %s", a.ID, a.Params.Field, timeField)
		}
		if a.Type == "terms" && (!metrics[a.Params.OrderBy] || a.Params.Size < 1) {
			t.Errorf("agg %s: terms orderBy %q is not a metric agg, or size %d < 1", a.ID, a.Params.OrderBy, a.Params.Size)
		}
	}
	if vs.Type == "line" || vs.Type == "histogram" {
		var series []string
		for _, s := range vs.Params.SeriesParams {
			series = append(series, s.Data.ID)
		}
		for id := range metrics {
			if !slices.Contains(series, id) {
				t.Errorf("metric agg %s has no seriesParams entry", id)
			}
		}
		if len(series) != len(metrics) {
			t.Errorf("seriesParams %v do not match metric aggs %v", series, metrics)
		}
	}
}
