package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowship/flowship/retention"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

// runSetupRoles is `flowship setup --roles` (PUT _security/role/… for
// this cluster's roles; --dry-run prints the requests) and
// `--roles-file F` (the same roles as a roles.yml, nothing sent). It
// does nothing else, so the privileges it needs (manage_security) are
// asked for in a run of their own.
func runSetupRoles(ctx context.Context, f setupFlags, stdout io.Writer) error {
	cfg, err := readConfig(f.configPath, SecElasticsearch, SecRetention)
	if err != nil {
		return err
	}
	roles := cfg.Retention.Roles()
	if f.rolesFile != "" {
		return writeRolesFile(f.rolesFile, roles, stdout)
	}
	var client esClient
	if !f.dryRun {
		if client, err = esink.NewClient(cfg.Index.Elasticsearch); err != nil {
			return err
		}
	}
	res, err := retention.ApplyRoles(ctx, client, roles, f.dryRun, stdout)
	for _, r := range res {
		if !f.dryRun {
			fmt.Fprintf(stdout, "elasticsearch: role %s %s\n", r.Name, r.Action)
		}
	}
	return err
}

// writeRolesFile writes roles to path atomically (temp file + rename).
func writeRolesFile(path string, roles []retention.Role, stdout io.Writer) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".roles-*.yml")
	if err != nil {
		return fmt.Errorf("--roles-file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := retention.RolesYAML(tmp, roles); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--roles-file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--roles-file %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "elasticsearch: %d roles written to %s (copy into config/roles.yml of every node)\n", len(roles), path)
	return nil
}
