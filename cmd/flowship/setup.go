package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/flowship/flowship/deploy/kibana"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/retention"
	"github.com/flowship/flowship/schema"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
)

// setupFlags are the switches of `flowship setup`.
type setupFlags struct {
	configPath    string
	dryRun        bool
	elasticsearch bool
	kafka         bool
	kibanaURL     string
	kibanaUser    string
	kibanaPwFile  string
	kibanaSpace   string
	roles         bool   // --roles: create the Elasticsearch roles (setup_roles.go)
	rolesFile     string // --roles-file F: write them as a roles.yml instead
}

// runSetup creates what the pipeline needs, idempotently: index templates
// and ILM policies (Elasticsearch), topics (--kafka) and saved objects
// (--kibana URL). --dry-run prints every request instead of sending it.
func runSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f setupFlags
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.configPath, "config", "", "configuration file (YAML)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print every request instead of sending writes")
	fs.BoolVar(&f.elasticsearch, "elasticsearch", true, "apply index templates, ILM policies and aliases")
	fs.BoolVar(&f.kafka, "kafka", false, "create the Kafka topics (topic_setup section)")
	fs.StringVar(&f.kibanaURL, "kibana", "", "Kibana base URL: import the data views and dashboards (overrides kibana.url)")
	fs.StringVar(&f.kibanaUser, "kibana-user", "", "Kibana user (overrides kibana.username)")
	fs.StringVar(&f.kibanaPwFile, "kibana-password-file", "", "file holding the Kibana password (overrides kibana.password_file)")
	fs.StringVar(&f.kibanaSpace, "kibana-space", "", "Kibana space id (overrides kibana.space)")
	fs.BoolVar(&f.roles, "roles", false, "also create the Elasticsearch roles of this cluster (reader per kind, writer, setup; docs/security.md)")
	fs.StringVar(&f.rolesFile, "roles-file", "", "write the Elasticsearch roles as a roles.yml file (file realm) instead of creating them")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if f.rolesFile != "" || f.roles {
		return runSetupRoles(ctx, f, stdout)
	}
	sections := []Section{}
	if f.elasticsearch {
		sections = append(sections, SecElasticsearch, SecRetention)
	}
	if f.kafka {
		sections = append(sections, SecKafka, SecTopicSetup)
	}
	base := DefaultConfig()
	if f.configPath == "" {
		base = localDefaults(base)
	}
	cfg, err := readConfigOver(base, f.configPath, sections...)
	if err != nil {
		return err
	}
	kibanaWanted := f.kibanaURL != "" || cfg.Kibana.URL != ""
	if kibanaWanted {
		applyKibanaFlags(&cfg.Kibana, f)
		if err := cfg.Kibana.Validate(); err != nil {
			return usageError{err.Error()}
		}
	}
	if !f.elasticsearch && !f.kafka && !kibanaWanted {
		return usageError{"nothing to do: --elasticsearch=false and neither --kafka nor --kibana given"}
	}
	var errs []error
	if f.kafka {
		errs = append(errs, setupKafka(ctx, cfg, f.dryRun, stdout))
	}
	if f.elasticsearch {
		errs = append(errs, setupElasticsearch(ctx, cfg, f.dryRun, stdout))
	}
	if kibanaWanted {
		errs = append(errs, setupKibana(ctx, cfg, f.dryRun, stdout))
	}
	err = errors.Join(errs...)
	if err != nil && f.configPath == "" {
		err = fmt.Errorf("%w\n(without --config, setup uses %s and %s; give --config FILE for other services)", err, localElasticsearchURL, localKafkaBroker)
	}
	return err
}

// Where setup looks without a config file, as Filebeat and Kafka's own
// tools do: a Kafka broker and an Elasticsearch on this machine.
const (
	localElasticsearchURL = "http://localhost:9200"
	localKafkaBroker      = "localhost:9092"
)

// localDefaults points cfg at localElasticsearchURL and localKafkaBroker.
// Only setup without --config uses it; a config file must name its
// services.
func localDefaults(cfg Config) Config {
	cfg.Index.Elasticsearch.URLs = []string{localElasticsearchURL}
	cfg.Kafka.Brokers = []string{localKafkaBroker}
	return cfg
}

func applyKibanaFlags(k *kibana.Config, f setupFlags) {
	if f.kibanaURL != "" {
		k.URL = f.kibanaURL
	}
	if f.kibanaUser != "" {
		k.Username = f.kibanaUser
	}
	if f.kibanaPwFile != "" {
		k.PasswordFile = f.kibanaPwFile
	}
	if f.kibanaSpace != "" {
		k.Space = f.kibanaSpace
	}
}

func setupKafka(ctx context.Context, cfg Config, dryRun bool, out io.Writer) error {
	specs := cfg.TopicSetup.Specs(cfg.Kafka.Topics)
	if dryRun {
		fmt.Fprintln(out, "# kafka: topics that setup would create (existing ones are left alone)")
		fmt.Fprintln(out, kafka.DescribeTopicRequests(specs))
		return nil
	}
	created, unchanged, err := kafka.EnsureTopics(ctx, cfg.Kafka.Connection, specs)
	for _, t := range created {
		fmt.Fprintf(out, "kafka: topic %s created\n", t)
	}
	for _, t := range unchanged {
		fmt.Fprintf(out, "kafka: topic %s unchanged\n", t)
	}
	if len(created) == 0 && err == nil {
		fmt.Fprintln(out, "kafka: no changes")
	}
	var drift *kafka.TopicDriftError
	if errors.As(err, &drift) {
		return fmt.Errorf("kafka: existing topics differ from topic_setup (setup changes nothing on existing topics; alter them yourself if the difference matters):\n%w", err)
	}
	return err
}

// kindSpecs is what the schema says every kind's index needs.
func kindSpecs() map[pipeline.Kind]retention.KindSpec {
	out := map[pipeline.Kind]retention.KindSpec{}
	for _, k := range pipeline.Kinds {
		out[k] = retention.KindSpec{Mapping: schema.Mapping(k), Settings: schema.Settings(k)}
	}
	return out
}

func setupElasticsearch(ctx context.Context, cfg Config, dryRun bool, out io.Writer) error {
	var client esClient
	if !dryRun || len(cfg.Index.Elasticsearch.URLs) > 0 {
		c, err := esink.NewClient(cfg.Index.Elasticsearch)
		if err != nil {
			return err
		}
		client = c
	}
	rep, err := retention.Apply(ctx, client, cfg.Retention, kindSpecs(), retention.ApplyOptions{DryRun: dryRun, Out: out})
	fmt.Fprint(out, rep.String())
	return err
}

func setupKibana(ctx context.Context, cfg Config, dryRun bool, out io.Writer) error {
	naming := cfg.Index.Elasticsearch.Naming
	objects, err := kibana.WithIndexPatterns(kibana.Objects(), kibana.IndexPatterns(naming.Prefix, naming.Mode == esink.NamingCalico))
	if err != nil {
		return err
	}
	if dryRun {
		fmt.Fprintf(out, "# kibana: POST %s/api/saved_objects/_import?overwrite=true (multipart file, %d bytes of saved objects)\n", cfg.Kibana.URL, len(objects))
		return nil
	}
	res, err := kibana.Import(ctx, cfg.Kibana, objects)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "kibana: %d of %d saved objects imported into %s\n", res.Imported, res.Sent, cfg.Kibana.URL)
	return nil
}
