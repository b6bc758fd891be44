package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
)

// Action is what Apply did (or, in a dry run, would do) with one object.
type Action string

// The actions.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// DryRun sends no write: every PUT Apply would send is printed to Out
	// instead. With a client, GETs still run to find what differs; with a
	// nil client every object is printed as if new.
	DryRun bool
	// Out receives the dry-run requests; required when DryRun.
	Out io.Writer
}

// ObjectResult is the outcome for one object.
type ObjectResult struct {
	Type   ObjectType
	Name   string
	Action Action
}

// Report is what Apply did.
type Report struct {
	// ILM is true when ILM policies manage retention. When false the caller
	// must run a Manager, which deletes expired indices itself.
	ILM bool
	// ILMDetail explains the choice ("detected, RUNNING", "mode managed", …).
	ILMDetail string
	// DryRun is true when nothing was written.
	DryRun  bool
	Objects []ObjectResult
}

// Changed counts the objects created or updated.
func (r Report) Changed() int {
	n := 0
	for _, o := range r.Objects {
		if o.Action != Unchanged {
			n++
		}
	}
	return n
}

// String is a human summary, one object a line, ending in "no changes"
// when nothing changed.
func (r Report) String() string {
	var b strings.Builder
	mode := "managed (flowship deletes expired indices)"
	if r.ILM {
		mode = "ILM"
	}
	fmt.Fprintf(&b, "retention: %s; %s\n", mode, r.ILMDetail)
	prefix := ""
	if r.DryRun {
		prefix = "would be "
	}
	for _, o := range r.Objects {
		if o.Action == Unchanged {
			fmt.Fprintf(&b, "  unchanged  %s %s\n", o.Type, o.Name)
		} else {
			fmt.Fprintf(&b, "  %s%s  %s %s\n", prefix, o.Action, o.Type, o.Name)
		}
	}
	if r.Changed() == 0 {
		b.WriteString("no changes\n")
	}
	return b.String()
}

// Apply makes the ILM policies (when ILM is used), component templates and
// index templates of every kind in kinds exist as cfg describes. It is
// idempotent: each object carries a content hash in _meta, and an object
// whose stored hash matches is left alone, so a second run reports no
// changes. Objects are written per kind in dependency order (policy,
// component templates, index template); the first failure stops Apply and
// names the object and Elasticsearch's reason.
//
// client may be nil only when opts.DryRun.
func Apply(ctx context.Context, client *elasticsearch.Client, cfg Config, kinds map[pipeline.Kind]KindSpec, opts ApplyOptions) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if client == nil && !opts.DryRun {
		return Report{}, fmt.Errorf("retention: Apply needs an Elasticsearch client unless it is a dry run")
	}
	if opts.DryRun && opts.Out == nil {
		return Report{}, fmt.Errorf("retention: a dry run needs an output to print requests to")
	}
	for k := range kinds {
		if !k.Valid() {
			return Report{}, fmt.Errorf("retention: unknown kind %q; want one of %v", k, pipeline.Kinds)
		}
	}
	rep := Report{DryRun: opts.DryRun}
	var err error
	if rep.ILM, rep.ILMDetail, err = resolveILM(ctx, client, cfg.Mode); err != nil {
		return rep, err
	}
	for _, kind := range pipeline.Kinds {
		spec, ok := kinds[kind]
		if !ok {
			continue
		}
		objs, err := buildObjects(cfg, kind, spec, rep.ILM)
		if err != nil {
			return rep, err
		}
		for _, o := range objs {
			res, err := applyObject(ctx, client, o, opts)
			if err != nil {
				return rep, err
			}
			rep.Objects = append(rep.Objects, res)
		}
	}
	return rep, nil
}

// resolveILM decides whether ILM manages retention.
func resolveILM(ctx context.Context, client *elasticsearch.Client, mode Mode) (bool, string, error) {
	if mode == ModeManaged {
		return false, "retention.mode is managed", nil
	}
	if client == nil {
		return true, "no cluster to ask; assuming ILM (retention.mode " + string(mode) + ")", nil
	}
	st, err := DetectILM(ctx, client)
	if err != nil {
		return false, "", err
	}
	switch {
	case st.Available:
		detail := "ILM detected, operation mode " + st.OperationMode
		if st.OperationMode != "RUNNING" {
			detail += " (policies are stored but nothing is deleted until ILM runs: POST _ilm/start)"
		}
		return true, detail, nil
	case mode == ModeILM:
		return false, "", fmt.Errorf("retention: retention.mode is ilm but this Elasticsearch has no ILM (GET /_ilm/status has no handler); set retention.mode to auto or managed")
	}
	return false, "ILM unavailable on this cluster (GET /_ilm/status has no handler)", nil
}

// applyObject compares o with the stored object and writes it if it differs.
func applyObject(ctx context.Context, client *elasticsearch.Client, o object, opts ApplyOptions) (ObjectResult, error) {
	res := ObjectResult{Type: o.typ, Name: o.name, Action: Created}
	if client != nil {
		h, exists, err := currentHash(ctx, client, o)
		if err != nil {
			return res, err
		}
		switch {
		case !exists:
		case h == o.hash:
			res.Action = Unchanged
			return res, nil
		default:
			res.Action = Updated // changed config, older flowship, or not ours: overwritten
		}
	}
	if opts.DryRun {
		return res, printRequest(opts.Out, http.MethodPut, o.path, o.body)
	}
	r, err := send(ctx, client, http.MethodPut, o.path, "", o.body)
	if err != nil {
		return res, fmt.Errorf("retention: %s %q: %w", o.typ, o.name, err)
	}
	if r.status != http.StatusOK {
		return res, fmt.Errorf("retention: %s %q: %w", o.typ, o.name, r.err("PUT "+o.path))
	}
	return res, nil
}

// printRequest writes one request as "METHOD path" and its indented body,
// separated from the next by a blank line (the Kibana console format).
func printRequest(w io.Writer, method, path string, body []byte) error {
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		return fmt.Errorf("retention: printing %s %s: %w", method, path, err)
	}
	if _, err := fmt.Fprintf(w, "%s %s\n%s\n\n", method, path, pretty.Bytes()); err != nil {
		return fmt.Errorf("retention: printing %s %s: %w", method, path, err)
	}
	return nil
}
