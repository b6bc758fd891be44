package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// TopicSpec is what `flowship setup --kafka` wants a topic to be. Zero
// values (and -1 where noted) leave a setting to the broker's default.
type TopicSpec struct {
	Name              string
	Partitions        int               // partitions; -1 broker default (num.partitions)
	ReplicationFactor int               // replicas; -1 broker default (default.replication.factor)
	Retention         time.Duration     // retention.ms; 0 broker default, negative keeps forever
	CompressionType   string            // compression.type; "" broker default ("producer" keeps the producer's codec)
	MaxMessageBytes   pipeline.ByteSize // max.message.bytes; 0 broker default
}

// Topic config names EnsureTopics sets and compares.
const (
	configRetention   = "retention.ms"
	configCompression = "compression.type"
	configMaxMessage  = "max.message.bytes"
)

// DefaultTopicSpecs returns the specs of t's topics: 6 partitions (the
// indexer's parallelism), the broker's replication factor, 3 days of
// retention (a buffer, not the archive: Elasticsearch keeps the data), the
// producer's compression, and max.message.bytes 2MiB, above the writer's
// 1MiB max_message_bytes so the writer's own check is the one that bites.
// The dead-letter topic keeps 14 days, time enough to look and replay.
func DefaultTopicSpecs(t Topics) []TopicSpec {
	spec := func(name string, partitions int, retention time.Duration) TopicSpec {
		return TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: -1, Retention: retention,
			CompressionType: "producer", MaxMessageBytes: 2 << 20}
	}
	const day = 24 * time.Hour
	return []TopicSpec{
		spec(t.Flows, 6, 3*day), spec(t.L7, 6, 3*day), spec(t.DNS, 6, 3*day),
		spec(t.DeadLetter, 1, 14*day),
	}
}

func (s TopicSpec) validate(i int) error {
	p := fmt.Sprintf("topic spec %d", i)
	if err := validTopicName(s.Name); err != nil {
		return fmt.Errorf("%s: name: %w", p, err)
	}
	if s.Partitions == 0 || s.Partitions < -1 {
		return fmt.Errorf("%s (%s): partitions must be at least 1, or -1 for the broker default", p, s.Name)
	}
	if s.ReplicationFactor == 0 || s.ReplicationFactor < -1 || s.ReplicationFactor > 32767 {
		return fmt.Errorf("%s (%s): replication factor must be at least 1, or -1 for the broker default", p, s.Name)
	}
	if s.MaxMessageBytes < 0 {
		return fmt.Errorf("%s (%s): max.message.bytes must not be negative", p, s.Name)
	}
	return nil
}

// configs returns the topic configs s sets, in a stable order.
func (s TopicSpec) configs() []kafkago.ConfigEntry {
	var out []kafkago.ConfigEntry
	switch {
	case s.Retention < 0:
		out = append(out, kafkago.ConfigEntry{ConfigName: configRetention, ConfigValue: "-1"})
	case s.Retention > 0:
		out = append(out, kafkago.ConfigEntry{ConfigName: configRetention, ConfigValue: strconv.FormatInt(s.Retention.Milliseconds(), 10)})
	}
	if s.CompressionType != "" {
		out = append(out, kafkago.ConfigEntry{ConfigName: configCompression, ConfigValue: s.CompressionType})
	}
	if s.MaxMessageBytes > 0 {
		out = append(out, kafkago.ConfigEntry{ConfigName: configMaxMessage, ConfigValue: strconv.FormatInt(int64(s.MaxMessageBytes), 10)})
	}
	return out
}

// DescribeTopicRequests describes, for a dry run, what EnsureTopics asks
// the cluster for. It contacts nothing.
func DescribeTopicRequests(specs []TopicSpec) string {
	var b strings.Builder
	for _, s := range specs {
		fmt.Fprintf(&b, "CreateTopics %s partitions=%s replication_factor=%s", s.Name,
			orDefault(s.Partitions), orDefault(s.ReplicationFactor))
		for _, c := range s.configs() {
			fmt.Fprintf(&b, " %s=%s", c.ConfigName, c.ConfigValue)
		}
		b.WriteString("\n")
	}
	b.WriteString("# existing topics are left unchanged; settings that differ are reported, never altered\n")
	return b.String()
}

func orDefault(n int) string {
	if n < 0 {
		return "broker-default"
	}
	return strconv.Itoa(n)
}

// TopicDiff is one setting of an existing topic that differs from its spec.
type TopicDiff struct {
	Topic, Setting, Want, Have string
}

// TopicDriftError lists existing topics whose settings differ from their
// specs. EnsureTopics reports them and changes nothing: altering
// partitions re-maps keys, and retention is the operator's call.
type TopicDriftError struct{ Diffs []TopicDiff }

// Error lists every difference and says nothing was altered.
func (e *TopicDriftError) Error() string {
	parts := make([]string, len(e.Diffs))
	for i, d := range e.Diffs {
		parts[i] = fmt.Sprintf("%s %s is %s, want %s", d.Topic, d.Setting, d.Have, d.Want)
	}
	return "kafka: existing topics differ from the flowship specs (left unchanged; alter them with kafka-configs/kafka-topics if wanted): " +
		strings.Join(parts, "; ")
}

// EnsureTopics creates the topics of specs that do not exist yet. It is
// idempotent: existing topics are returned in unchanged and never
// altered; if their settings differ from the specs, err is a
// *TopicDriftError listing the differences (created and unchanged are
// still filled in).
func EnsureTopics(ctx context.Context, conn Connection, specs []TopicSpec) (created, unchanged []string, err error) {
	if err := conn.validate("kafka."); err != nil {
		return nil, nil, err
	}
	for i, s := range specs {
		if err := s.validate(i); err != nil {
			return nil, nil, err
		}
	}
	d, err := conn.build("kafka.")
	if err != nil {
		return nil, nil, err
	}
	defer d.transport.CloseIdleConnections()
	cl := &kafkago.Client{Addr: d.addr, Transport: d.transport, Timeout: 30 * time.Second}
	existing, err := topicLayout(ctx, cl, specs)
	if err != nil {
		return nil, nil, err
	}
	var missing []TopicSpec
	for _, s := range specs {
		if _, ok := existing[s.Name]; !ok {
			missing = append(missing, s)
		}
	}
	created, raced, err := createTopics(ctx, cl, missing)
	if err != nil {
		return created, nil, err
	}
	var check []TopicSpec
	for _, s := range specs {
		if _, ok := existing[s.Name]; ok || slices.Contains(raced, s.Name) {
			unchanged = append(unchanged, s.Name)
			check = append(check, s)
		}
	}
	diffs, err := topicDrift(ctx, cl, check, existing)
	if err != nil {
		return created, unchanged, err
	}
	if len(diffs) > 0 {
		return created, unchanged, &TopicDriftError{Diffs: diffs}
	}
	return created, unchanged, nil
}

// layout is an existing topic's partition count and replication factor.
type layout struct{ partitions, replicas int }

func topicLayout(ctx context.Context, cl *kafkago.Client, specs []TopicSpec) (map[string]layout, error) {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: names})
	if err != nil {
		return nil, fmt.Errorf("kafka: reading topic metadata: %w; check kafka.brokers", err)
	}
	out := map[string]layout{}
	for _, t := range md.Topics {
		switch {
		case errors.Is(t.Error, kafkago.UnknownTopicOrPartition):
		case t.Error != nil:
			return nil, fmt.Errorf("kafka: topic %s: %w", t.Name, t.Error)
		default:
			l := layout{partitions: len(t.Partitions)}
			if len(t.Partitions) > 0 {
				l.replicas = len(t.Partitions[0].Replicas)
			}
			out[t.Name] = l
		}
	}
	return out, nil
}

// createTopics creates specs; topics someone else created meanwhile come
// back in raced.
func createTopics(ctx context.Context, cl *kafkago.Client, specs []TopicSpec) (created, raced []string, err error) {
	if len(specs) == 0 {
		return nil, nil, nil
	}
	req := &kafkago.CreateTopicsRequest{}
	for _, s := range specs {
		req.Topics = append(req.Topics, kafkago.TopicConfig{
			Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor, ConfigEntries: s.configs(),
		})
	}
	res, err := cl.CreateTopics(ctx, req)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka: creating topics: %w", err)
	}
	var errs []error
	for _, s := range specs {
		switch e := res.Errors[s.Name]; {
		case e == nil:
			created = append(created, s.Name)
		case errors.Is(e, kafkago.TopicAlreadyExists):
			raced = append(raced, s.Name)
		default:
			errs = append(errs, fmt.Errorf("kafka: creating topic %s: %w", s.Name, e))
		}
	}
	return created, raced, errors.Join(errs...)
}

// topicDrift compares existing topics with their specs.
func topicDrift(ctx context.Context, cl *kafkago.Client, specs []TopicSpec, lay map[string]layout) ([]TopicDiff, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	req := &kafkago.DescribeConfigsRequest{}
	for _, s := range specs {
		req.Resources = append(req.Resources, kafkago.DescribeConfigRequestResource{
			ResourceType: kafkago.ResourceTypeTopic, ResourceName: s.Name,
			ConfigNames: []string{configRetention, configCompression, configMaxMessage},
		})
	}
	res, err := cl.DescribeConfigs(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("kafka: describing topic configs: %w", err)
	}
	have := map[string]map[string]string{}
	for _, r := range res.Resources {
		if r.Error != nil {
			return nil, fmt.Errorf("kafka: describing topic %s: %w", r.ResourceName, r.Error)
		}
		have[r.ResourceName] = map[string]string{}
		for _, e := range r.ConfigEntries {
			have[r.ResourceName][e.ConfigName] = e.ConfigValue
		}
	}
	var diffs []TopicDiff
	for _, s := range specs {
		l, ok := lay[s.Name]
		if ok && s.Partitions > 0 && l.partitions != s.Partitions {
			diffs = append(diffs, TopicDiff{s.Name, "partitions", strconv.Itoa(s.Partitions), strconv.Itoa(l.partitions)})
		}
		if ok && s.ReplicationFactor > 0 && l.replicas != s.ReplicationFactor {
			diffs = append(diffs, TopicDiff{s.Name, "replication_factor", strconv.Itoa(s.ReplicationFactor), strconv.Itoa(l.replicas)})
		}
		for _, c := range s.configs() {
			if got := have[s.Name][c.ConfigName]; got != c.ConfigValue {
				diffs = append(diffs, TopicDiff{s.Name, c.ConfigName, c.ConfigValue, got})
			}
		}
	}
	return diffs, nil
}
