package retention

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzResponseParsers feeds arbitrary bodies to everything that reads an
// Elasticsearch answer: none may panic, and a hash is only ever reported
// from a body that parses.
func FuzzResponseParsers(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "recorded", "*", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"error":"no handler found for uri [/_ilm/status] and method [GET]"}`))
	f.Add([]byte(`{"x":{"policy":{"_meta":{"hash":7}}}}`))
	objs := []object{
		{typ: TypeILMPolicy, name: "x"},
		{typ: TypeComponentTemplate, name: "x"},
		{typ: TypeIndexTemplate, name: "x"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{200, 400, 404, 405} {
			r := esResponse{status: status, body: body}
			_ = r.reason()
			_ = r.noHandler()
			_ = r.err("GET /x")
		}
		for _, o := range objs {
			if h, err := hashIn(o, body); err != nil && h != "" {
				t.Errorf("hashIn(%s) = %q with error %v", o.typ, h, err)
			}
		}
	})
}
