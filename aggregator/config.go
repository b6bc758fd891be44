package aggregator

import (
	"errors"
	"fmt"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Config configures the aggregator. YAML keys are snake_case; decode it
// strictly (unknown keys are errors) over DefaultConfig.
type Config struct {
	// Cluster is the cluster name written to every document and hashed
	// into its _id. Required.
	Cluster string `yaml:"cluster"`
	// Node is the node name (documents' "host"), hashed into the _id.
	// Required.
	Node string `yaml:"node"`

	// Levels are the flow aggregation levels 0..3 (spec §3.2) for allowed
	// and denied flows. Default allowed 2, denied 1 (Felix's defaults).
	Levels Levels `yaml:"levels"`
	// GroupByPolicy keeps the policy trace (all_policies and
	// enforced_policies) in the flow key. Default true. When false, the
	// policy split lines of one Felix line (spec §2.3) are de-duplicated
	// and the policy arrays unioned (capped at MaxPolicies entries).
	GroupByPolicy bool `yaml:"group_by_policy"`
	// ExtraKeyFields adds fields (Calico JSON names) to the key, per kind.
	// Default none.
	ExtraKeyFields ExtraKeyFields `yaml:"extra_key_fields"`

	// Window is the event-time bucket length; buckets are aligned to the
	// Unix epoch. Default 5m. Must divide 24h.
	Window time.Duration `yaml:"window"`
	// AllowedLateness is how far behind the newest end_time seen (per
	// kind) a bucket stays open after its end. Default 5m (one window),
	// for sources that interleave (Hubble's export file). 0 closes a
	// bucket as soon as a line of a later bucket is read: right for
	// Felix's files, whose lines come in end_time order, and half the
	// open keys (the Helm chart sets it). A late line is never dropped;
	// it opens a new part of its bucket.
	AllowedLateness time.Duration `yaml:"allowed_lateness"`
	// IdleFlush flushes the buckets that ended at or before the newest
	// end_time seen once a kind has had no input for this long (wall
	// clock). Default 30s; 0 disables.
	IdleFlush time.Duration `yaml:"idle_flush"`
	// MaxOpenKeys bounds the distinct keys held in open buckets per kind;
	// reaching it flushes every open bucket of that kind early (later
	// lines of those buckets go to a new part). Default 100000.
	MaxOpenKeys int `yaml:"max_open_keys"`
	// ParseAhead parses, filters and keys the lines of an input batch on
	// a second goroutine, ahead of the merge, so a collector uses two
	// cores while it catches up (batches of fewer than 256 lines of a
	// kind are parsed inline). Output is the same either way. Default
	// true.
	ParseAhead bool `yaml:"parse_ahead"`
	// MaxBatchRecords bounds the documents in one output batch. Default
	// 1000.
	MaxBatchRecords int `yaml:"max_batch_records"`

	// L7 holds the L7 aggregation knobs (spec §4.4), Felix's names and
	// defaults.
	L7 L7Config `yaml:"l7"`
	// DNSLevel is the DNS aggregation level: 0 keeps client_name and
	// client_ip, 1 masks them. Default 1.
	DNSLevel int `yaml:"dns_level"`

	// MaxFuture bounds how far ahead of the clock a line's end_time may
	// be; a line further ahead is dead-lettered (reason "future") and
	// acknowledged. Felix stamps end_time when it writes the line on this
	// node, so a line ahead of the clock is corrupt or from a skewed
	// clock; accepted, it would move the watermark ahead (flushing every
	// open bucket early) and its own bucket would stay open, holding its
	// file's position, until the clock caught up. Default 15m; 0
	// disables.
	MaxFuture time.Duration `yaml:"max_future"`
	// MaxAge bounds, per kind, how old a line may be: a line whose end_time
	// lies on a UTC day that started at least MaxAge ago is dead-lettered
	// (reason "too_old") and acknowledged, because that day's index is past
	// retention (retention's own rule) and writing the line would create the
	// deleted index again. A whole number of days (24h multiples). Default 0
	// here (no bound); collect and aggregate set a 0 from
	// retention.kinds.<kind>.retention_days.
	MaxAge MaxAge `yaml:"max_age"`
	// Now is the clock of MaxFuture and MaxAge; nil means time.Now.
	// `flowship aggregate --now` sets it to judge old files as of a time.
	Now func() time.Time `yaml:"-"`

	// Filters are the include/exclude rules (see Rule). Default none.
	Filters []Rule `yaml:"filters"`

	// DeadLetterLog is a file that unparseable lines are appended to, one
	// JSON object per line; "" disables it. Default "".
	DeadLetterLog string `yaml:"dead_letter_log"`
}

// Levels are the flow aggregation levels (spec §3.2).
type Levels struct {
	Allowed int `yaml:"allowed"` // level for flows whose trace has no deny; default 2
	Denied  int `yaml:"denied"`  // level for flows with any deny, staged included; default 1
}

// MaxAge holds the event-time age bound of each kind (see Config.MaxAge).
type MaxAge struct {
	Flows time.Duration `yaml:"flows"`
	L7    time.Duration `yaml:"l7"`
	DNS   time.Duration `yaml:"dns"`
}

// Of returns kind k's bound.
func (m MaxAge) Of(k pipeline.Kind) time.Duration {
	switch k {
	case pipeline.KindFlow:
		return m.Flows
	case pipeline.KindL7:
		return m.L7
	case pipeline.KindDNS:
		return m.DNS
	}
	return 0
}

// ExtraKeyFields lists extra key fields per kind (Calico JSON names, the
// same names filter rules use).
type ExtraKeyFields struct {
	Flows []string `yaml:"flows"`
	L7    []string `yaml:"l7"`
	DNS   []string `yaml:"dns"`
}

// L7Config holds Felix's L7 aggregation knobs with Felix's string values
// (spec §4.4).
type L7Config struct {
	HeaderInfo      string `yaml:"header_info"`      // IncludeL7HTTPHeaderInfo | ExcludeL7HTTPHeaderInfo (default)
	Method          string `yaml:"method"`           // IncludeL7HTTPMethod (default) | ExcludeL7HTTPMethod
	ServiceInfo     string `yaml:"service_info"`     // IncludeL7ServiceInfo (default) | ExcludeL7ServiceInfo
	DestinationInfo string `yaml:"destination_info"` // IncludeL7DestinationInfo (default) | ExcludeL7DestinationInfo
	SourceInfo      string `yaml:"source_info"`      // IncludeL7SourceInfo | IncludeL7SourceInfoNoPort (default) | ExcludeL7SourceInfo
	ResponseCode    string `yaml:"response_code"`    // IncludeL7ResponseCode (default) | ExcludeL7ResponseCode
	TrimURL         string `yaml:"trim_url"`         // IncludeL7FullURL (default) | TrimURLQuery | TrimURLQueryAndPath | ExcludeL7URL
	// NumURLPath is the number of path segments kept in IncludeL7FullURL
	// mode; negative keeps all (and the query). Default 5.
	NumURLPath int `yaml:"num_url_path"`
	// URLCharLimit is the maximum length of domain+path. Default 250.
	URLCharLimit int `yaml:"url_char_limit"`
	// PerNodeLimit is the maximum distinct L7 keys per bucket; further
	// lines are counted in one type "unlogged" document. 0 (default) is
	// unlimited: Felix already applies l7LogsFilePerNodeLimit.
	PerNodeLimit int `yaml:"per_node_limit"`
}

// Felix's L7 knob values.
const (
	IncludeL7HTTPHeaderInfo   = "IncludeL7HTTPHeaderInfo"
	ExcludeL7HTTPHeaderInfo   = "ExcludeL7HTTPHeaderInfo"
	IncludeL7HTTPMethod       = "IncludeL7HTTPMethod"
	ExcludeL7HTTPMethod       = "ExcludeL7HTTPMethod"
	IncludeL7ServiceInfo      = "IncludeL7ServiceInfo"
	ExcludeL7ServiceInfo      = "ExcludeL7ServiceInfo"
	IncludeL7DestinationInfo  = "IncludeL7DestinationInfo"
	ExcludeL7DestinationInfo  = "ExcludeL7DestinationInfo"
	IncludeL7SourceInfo       = "IncludeL7SourceInfo"
	IncludeL7SourceInfoNoPort = "IncludeL7SourceInfoNoPort"
	ExcludeL7SourceInfo       = "ExcludeL7SourceInfo"
	IncludeL7ResponseCode     = "IncludeL7ResponseCode"
	ExcludeL7ResponseCode     = "ExcludeL7ResponseCode"
	IncludeL7FullURL          = "IncludeL7FullURL"
	TrimURLQuery              = "TrimURLQuery"
	TrimURLQueryAndPath       = "TrimURLQueryAndPath"
	ExcludeL7URL              = "ExcludeL7URL"
)

// MaxPolicies caps each unioned policy array when GroupByPolicy is false.
const MaxPolicies = 32

// DefaultConfig returns the defaults documented on Config. Cluster and
// Node are empty and must be set.
func DefaultConfig() Config {
	return Config{
		Levels:          Levels{Allowed: 2, Denied: 1},
		GroupByPolicy:   true,
		Window:          5 * time.Minute,
		AllowedLateness: 5 * time.Minute,
		IdleFlush:       30 * time.Second,
		MaxOpenKeys:     100000,
		MaxBatchRecords: 1000,
		ParseAhead:      true,
		L7:              DefaultL7Config(),
		DNSLevel:        1,
		MaxFuture:       15 * time.Minute,
	}
}

// DefaultL7Config returns Felix's L7 knob defaults.
func DefaultL7Config() L7Config {
	return L7Config{
		HeaderInfo:      ExcludeL7HTTPHeaderInfo,
		Method:          IncludeL7HTTPMethod,
		ServiceInfo:     IncludeL7ServiceInfo,
		DestinationInfo: IncludeL7DestinationInfo,
		SourceInfo:      IncludeL7SourceInfoNoPort,
		ResponseCode:    IncludeL7ResponseCode,
		TrimURL:         IncludeL7FullURL,
		NumURLPath:      5,
		URLCharLimit:    250,
	}
}

// Validate checks c; errors name the key. It also compiles the filter
// rules and extra key fields, so a Config that validates builds.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Cluster == "" {
		add("aggregator.cluster: must not be empty; set the cluster name")
	}
	if c.Node == "" {
		add("aggregator.node: must not be empty; set the node name (for example from the downward API)")
	}
	if c.Levels.Allowed < 0 || c.Levels.Allowed > 3 {
		add("aggregator.levels.allowed: %d is not a level; want 0, 1, 2 or 3", c.Levels.Allowed)
	}
	if c.Levels.Denied < 0 || c.Levels.Denied > 3 {
		add("aggregator.levels.denied: %d is not a level; want 0, 1, 2 or 3", c.Levels.Denied)
	}
	if c.Window < time.Second || (24*time.Hour)%c.Window != 0 || c.Window%time.Second != 0 {
		add("aggregator.window: %s must be whole seconds, at least 1s, and divide 24h (for example 1m, 5m, 1h)", c.Window)
	}
	if c.AllowedLateness < 0 {
		add("aggregator.allowed_lateness: %s must not be negative", c.AllowedLateness)
	}
	if c.IdleFlush < 0 {
		add("aggregator.idle_flush: %s must not be negative (0 disables)", c.IdleFlush)
	}
	if c.MaxOpenKeys < 1 {
		add("aggregator.max_open_keys: %d must be at least 1", c.MaxOpenKeys)
	}
	if c.MaxBatchRecords < 1 {
		add("aggregator.max_batch_records: %d must be at least 1", c.MaxBatchRecords)
	}
	if c.DNSLevel < 0 || c.DNSLevel > 1 {
		add("aggregator.dns_level: %d is not a level; want 0 or 1", c.DNSLevel)
	}
	if c.MaxFuture < 0 {
		add("aggregator.max_future: %s must not be negative (0 disables)", c.MaxFuture)
	}
	for _, k := range pipeline.Kinds {
		if d := c.MaxAge.Of(k); d < 0 || d%(24*time.Hour) != 0 {
			add("aggregator.max_age.%s: %s must be a whole number of days (a multiple of 24h; 0 is no bound)", k, d)
		}
	}
	if err := c.L7.validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := compileKeyFields(c.ExtraKeyFields); err != nil {
		errs = append(errs, err)
	}
	if _, err := CompileFilters(c.Filters); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (l *L7Config) validate() error {
	knobs := []struct {
		key, val string
		allowed  []string
	}{
		{"header_info", l.HeaderInfo, []string{IncludeL7HTTPHeaderInfo, ExcludeL7HTTPHeaderInfo}},
		{"method", l.Method, []string{IncludeL7HTTPMethod, ExcludeL7HTTPMethod}},
		{"service_info", l.ServiceInfo, []string{IncludeL7ServiceInfo, ExcludeL7ServiceInfo}},
		{"destination_info", l.DestinationInfo, []string{IncludeL7DestinationInfo, ExcludeL7DestinationInfo}},
		{"source_info", l.SourceInfo, []string{IncludeL7SourceInfo, IncludeL7SourceInfoNoPort, ExcludeL7SourceInfo}},
		{"response_code", l.ResponseCode, []string{IncludeL7ResponseCode, ExcludeL7ResponseCode}},
		{"trim_url", l.TrimURL, []string{IncludeL7FullURL, TrimURLQuery, TrimURLQueryAndPath, ExcludeL7URL}},
	}
	var errs []error
	for _, k := range knobs {
		ok := false
		for _, a := range k.allowed {
			ok = ok || k.val == a
		}
		if !ok {
			errs = append(errs, fmt.Errorf("aggregator.l7.%s: %q is not one of %q", k.key, k.val, k.allowed))
		}
	}
	if l.URLCharLimit < 1 {
		errs = append(errs, fmt.Errorf("aggregator.l7.url_char_limit: %d must be at least 1", l.URLCharLimit))
	}
	if l.PerNodeLimit < 0 {
		errs = append(errs, fmt.Errorf("aggregator.l7.per_node_limit: %d must not be negative (0 is unlimited)", l.PerNodeLimit))
	}
	return errors.Join(errs...)
}

// kinds in config order, for per-kind tables.
var kindIndex = map[pipeline.Kind]int{pipeline.KindFlow: 0, pipeline.KindL7: 1, pipeline.KindDNS: 2}
