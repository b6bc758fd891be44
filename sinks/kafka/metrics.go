package kafka

import (
	"errors"
	"fmt"
	"log/slog"

	kafkago "github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// writerMetrics are the Writer's instruments.
type writerMetrics struct {
	written    metric.Int64Counter     // flowship_kafka_records_written_total{kind}
	errors     metric.Int64Counter     // flowship_kafka_write_errors_total{reason}
	latency    metric.Float64Histogram // flowship_kafka_write_latency_seconds
	deadLetter metric.Int64Counter     // flowship_kafka_dead_letter_total{reason}
	inflight   metric.Int64UpDownCounter
}

func newWriterMetrics(m metric.Meter) (*writerMetrics, error) {
	var wm writerMetrics
	var errs [5]error
	wm.written, errs[0] = m.Int64Counter("flowship_kafka_records_written_total",
		metric.WithDescription("Records acknowledged by Kafka, by kind."))
	wm.errors, errs[1] = m.Int64Counter("flowship_kafka_write_errors_total",
		metric.WithDescription("Failed produce attempts, by reason (unreachable, too_large, broker); the records are retried."))
	wm.latency, errs[2] = m.Float64Histogram("flowship_kafka_write_latency_seconds",
		metric.WithDescription("Time from accepting a batch to Kafka acknowledging all of it."), metric.WithUnit("s"))
	wm.deadLetter, errs[3] = m.Int64Counter("flowship_kafka_dead_letter_total",
		metric.WithDescription("Messages Kafka can never accept, written to the dead-letter log, by reason."))
	wm.inflight, errs[4] = m.Int64UpDownCounter("flowship_kafka_inflight_batches",
		metric.WithDescription("Batches accepted by the Kafka writer and not yet acknowledged."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("kafka writer metrics: %w", err)
	}
	return &wm, nil
}

// readerMetrics are the Reader's instruments; lag is observed from the
// Reader's per-partition state.
type readerMetrics struct {
	read         metric.Int64Counter // flowship_kafka_records_read_total{topic}
	badMessages  metric.Int64Counter // flowship_kafka_bad_messages_total{topic}
	commits      metric.Int64Counter // flowship_kafka_commits_total
	commitErrors metric.Int64Counter // flowship_kafka_commit_errors_total
	fetchErrors  metric.Int64Counter // flowship_kafka_fetch_errors_total
	lag          metric.Int64ObservableGauge
}

func newReaderMetrics(m metric.Meter) (*readerMetrics, error) {
	var rm readerMetrics
	var errs [6]error
	rm.read, errs[0] = m.Int64Counter("flowship_kafka_records_read_total",
		metric.WithDescription("Records read from Kafka and handed on, by topic."))
	rm.badMessages, errs[1] = m.Int64Counter("flowship_kafka_bad_messages_total",
		metric.WithDescription("Messages that break the wire contract; logged and skipped, by topic."))
	rm.commits, errs[2] = m.Int64Counter("flowship_kafka_commits_total",
		metric.WithDescription("Successful offset commits."))
	rm.commitErrors, errs[3] = m.Int64Counter("flowship_kafka_commit_errors_total",
		metric.WithDescription("Failed offset commits; the offsets are committed later or replayed."))
	rm.fetchErrors, errs[4] = m.Int64Counter("flowship_kafka_fetch_errors_total",
		metric.WithDescription("Failed fetches and failed group joins; retried."))
	rm.lag, errs[5] = m.Int64ObservableGauge("flowship_kafka_consumer_lag_records",
		metric.WithDescription("Records from the first one not yet settled (indexed or dead-lettered) to the partition's high watermark at the last fetch, by topic and partition."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("kafka reader metrics: %w", err)
	}
	return &rm, nil
}

func kindAttr(k string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("kind", k))
}

func reasonAttr(r string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("reason", r))
}

func topicAttr(t string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("topic", t))
}

// kafkaGoLogger sends kafka-go's own chatter to slog at debug level; the
// Writer and Reader log what the user needs themselves.
func kafkaGoLogger(l *slog.Logger) kafkago.Logger {
	return kafkago.LoggerFunc(func(format string, args ...any) {
		l.Debug(fmt.Sprintf(format, args...), "component", "kafka-go")
	})
}
