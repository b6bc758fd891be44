package retention

import (
	"context"
	"fmt"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
)

// MissingTemplates returns the index templates `flowship setup` writes
// that the cluster does not have, as "<kind>: <template name>". The
// indexer waits for an empty list before it writes: a daily index created
// before its template would keep dynamic mappings for the whole day.
func MissingTemplates(ctx context.Context, client *elasticsearch.Client, cfg Config) ([]string, error) {
	var missing []string
	for _, k := range pipeline.Kinds {
		name := cfg.templateName(k)
		res, err := send(ctx, client, http.MethodGet, "/_index_template/"+name, "", nil)
		if err != nil {
			return nil, err
		}
		switch {
		case res.status == http.StatusNotFound:
			missing = append(missing, fmt.Sprintf("%s: index template %s", k, name))
		case res.status >= 300:
			return nil, res.err("checking index template " + name)
		}
	}
	return missing, nil
}
