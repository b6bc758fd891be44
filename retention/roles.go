package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"
	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/pipeline"
)

// Role is one Elasticsearch role that `flowship setup --roles` creates:
// the body of PUT _security/role/<name> and one entry of a roles.yml.
// Only Basic-licence privileges are used (cluster and index privileges;
// no document- or field-level security).
type Role struct {
	Name    string      `json:"-" yaml:"-"`
	Cluster []string    `json:"cluster,omitempty" yaml:"cluster,omitempty"`
	Indices []IndexPriv `json:"indices" yaml:"indices"`
	// Metadata marks the role as flowship's (the JSON API only; roles.yml
	// entries take no metadata in every version).
	Metadata map[string]any `json:"metadata,omitempty" yaml:"-"`
}

// IndexPriv grants privileges on index names or patterns.
type IndexPriv struct {
	Names      []string `json:"names" yaml:"names"`
	Privileges []string `json:"privileges" yaml:"privileges"`
}

// RoleName names flowship's roles for a cluster: "<prefix>-<cluster>-<what>".
func (c Config) RoleName(what string) string {
	return c.Naming.Prefix + "-" + c.Naming.Cluster + "-" + what
}

// Roles returns the roles of this naming's cluster, readers first:
//
//   - <prefix>-<cluster>-reader-<kind>, one per kind: read and
//     view_index_metadata on the kind's read alias only (the UI, Kibana
//     users; the UI's per-namespace filter comes on top, docs/security.md);
//   - <prefix>-<cluster>-writer: the indexer: create_doc and
//     auto_configure on the daily indices (creating them through the
//     template), monitor and delete_index there for managed retention,
//     and cluster monitor (which lets it check that the templates exist,
//     without changing them) and read_ilm;
//   - <prefix>-<cluster>-setup: `flowship setup`: manage_index_templates,
//     manage_ilm and monitor on the cluster, manage on the indices and
//     aliases.
func (c Config) Roles() []Role {
	meta := map[string]any{"flowship": map[string]any{"cluster": c.Naming.Cluster, "prefix": c.Naming.Prefix}}
	var roles []Role
	patterns := make([]string, 0, len(pipeline.Kinds))
	aliases := make([]string, 0, len(pipeline.Kinds))
	for _, k := range pipeline.Kinds {
		alias := c.Naming.ReadAlias(k)
		patterns = append(patterns, c.Naming.Pattern(k))
		aliases = append(aliases, alias)
		roles = append(roles, Role{Name: c.RoleName("reader-" + string(k)), Metadata: meta,
			Indices: []IndexPriv{{Names: []string{alias}, Privileges: []string{"read", "view_index_metadata"}}}})
	}
	roles = append(roles,
		Role{Name: c.RoleName("writer"), Metadata: meta, Cluster: []string{"monitor", "read_ilm"},
			Indices: []IndexPriv{{Names: patterns, Privileges: []string{"create_doc", "auto_configure", "view_index_metadata", "monitor", "delete_index"}}}},
		Role{Name: c.RoleName("setup"), Metadata: meta, Cluster: []string{"manage_index_templates", "manage_ilm", "monitor"},
			Indices: []IndexPriv{{Names: append(append([]string(nil), patterns...), aliases...), Privileges: []string{"manage", "view_index_metadata"}}}},
	)
	return roles
}

// RolesYAML writes roles as a roles.yml for Elasticsearch's file realm
// (config/roles.yml on every node), for clusters whose native realm is
// not used.
func RolesYAML(w io.Writer, roles []Role) error {
	doc := &yaml.Node{Kind: yaml.MappingNode}
	for _, r := range roles {
		var v yaml.Node
		if err := v.Encode(r); err != nil {
			return fmt.Errorf("retention: encoding role %s: %w", r.Name, err)
		}
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: r.Name}, &v)
	}
	if _, err := fmt.Fprintf(w, "# Elasticsearch roles of flowship, written by `flowship setup --roles-file` (docs/security.md).\n"); err != nil {
		return fmt.Errorf("retention: writing roles: %w", err)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("retention: writing roles: %w", err)
	}
	return enc.Close()
}

// RoleResult is what ApplyRoles did with one role.
type RoleResult struct {
	Name   string
	Action Action
}

// ApplyRoles creates or updates roles with PUT _security/role/<name>
// (idempotent: Elasticsearch answers created true or false). With dryRun
// it prints each request to out instead and sends nothing.
func ApplyRoles(ctx context.Context, client *elasticsearch.Client, roles []Role, dryRun bool, out io.Writer) ([]RoleResult, error) {
	var res []RoleResult
	for _, r := range roles {
		body, err := json.Marshal(r)
		if err != nil {
			return res, fmt.Errorf("retention: role %s: %w", r.Name, err)
		}
		path := "/_security/role/" + r.Name
		if dryRun {
			if err := printRequest(out, http.MethodPut, path, body); err != nil {
				return res, err
			}
			res = append(res, RoleResult{Name: r.Name, Action: Created})
			continue
		}
		resp, err := send(ctx, client, http.MethodPut, path, "", body)
		if err != nil {
			return res, fmt.Errorf("retention: role %s: %w", r.Name, err)
		}
		if resp.status != http.StatusOK {
			return res, fmt.Errorf("retention: role %s: %w", r.Name, resp.err("PUT "+path+
				" (needs the manage_security cluster privilege and a native realm; else use --roles-file and the file realm)"))
		}
		var created struct {
			Role struct {
				Created bool `json:"created"`
			} `json:"role"`
		}
		if err := json.Unmarshal(resp.body, &created); err != nil {
			return res, fmt.Errorf("retention: role %s: reading the answer: %w", r.Name, err)
		}
		a := Updated // PUT answers created:false for an existing role, changed or not
		if created.Role.Created {
			a = Created
		}
		res = append(res, RoleResult{Name: r.Name, Action: a})
	}
	return res, nil
}
