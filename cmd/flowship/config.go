package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/deploy/kibana"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/filetail"
	"github.com/flowship/flowship/pipeline/telemetry"
	"github.com/flowship/flowship/retention"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
	"github.com/flowship/flowship/ui"
)

// Config is a flowship configuration file. One file serves every
// subcommand; each reads the sections it needs and `flowship check`
// validates them all. Every section is owned by its package.
type Config struct {
	// Cluster names the Kubernetes cluster; it goes into every document
	// and index name. Default "cluster" (Calico's default).
	Cluster string `yaml:"cluster"`
	// Node is this node's name (documents' "host"). Default $NODE_NAME,
	// else the host name.
	Node string `yaml:"node"`

	Telemetry   telemetry.Config  `yaml:"telemetry"`
	Inputs      Inputs            `yaml:"inputs"`
	Aggregation aggregator.Config `yaml:"aggregation"`
	Kafka       kafka.Config      `yaml:"kafka"`
	Index       IndexConfig       `yaml:"index"`
	Retention   retention.Config  `yaml:"retention"`
	Kibana      kibana.Config     `yaml:"kibana"`
	TopicSetup  kafka.TopicSetup  `yaml:"topic_setup"`
	UI          ui.Config         `yaml:"ui"`
	Receive     ReceiveConfig     `yaml:"receive"`
}

// IndexConfig is the indexer's section: the consumer group (its
// connection keys default to the kafka section's) and Elasticsearch.
type IndexConfig struct {
	Consumer      kafka.ReaderConfig `yaml:"consumer"`
	Elasticsearch esink.Config       `yaml:"elasticsearch"`
	// RequireTemplates makes the indexer wait, not ready, until the index
	// templates `flowship setup` writes exist, so no daily index is created
	// with dynamic mappings. Default true.
	RequireTemplates bool `yaml:"require_templates"`
}

// Input is one kind's file input; Enabled switches it.
type Input struct {
	// Enabled turns this kind's input on. Default true for all kinds.
	Enabled         bool `yaml:"enabled"`
	filetail.Config `yaml:",inline"`
}

// Inputs holds the file input of each kind.
type Inputs struct {
	Flows Input `yaml:"flows"`
	L7    Input `yaml:"l7"`
	DNS   Input `yaml:"dns"`
	// Hubble is Cilium's Hubble exporter file (see HubbleInput).
	Hubble HubbleInput `yaml:"hubble"`
}

// Each returns the enabled inputs in kind order, with Kind set.
func (in Inputs) Each() []filetail.Config {
	var out []filetail.Config
	for _, x := range []struct {
		kind pipeline.Kind
		in   Input
	}{{pipeline.KindFlow, in.Flows}, {pipeline.KindL7, in.L7}, {pipeline.KindDNS, in.DNS}} {
		if x.in.Enabled {
			c := x.in.Config
			c.Kind = x.kind
			out = append(out, c)
		}
	}
	return out
}

func defaultInput(k pipeline.Kind) Input {
	c := filetail.DefaultConfig()
	c.Kind = k
	return Input{Enabled: true, Config: c}
}

// DefaultConfig returns every section's defaults.
func DefaultConfig() Config {
	node := os.Getenv("NODE_NAME")
	if node == "" {
		node, _ = os.Hostname()
	}
	return Config{
		Cluster:     "cluster",
		Node:        node,
		Telemetry:   telemetry.DefaultConfig(),
		Inputs:      Inputs{Flows: defaultInput(pipeline.KindFlow), L7: defaultInput(pipeline.KindL7), DNS: defaultInput(pipeline.KindDNS), Hubble: defaultHubbleInput()},
		Aggregation: aggregator.DefaultConfig(),
		Kafka:       kafka.DefaultConfig(),
		Index: IndexConfig{
			Consumer:         kafka.DefaultReaderConfig(),
			Elasticsearch:    esink.DefaultConfig(),
			RequireTemplates: true,
		},
		Retention:  retention.DefaultConfig(),
		Kibana:     kibana.DefaultConfig(),
		TopicSetup: kafka.DefaultTopicSetup(),
		UI:         ui.DefaultConfig(),
		Receive:    DefaultReceiveConfig(),
	}
}

// resolve copies the shared top-level values into the sections.
func (c *Config) resolve() {
	if c.Aggregation.Cluster == "" {
		c.Aggregation.Cluster = c.Cluster
	}
	if c.Aggregation.Node == "" {
		c.Aggregation.Node = c.Node
	}
	rc := &c.Index.Consumer
	if len(rc.Brokers) == 0 {
		rc.Connection = c.Kafka.Connection
	}
	if len(rc.Topics) == 0 || sameStrings(rc.Topics, kafka.DefaultReaderConfig().Topics) {
		rc.Topics = []string{c.Kafka.Topics.Flows, c.Kafka.Topics.L7, c.Kafka.Topics.DNS}
	}
	if c.Index.Elasticsearch.Naming.Cluster == "" || c.Index.Elasticsearch.Naming.Cluster == esink.DefaultNaming().Cluster {
		c.Index.Elasticsearch.Naming.Cluster = c.Cluster
	}
	c.Retention.Naming = c.Index.Elasticsearch.Naming
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Section names a part of the config a subcommand uses.
type Section int

// The sections subcommands validate.
const (
	SecTelemetry Section = iota
	SecInputs
	SecAggregation
	SecKafka
	SecConsumer
	SecElasticsearch
	SecRetention
	SecKibana
	SecTopicSetup
	SecUI
	SecReceive
)

// Validate checks the shared keys and the given sections (all when none
// is given); errors name the key.
func (c *Config) Validate(sections ...Section) error {
	c.resolve()
	if len(sections) == 0 {
		sections = []Section{SecTelemetry, SecInputs, SecAggregation, SecKafka, SecConsumer, SecElasticsearch, SecRetention, SecTopicSetup, SecUI, SecReceive}
	}
	var errs []error
	if c.Cluster == "" {
		errs = append(errs, errors.New("cluster: must not be empty"))
	}
	if c.Node == "" {
		errs = append(errs, errors.New("node: must not be empty (set NODE_NAME from the downward API)"))
	}
	for _, s := range sections {
		errs = append(errs, c.validateSection(s))
	}
	return errors.Join(errs...)
}

func (c *Config) validateSection(s Section) error {
	switch s {
	case SecTelemetry:
		return c.Telemetry.Validate()
	case SecInputs:
		var errs []error
		for _, in := range c.Inputs.Each() {
			if err := in.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("inputs.%s: %w", in.Kind, err))
			}
		}
		errs = append(errs, c.Inputs.validateHubble())
		return errors.Join(errs...)
	case SecAggregation:
		if err := c.Aggregation.Validate(); err != nil {
			return fmt.Errorf("aggregation: %w", err)
		}
	case SecKafka:
		return c.Kafka.Validate()
	case SecConsumer:
		if err := c.Index.Consumer.Validate(); err != nil {
			return fmt.Errorf("index.consumer: %w", err)
		}
	case SecElasticsearch:
		if err := c.Index.Elasticsearch.Validate(); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	case SecRetention:
		return c.Retention.Validate()
	case SecTopicSetup:
		return c.TopicSetup.Validate()
	case SecUI:
		return c.UI.Validate()
	case SecKibana:
		if err := c.Kibana.Validate(); err != nil {
			return fmt.Errorf("kibana: %w", err)
		}
	case SecReceive:
		return c.Receive.Validate()
	}
	return nil
}

// readConfig loads path over the defaults and validates the given sections
// (all when none is given). An empty path means the defaults alone.
func readConfig(path string, sections ...Section) (Config, error) {
	return readConfigOver(DefaultConfig(), path, sections...)
}

// readConfigOver is readConfig with other defaults than DefaultConfig.
func readConfigOver(cfg Config, path string, sections ...Section) (Config, error) {
	if path != "" {
		if err := loadConfig(path, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := cfg.Validate(sections...); err != nil {
		where := path
		if where == "" {
			where = "(defaults)"
		}
		return cfg, fmt.Errorf("config %s: %w", where, err)
	}
	return cfg, nil
}

// sectionsFor maps a subcommand to the sections it reads.
var sectionsFor = map[string][]Section{
	"collect": {SecTelemetry, SecInputs, SecAggregation, SecKafka},
	"index":   {SecTelemetry, SecKafka, SecConsumer, SecElasticsearch, SecRetention},
	"setup":   {SecKafka, SecTopicSetup, SecElasticsearch, SecRetention},
	"ui":      {SecTelemetry, SecElasticsearch, SecUI},
	"receive": {SecTelemetry, SecKafka, SecReceive},
	"all":     nil,
}
