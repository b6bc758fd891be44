package kafka

import (
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// Config configures the Writer. Error messages name keys under "kafka.".
type Config struct {
	Connection `yaml:",inline"`
	// Topics per kind. Defaults: flowship.flows, flowship.l7, flowship.dns, flowship.dlq.
	Topics Topics `yaml:"topics"`
	// Compression codec: none, gzip, snappy, lz4 or zstd. Default zstd.
	Compression string `yaml:"compression"`
	// CompressionLevel trades CPU for size with zstd and gzip: fastest,
	// default, better or best (ignored by snappy, lz4 and none). Default
	// default: on record sets of 500 flow documents zstd fastest saves
	// only 1-2% of the compression CPU (2.35 against 2.40 µs a document)
	// for 9% more bytes, while better costs twice the CPU for 13% fewer
	// bytes (BenchmarkZstdRecordSet). Each Writer has its own codec.
	CompressionLevel string `yaml:"compression_level"`
	// BatchSize is the most messages in one produce batch per partition. Default 1000.
	BatchSize int `yaml:"batch_size"`
	// BatchBytes bounds one produce batch per partition, uncompressed. Default 1MiB;
	// must be at least max_message_bytes.
	BatchBytes pipeline.ByteSize `yaml:"batch_bytes"`
	// Linger is how long a partial batch waits for more messages. Default 10ms.
	Linger time.Duration `yaml:"linger"`
	// MaxMessageBytes is the largest message sent; larger ones are dead-lettered
	// without a round trip. Keep it at or below the topics' max.message.bytes. Default 1MiB.
	MaxMessageBytes pipeline.ByteSize `yaml:"max_message_bytes"`
	// MaxInflightBatches bounds the batches accepted but not yet acknowledged by
	// Kafka; Consume blocks beyond it. Default 16.
	MaxInflightBatches int `yaml:"max_inflight_batches"`
	// WriteTimeout bounds one produce or metadata request. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxAttempts is how often kafka-go itself tries a batch (in order, per
	// partition) before flowship's own retry takes over. Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// Retry is flowship's backoff for writes that kafka-go gave up on; it
	// retries until shutdown and never drops. Defaults: initial 100ms, max 30s.
	Retry RetryConfig `yaml:"retry"`
	// DeadLetterLog is the JSON-lines file that receives messages Kafka can
	// never accept (too large). Default /var/lib/flowship/kafka-dead-letter.jsonl.
	DeadLetterLog string `yaml:"dead_letter_log"`
	// FlushTimeout is how long, at shutdown, in-flight batches may still be
	// acknowledged before the rest are failed back to the source. Default 5s.
	FlushTimeout time.Duration `yaml:"flush_timeout"`
}

// RetryConfig is exponential backoff with jitter.
type RetryConfig struct {
	Initial time.Duration `yaml:"initial"` // first delay; default 100ms
	Max     time.Duration `yaml:"max"`     // longest delay; default 30s
}

func (r RetryConfig) backoff() pipeline.Backoff {
	return pipeline.Backoff{Initial: r.Initial, Max: r.Max}
}

func (r RetryConfig) validate(p string) error {
	if r.Initial <= 0 {
		return fmt.Errorf("%sretry.initial: must be positive, e.g. 100ms", p)
	}
	if r.Max < r.Initial {
		return fmt.Errorf("%sretry.max: must be at least retry.initial (%s)", p, r.Initial)
	}
	return nil
}

// DefaultConfig returns the writer defaults; only Brokers must be added.
func DefaultConfig() Config {
	return Config{
		Connection:         defaultConnection(),
		Topics:             DefaultTopics(),
		Compression:        "zstd",
		CompressionLevel:   LevelDefault,
		BatchSize:          1000,
		BatchBytes:         1 << 20,
		Linger:             10 * time.Millisecond,
		MaxMessageBytes:    1 << 20,
		MaxInflightBatches: 16,
		WriteTimeout:       10 * time.Second,
		MaxAttempts:        5,
		Retry:              RetryConfig{Initial: 100 * time.Millisecond, Max: 30 * time.Second},
		DeadLetterLog:      "/var/lib/flowship/kafka-dead-letter.jsonl",
		FlushTimeout:       5 * time.Second,
	}
}

var codecs = map[string]kafkago.Compression{
	"none":   0,
	"gzip":   kafkago.Gzip,
	"snappy": kafkago.Snappy,
	"lz4":    kafkago.Lz4,
	"zstd":   kafkago.Zstd,
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	const p = "kafka."
	if err := c.Connection.validate(p); err != nil {
		return err
	}
	if err := c.Topics.validate(p); err != nil {
		return err
	}
	if _, ok := codecs[c.Compression]; !ok {
		return fmt.Errorf("%scompression: %q is not supported; use none, gzip, snappy, lz4 or zstd", p, c.Compression)
	}
	if err := validCompressionLevel(p, c.CompressionLevel); err != nil {
		return err
	}
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("%sbatch_size: must be at least 1", p)
	case c.MaxMessageBytes < 1024:
		return fmt.Errorf("%smax_message_bytes: must be at least 1KiB", p)
	case c.BatchBytes < c.MaxMessageBytes:
		return fmt.Errorf("%sbatch_bytes: must be at least max_message_bytes (%s)", p, c.MaxMessageBytes)
	case c.Linger <= 0:
		return fmt.Errorf("%slinger: must be positive, e.g. 10ms", p)
	case c.MaxInflightBatches < 1:
		return fmt.Errorf("%smax_inflight_batches: must be at least 1", p)
	case c.WriteTimeout <= 0:
		return fmt.Errorf("%swrite_timeout: must be positive, e.g. 10s", p)
	case c.MaxAttempts < 1:
		return fmt.Errorf("%smax_attempts: must be at least 1", p)
	case c.DeadLetterLog == "":
		return fmt.Errorf("%sdead_letter_log: must name a file for messages Kafka can never accept", p)
	case c.FlushTimeout < 0:
		return fmt.Errorf("%sflush_timeout: must not be negative", p)
	}
	return c.Retry.validate(p)
}

// Start offsets for a consumer group without a committed offset.
const (
	StartFirst = "first"
	StartLast  = "last"
)

// ReaderConfig configures the Reader. Error messages name keys under "kafka.".
type ReaderConfig struct {
	Connection `yaml:",inline"`
	// GroupID is the consumer group. Default flowship-indexer.
	GroupID string `yaml:"group_id"`
	// Topics to consume. Default the three kind topics.
	Topics []string `yaml:"topics"`
	// MinBytes a fetch waits for (up to max_wait). Default 1B.
	MinBytes pipeline.ByteSize `yaml:"min_bytes"`
	// MaxBytes one fetch returns per partition. Default 10MiB.
	MaxBytes pipeline.ByteSize `yaml:"max_bytes"`
	// MaxWait is the longest a fetch waits for min_bytes. Default 500ms.
	MaxWait time.Duration `yaml:"max_wait"`
	// BatchSize is the most records handed on in one batch. Default 1000.
	BatchSize int `yaml:"batch_size"`
	// BatchBytes bounds the values in one batch. Default 5MiB.
	BatchBytes pipeline.ByteSize `yaml:"batch_bytes"`
	// Linger is how long a partial batch waits for more records. Default 1s.
	Linger time.Duration `yaml:"linger"`
	// CommitDelay is how long after a batch settles its offsets are
	// committed: the settles of that span share one commit, so a busy
	// partition commits a few times a second at most, and an indexer
	// that is killed loses at most this much progress. Default 200ms.
	CommitDelay time.Duration `yaml:"commit_delay"`
	// CommitInterval is how often settled offsets are committed besides
	// (again after a failed commit). Default 5s.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// StartOffset applies to partitions without a committed offset: first or last. Default first.
	StartOffset string `yaml:"start_offset"`
	// DrainTimeout is how long, at a rebalance or shutdown, in-flight batches
	// may still settle before the final commit. Keep it well under
	// rebalance_timeout. Default 10s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// SessionTimeout is how long the group coordinator waits for a member's
	// heartbeat before it gives the member's partitions to others: the time
	// a crashed indexer's partitions stay unread. Default 10s (the
	// broker's group.min.session.timeout.ms, 6s by default, is the floor).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout is how long members have to rejoin during a
	// rebalance (and so to drain and commit). Default 30s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
}

// DefaultReaderConfig returns the reader defaults; only Brokers must be added.
func DefaultReaderConfig() ReaderConfig {
	return ReaderConfig{
		Connection:       defaultConnection(),
		GroupID:          "flowship-indexer",
		Topics:           DefaultTopics().Kinds(),
		MinBytes:         1,
		MaxBytes:         10 << 20,
		MaxWait:          500 * time.Millisecond,
		BatchSize:        1000,
		BatchBytes:       5 << 20,
		Linger:           time.Second,
		CommitDelay:      200 * time.Millisecond,
		CommitInterval:   5 * time.Second,
		StartOffset:      StartFirst,
		DrainTimeout:     10 * time.Second,
		SessionTimeout:   10 * time.Second,
		RebalanceTimeout: 30 * time.Second,
	}
}

// Validate reports the first invalid setting, naming its key.
func (c ReaderConfig) Validate() error {
	const p = "kafka."
	if err := c.Connection.validate(p); err != nil {
		return err
	}
	if c.GroupID == "" {
		return fmt.Errorf("%sgroup_id: must not be empty", p)
	}
	if len(c.Topics) == 0 {
		return fmt.Errorf("%stopics: must not be empty", p)
	}
	for i, t := range c.Topics {
		if err := validTopicName(t); err != nil {
			return fmt.Errorf("%stopics[%d]: %w", p, i, err)
		}
	}
	switch {
	case c.MinBytes < 1:
		return fmt.Errorf("%smin_bytes: must be at least 1", p)
	case c.MaxBytes < c.MinBytes:
		return fmt.Errorf("%smax_bytes: must be at least min_bytes (%s)", p, c.MinBytes)
	case c.MaxWait <= 0:
		return fmt.Errorf("%smax_wait: must be positive, e.g. 500ms", p)
	case c.BatchSize < 1:
		return fmt.Errorf("%sbatch_size: must be at least 1", p)
	case c.BatchBytes < 1:
		return fmt.Errorf("%sbatch_bytes: must be positive", p)
	case c.Linger <= 0:
		return fmt.Errorf("%slinger: must be positive, e.g. 1s", p)
	case c.CommitDelay <= 0:
		return fmt.Errorf("%scommit_delay: must be positive, e.g. 200ms", p)
	case c.CommitInterval <= 0:
		return fmt.Errorf("%scommit_interval: must be positive, e.g. 5s", p)
	case c.StartOffset != StartFirst && c.StartOffset != StartLast:
		return fmt.Errorf("%sstart_offset: %q is not supported; use first or last", p, c.StartOffset)
	case c.DrainTimeout < 0:
		return fmt.Errorf("%sdrain_timeout: must not be negative", p)
	case c.SessionTimeout < time.Second:
		return fmt.Errorf("%ssession_timeout: %s is too short; use at least the broker's group.min.session.timeout.ms (6s by default)", p, c.SessionTimeout)
	case c.RebalanceTimeout <= c.DrainTimeout:
		return fmt.Errorf("%srebalance_timeout: %s must exceed drain_timeout (%s), or a rebalance ends before batches settle", p, c.RebalanceTimeout, c.DrainTimeout)
	}
	return nil
}
