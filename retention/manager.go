package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
)

// Manager is managed retention, for clusters without ILM: on a schedule it
// deletes every flowship index whose UTC day started at least the kind's
// retention_days ago. It only ever deletes indices whose name is exactly
// what the naming produces for a kind and a day; anything else is left
// alone, whatever it matches.
type Manager struct {
	cfg     Config
	client  *elasticsearch.Client
	log     *slog.Logger
	deleted metric.Int64Counter
}

// NewManager returns a Manager for cfg (validated here).
func NewManager(cfg Config, client *elasticsearch.Client, tel pipeline.Telemetry) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, errors.New("retention: the managed retention needs an Elasticsearch client")
	}
	c, err := tel.Meter.Int64Counter("flowship_retention_indices_deleted_total",
		metric.WithDescription("Indices deleted by managed retention because their day is past the kind's retention."))
	if err != nil {
		return nil, fmt.Errorf("retention: creating metric: %w", err)
	}
	return &Manager{cfg: cfg, client: client, log: tel.Logger, deleted: c}, nil
}

// Run calls RunOnce now and then every cfg.ManagedInterval until ctx ends.
// A failed round is logged and retried at the next tick; Run returns nil
// when ctx is cancelled.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.ManagedInterval)
	defer t.Stop()
	for {
		if _, err := m.RunOnce(ctx, time.Now()); err != nil && ctx.Err() == nil {
			m.log.Error("retention: managed retention round failed; retrying at the next interval",
				"err", err, "interval", m.cfg.ManagedInterval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce deletes the indices that have expired at now and returns their
// names, sorted. It goes on past a failed deletion and returns the
// failures joined.
func (m *Manager) RunOnce(ctx context.Context, now time.Time) ([]string, error) {
	var deleted []string
	var errs []error
	for _, kind := range pipeline.Kinds {
		d, err := m.runKind(ctx, kind, now)
		deleted = append(deleted, d...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	slices.Sort(deleted)
	return deleted, errors.Join(errs...)
}

func (m *Manager) runKind(ctx context.Context, kind pipeline.Kind, now time.Time) ([]string, error) {
	names, err := m.list(ctx, m.cfg.Naming.Pattern(kind))
	if err != nil {
		return nil, err
	}
	days := m.cfg.For(kind).RetentionDays
	var deleted []string
	var errs []error
	for _, name := range names {
		day, ok := m.owned(kind, name)
		if !ok || !Expired(day, days, now) {
			continue
		}
		if err := m.delete(ctx, name); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, name)
		m.deleted.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(kind))))
		m.log.Info("retention: deleted expired index", "index", name, "kind", string(kind),
			"day", day.Format(time.DateOnly), "retention_days", days)
	}
	return deleted, errors.Join(errs...)
}

// Expired reports whether the index of the UTC day that starts at day is
// past a retention of days at now: the day started at least days days ago
// (Calico semantics, spec §6.5).
func Expired(day time.Time, days int, now time.Time) bool {
	return !now.Before(day.AddDate(0, 0, days))
}

// owned returns the day of index when it is exactly the index the naming
// produces for kind on that day.
func (m *Manager) owned(kind pipeline.Kind, index string) (time.Time, bool) {
	day, ok := m.cfg.Naming.ParseDate(index)
	if !ok || m.cfg.Naming.Index(kind, day) != index {
		return time.Time{}, false
	}
	y, mo, d := day.UTC().Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), true
}

// list returns the open and closed indices matching pattern.
func (m *Manager) list(ctx context.Context, pattern string) ([]string, error) {
	path := "/_cat/indices/" + pattern
	r, err := send(ctx, m.client, http.MethodGet, path, "format=json&h=index&expand_wildcards=open,closed", nil)
	if err != nil {
		return nil, fmt.Errorf("retention: listing indices %s: %w", pattern, err)
	}
	if r.status == http.StatusNotFound {
		return nil, nil
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("retention: listing indices %s: %w", pattern, r.err("GET "+path))
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.Unmarshal(r.body, &rows); err != nil {
		return nil, fmt.Errorf("retention: listing indices %s: unexpected answer: %w", pattern, err)
	}
	names := make([]string, 0, len(rows))
	for _, row := range rows {
		names = append(names, row.Index)
	}
	slices.Sort(names)
	return names, nil
}

func (m *Manager) delete(ctx context.Context, index string) error {
	path := "/" + index
	r, err := send(ctx, m.client, http.MethodDelete, path, "", nil)
	if err != nil {
		return fmt.Errorf("retention: deleting index %s: %w", index, err)
	}
	if r.status != http.StatusOK && r.status != http.StatusNotFound {
		return fmt.Errorf("retention: deleting index %s: %w", index, r.err("DELETE "+path))
	}
	return nil
}
