package retention

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowship/flowship/pipeline"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

// Mode says who deletes expired indices.
type Mode string

// The retention modes.
const (
	// ModeAuto uses ILM when GET _ilm/status answers, managed mode otherwise.
	ModeAuto Mode = "auto"
	// ModeILM requires ILM; Apply fails on a cluster without it.
	ModeILM Mode = "ilm"
	// ModeManaged never touches ILM: a Manager deletes expired indices.
	ModeManaged Mode = "managed"
)

// Config is the retention and index-setup configuration (YAML key
// "retention"). Every field's zero value is replaced by DefaultConfig.
type Config struct {
	// Mode is auto | ilm | managed. Default auto.
	Mode Mode `yaml:"mode"`
	// Naming must be the naming the Elasticsearch sink writes with; the
	// wiring copies the sink's (elasticsearch.naming) here, so it is not
	// read from YAML under retention.
	Naming esink.Naming `yaml:"-"`
	// PolicyName names the ILM policy of a kind; "{kind}", "{cluster}" and
	// "{prefix}" are replaced. Default "{prefix}-{kind}-{cluster}" in both
	// naming modes. Calico's own "tigera_secure_ee_{kind}_policy" is
	// possible but then flowship overwrites the policy the Tigera operator
	// owns and its rollover indices use; only set it once the operator no
	// longer manages Elasticsearch.
	PolicyName string `yaml:"policy_name"`
	// Replicas is index.number_of_replicas for every index. Default 1 (a
	// production cluster has several nodes); set 0 on a single-node cluster,
	// where a replica can never be assigned and the cluster stays yellow.
	Replicas int `yaml:"replicas"`
	// RefreshInterval is index.refresh_interval. Default 5s: log data need
	// not be searchable within a second, and fewer refreshes mean fewer,
	// larger segments.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// TemplatePriority is the priority of flowship's index templates. Default
	// 200, above Elasticsearch's built-in templates (100).
	TemplatePriority int `yaml:"template_priority"`
	// ManagedInterval is how often managed mode looks for expired indices.
	// Default 1h.
	ManagedInterval time.Duration `yaml:"managed_interval"`
	// Kinds holds per-kind settings.
	Kinds Kinds `yaml:"kinds"`
}

// Kinds holds one KindConfig per kind.
type Kinds struct {
	Flows KindConfig `yaml:"flows"`
	L7    KindConfig `yaml:"l7"`
	DNS   KindConfig `yaml:"dns"`
}

// KindConfig is the retention and index settings of one kind.
type KindConfig struct {
	// RetentionDays: an index whose UTC day started at least this many days
	// ago is deleted (Calico semantics: to keep X full days set X+1).
	// Defaults (Calico's): flows 8, dns 8, l7 1.
	RetentionDays int `yaml:"retention_days"`
	// Shards is index.number_of_shards. Default 1.
	Shards int `yaml:"shards"`
	// HotPriority is the ILM hot phase's index recovery priority. Default 100.
	HotPriority int `yaml:"hot_priority"`
	// Warm is the optional ILM warm phase; off by default.
	Warm WarmConfig `yaml:"warm"`
}

// WarmConfig is the optional ILM warm phase. It is on when MinAge > 0.
//
// A read-only or force-merged index refuses late writes. Replays of old
// Kafka offsets land in the index of their event day, so choose MinAge
// larger than the longest replay you expect (Kafka retention).
type WarmConfig struct {
	// MinAge is the index age (from its day's start) at which it turns warm;
	// 0 disables the phase. At least 24h: today's index is still written.
	MinAge time.Duration `yaml:"min_age"`
	// ReadOnly makes warm indices read-only. Default false.
	ReadOnly bool `yaml:"readonly"`
	// ForceMergeSegments force-merges warm indices to this many segments per
	// shard; 0 skips the force merge.
	ForceMergeSegments int `yaml:"forcemerge_max_num_segments"`
	// Priority is the warm phase's recovery priority. Default 50.
	Priority int `yaml:"priority"`
}

// DefaultConfig returns the defaults documented on each field.
func DefaultConfig() Config {
	kc := func(days int) KindConfig {
		return KindConfig{RetentionDays: days, Shards: 1, HotPriority: 100, Warm: WarmConfig{Priority: 50}}
	}
	return Config{
		Mode:             ModeAuto,
		Naming:           esink.DefaultNaming(),
		Replicas:         1,
		RefreshInterval:  5 * time.Second,
		TemplatePriority: 200,
		ManagedInterval:  time.Hour,
		Kinds:            Kinds{Flows: kc(8), L7: kc(1), DNS: kc(8)},
	}
}

// For returns the configuration of kind.
func (c Config) For(kind pipeline.Kind) KindConfig {
	switch kind {
	case pipeline.KindL7:
		return c.Kinds.L7
	case pipeline.KindDNS:
		return c.Kinds.DNS
	}
	return c.Kinds.Flows
}

// Validate reports every invalid field, naming its YAML key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("retention.%s: "+format, append([]any{key}, a...)...))
	}
	switch c.Mode {
	case ModeAuto, ModeILM, ModeManaged:
	default:
		bad("mode", "%q is not one of auto, ilm, managed", c.Mode)
	}
	if err := c.Naming.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Replicas < 0 {
		bad("replicas", "must be >= 0, got %d", c.Replicas)
	}
	if c.RefreshInterval < 0 || (c.RefreshInterval > 0 && c.RefreshInterval%time.Millisecond != 0) {
		bad("refresh_interval", "must be >= 0 and a whole number of milliseconds, got %s", c.RefreshInterval)
	}
	if c.TemplatePriority < 0 {
		bad("template_priority", "must be >= 0, got %d", c.TemplatePriority)
	}
	if c.ManagedInterval < time.Minute {
		bad("managed_interval", "must be at least 1m, got %s", c.ManagedInterval)
	}
	if p := c.PolicyName; p != "" && strings.ContainsAny(p, `*,"\/ ?#<>|`) {
		bad("policy_name", "%q contains a character Elasticsearch refuses in a policy name", p)
	}
	for _, k := range pipeline.Kinds {
		errs = append(errs, c.For(k).validate("retention.kinds."+string(k)))
	}
	return errors.Join(errs...)
}

func (k KindConfig) validate(key string) error {
	var errs []error
	if k.RetentionDays < 1 {
		errs = append(errs, fmt.Errorf("%s.retention_days: must be >= 1, got %d", key, k.RetentionDays))
	}
	if k.Shards < 1 {
		errs = append(errs, fmt.Errorf("%s.shards: must be >= 1, got %d", key, k.Shards))
	}
	if k.HotPriority < 0 {
		errs = append(errs, fmt.Errorf("%s.hot_priority: must be >= 0, got %d", key, k.HotPriority))
	}
	w := k.Warm
	switch {
	case w.MinAge < 0:
		errs = append(errs, fmt.Errorf("%s.warm.min_age: must be >= 0, got %s", key, w.MinAge))
	case w.MinAge > 0 && w.MinAge < 24*time.Hour:
		errs = append(errs, fmt.Errorf("%s.warm.min_age: must be at least 24h (today's index is still written), got %s", key, w.MinAge))
	case w.MinAge > 0 && w.MinAge >= time.Duration(k.RetentionDays)*24*time.Hour:
		errs = append(errs, fmt.Errorf("%s.warm.min_age: %s is not below retention_days (%d); lower it or set 0 to disable the warm phase", key, w.MinAge, k.RetentionDays))
	case w.MinAge > 0 && w.MinAge%time.Second != 0:
		errs = append(errs, fmt.Errorf("%s.warm.min_age: must be a whole number of seconds, got %s", key, w.MinAge))
	}
	if w.ForceMergeSegments < 0 {
		errs = append(errs, fmt.Errorf("%s.warm.forcemerge_max_num_segments: must be >= 0, got %d", key, w.ForceMergeSegments))
	}
	if w.Priority < 0 {
		errs = append(errs, fmt.Errorf("%s.warm.priority: must be >= 0, got %d", key, w.Priority))
	}
	return errors.Join(errs...)
}

// policyName is the ILM policy name of kind.
func (c Config) policyName(kind pipeline.Kind) string {
	p := c.PolicyName
	if p == "" {
		p = "{prefix}-{kind}-{cluster}"
	}
	return strings.NewReplacer("{kind}", string(kind), "{cluster}", c.Naming.Cluster, "{prefix}", c.prefix()).Replace(p)
}

// templateName is the base name of kind's index template and its
// component templates: "<prefix>-<kind>-<cluster>" in both naming modes,
// so flowship's objects never collide with Calico's own templates
// ("tigera_secure_ee_…").
func (c Config) templateName(kind pipeline.Kind) string {
	return c.prefix() + "-" + string(kind) + "-" + c.Naming.Cluster
}

func (c Config) prefix() string {
	if c.Naming.Prefix == "" {
		return "flowship"
	}
	return c.Naming.Prefix
}
