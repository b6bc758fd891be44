package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// TopicSetup configures the topics `flowship setup --kafka` creates
// (YAML section "topic_setup"). It applies to the three kind topics; the
// dead-letter topic gets one partition and its own retention.
type TopicSetup struct {
	// Partitions per kind topic: the indexer's parallelism. Default 6.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor of every topic; -1 takes the broker's
	// default.replication.factor. Default -1.
	ReplicationFactor int `yaml:"replication_factor"`
	// Retention of the kind topics (retention.ms): a buffer for the
	// indexer, not the archive. Default 72h.
	Retention time.Duration `yaml:"retention"`
	// DeadLetterRetention of the dead-letter topic. Default 336h (14 days).
	DeadLetterRetention time.Duration `yaml:"dead_letter_retention"`
	// CompressionType is the topics' compression.type; "producer" keeps
	// the writer's codec. Default "producer".
	CompressionType string `yaml:"compression_type"`
	// MaxMessageBytes is the topics' max.message.bytes; keep it above the
	// writer's max_message_bytes. Default 2MiB.
	MaxMessageBytes pipeline.ByteSize `yaml:"max_message_bytes"`
}

// DefaultTopicSetup returns the defaults documented on TopicSetup; they
// equal DefaultTopicSpecs.
func DefaultTopicSetup() TopicSetup {
	return TopicSetup{Partitions: 6, ReplicationFactor: -1, Retention: 72 * time.Hour,
		DeadLetterRetention: 14 * 24 * time.Hour, CompressionType: "producer", MaxMessageBytes: 2 << 20}
}

// Validate checks s; errors name the key under topic_setup.
func (s TopicSetup) Validate() error {
	var errs []error
	if s.Partitions < 1 {
		errs = append(errs, fmt.Errorf("topic_setup.partitions: %d must be at least 1", s.Partitions))
	}
	if s.ReplicationFactor == 0 || s.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("topic_setup.replication_factor: %d must be at least 1, or -1 for the broker default", s.ReplicationFactor))
	}
	switch s.CompressionType {
	case "producer", "uncompressed", "gzip", "snappy", "lz4", "zstd":
	default:
		errs = append(errs, fmt.Errorf("topic_setup.compression_type: %q is not producer, uncompressed, gzip, snappy, lz4 or zstd", s.CompressionType))
	}
	if s.MaxMessageBytes < 0 {
		errs = append(errs, errors.New("topic_setup.max_message_bytes: must not be negative"))
	}
	return errors.Join(errs...)
}

// Specs returns the specs of t's topics under s.
func (s TopicSetup) Specs(t Topics) []TopicSpec {
	spec := func(name string, partitions int, retention time.Duration) TopicSpec {
		return TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: s.ReplicationFactor,
			Retention: retention, CompressionType: s.CompressionType, MaxMessageBytes: s.MaxMessageBytes}
	}
	return []TopicSpec{
		spec(t.Flows, s.Partitions, s.Retention), spec(t.L7, s.Partitions, s.Retention), spec(t.DNS, s.Partitions, s.Retention),
		spec(t.DeadLetter, 1, s.DeadLetterRetention),
	}
}
