package retention

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/ilm/putlifecycle"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/flowship/flowship/pipeline"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

// KindSpec is what the caller (the schema package, through the wiring)
// supplies for one kind: the index mappings and the index settings the
// mappings depend on (analysis normalizers). Both are JSON objects; either
// may be empty.
type KindSpec struct {
	Mapping  json.RawMessage // the "mappings" object
	Settings json.RawMessage // index settings, e.g. {"analysis": {...}}
}

// ObjectType names a kind of Elasticsearch object that Apply manages.
type ObjectType string

// The object types, in the order Apply writes them.
const (
	TypeILMPolicy         ObjectType = "ilm policy"
	TypeComponentTemplate ObjectType = "component template"
	TypeIndexTemplate     ObjectType = "index template"
)

// object is one Elasticsearch object Apply makes sure exists as built.
type object struct {
	typ  ObjectType
	name string
	path string // PUT and GET path
	body []byte // the PUT body, _meta.hash included
	hash string // content hash of body without the hash itself
}

// originationDate is the index-name shape ILM accepts with
// index.lifecycle.parse_origination_date (IndexLifecycleOriginationDateParser
// in Elasticsearch): anything, "-", yyyy.MM.dd, optional "-digits".
var originationDate = regexp.MustCompile(`^.*-(\d{4}.\d{2}.\d{2})(-\d+)?$`)

// parsesOrigination reports whether ILM can parse the date out of the
// naming's index names; when it cannot, setting parse_origination_date
// would make index creation fail, so ILM ages count from creation instead.
func parsesOrigination(n esink.Naming) bool {
	return originationDate.MatchString(n.Index(pipeline.KindFlow, time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)))
}

// buildObjects returns the objects for kind in the order they must be
// written: the ILM policy (when ilm), the component templates, and the
// index template that composes them.
func buildObjects(cfg Config, kind pipeline.Kind, spec KindSpec, ilm bool) ([]object, error) {
	base := cfg.templateName(kind)
	var objs []object
	add := func(typ ObjectType, name, path string, body any) error {
		o, err := newObject(typ, name, path, kind, body)
		if err != nil {
			return err
		}
		objs = append(objs, o)
		return nil
	}
	if ilm {
		p := buildPolicy(cfg.For(kind))
		if err := add(TypeILMPolicy, cfg.policyName(kind), "/_ilm/policy/"+cfg.policyName(kind), &putlifecycle.Request{Policy: &p}); err != nil {
			return nil, err
		}
	}
	mappings, err := mappingsTemplate(spec)
	if err != nil {
		return nil, fmt.Errorf("retention: %s mapping or settings: %w", kind, err)
	}
	if err := add(TypeComponentTemplate, base+"-mappings", "/_component_template/"+base+"-mappings", mappings); err != nil {
		return nil, err
	}
	if err := add(TypeComponentTemplate, base+"-settings", "/_component_template/"+base+"-settings", settingsTemplate(cfg, kind, ilm)); err != nil {
		return nil, err
	}
	it := map[string]any{
		"index_patterns": []string{cfg.Naming.Pattern(kind)},
		"composed_of":    []string{base + "-mappings", base + "-settings"},
		"priority":       cfg.TemplatePriority,
		"template": map[string]any{
			"aliases": map[string]any{cfg.Naming.ReadAlias(kind): map[string]any{}},
		},
	}
	if err := add(TypeIndexTemplate, base, "/_index_template/"+base, it); err != nil {
		return nil, err
	}
	return objs, nil
}

func mappingsTemplate(spec KindSpec) (map[string]any, error) {
	tmpl := map[string]any{}
	for key, raw := range map[string]json.RawMessage{"mappings": spec.Mapping, "settings": spec.Settings} {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON: %w", key, err)
		}
		if buf.Len() == 0 || buf.Bytes()[0] != '{' {
			return nil, fmt.Errorf("%s must be a JSON object", key)
		}
		tmpl[key] = json.RawMessage(buf.Bytes())
	}
	return map[string]any{"template": tmpl}, nil
}

func settingsTemplate(cfg Config, kind pipeline.Kind, ilm bool) map[string]any {
	index := map[string]any{
		"number_of_shards":   cfg.For(kind).Shards,
		"number_of_replicas": cfg.Replicas,
	}
	if cfg.RefreshInterval > 0 {
		index["refresh_interval"] = esDuration(cfg.RefreshInterval)
	}
	if ilm {
		lc := map[string]any{"name": cfg.policyName(kind)}
		if parsesOrigination(cfg.Naming) {
			lc["parse_origination_date"] = true
		}
		index["lifecycle"] = lc
	}
	return map[string]any{"template": map[string]any{"settings": map[string]any{"index": index}}}
}

// newObject serialises body with a _meta that carries the content hash.
// body is a map (the "_meta" key is added) or a putlifecycle.Request (the
// policy's Meta_ is set).
func newObject(typ ObjectType, name, path string, kind pipeline.Kind, body any) (object, error) {
	setMeta := func(meta map[string]any) error {
		switch b := body.(type) {
		case map[string]any:
			b["_meta"] = meta
		case *putlifecycle.Request:
			m := types.Metadata{}
			for k, v := range meta {
				raw, err := json.Marshal(v)
				if err != nil {
					return err
				}
				m[k] = raw
			}
			b.Policy.Meta_ = m
		default:
			return fmt.Errorf("unsupported body type %T", body)
		}
		return nil
	}
	meta := objectMeta(kind)
	if err := setMeta(meta); err != nil {
		return object{}, fmt.Errorf("retention: %s %s: %w", typ, name, err)
	}
	unhashed, err := json.Marshal(body)
	if err != nil {
		return object{}, fmt.Errorf("retention: %s %s: %w", typ, name, err)
	}
	sum := sha256.Sum256(unhashed)
	hash := hex.EncodeToString(sum[:16])
	meta["hash"] = hash
	if err := setMeta(meta); err != nil {
		return object{}, fmt.Errorf("retention: %s %s: %w", typ, name, err)
	}
	out, err := json.Marshal(body)
	if err != nil {
		return object{}, fmt.Errorf("retention: %s %s: %w", typ, name, err)
	}
	return object{typ: typ, name: name, path: path, body: out, hash: hash}, nil
}
