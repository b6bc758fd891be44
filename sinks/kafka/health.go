package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// errorLogInterval is how often a persisting failure is logged again.
const errorLogInterval = 30 * time.Second

// health turns a stream of failures and successes into few, clear log
// lines: the first failure at once, then one line per interval while it
// lasts, naming the brokers and what to check, and one line on recovery.
type health struct {
	log     *slog.Logger
	what    string // "writes", "consumer group"
	brokers string
	every   time.Duration

	mu      sync.Mutex
	since   time.Time // start of the current failure; zero when healthy
	lastLog time.Time
}

func newHealth(log *slog.Logger, what string, brokers []string) *health {
	return &health{log: log, what: what, brokers: strings.Join(brokers, ","), every: errorLogInterval}
}

// fail records err and logs when due; it returns the metric reason.
func (h *health) fail(err error) string {
	reason := errorReason(err)
	now := time.Now()
	h.mu.Lock()
	first := h.since.IsZero()
	if first {
		h.since = now
	}
	due := first || now.Sub(h.lastLog) >= h.every
	if due {
		h.lastLog = now
	}
	failing := now.Sub(h.since).Round(time.Second)
	h.mu.Unlock()
	if !due {
		return reason
	}
	if first {
		h.log.Warn(fmt.Sprintf("kafka: %s to brokers %s failing; retrying, nothing is dropped", h.what, h.brokers),
			"brokers", h.brokers, "error", err.Error())
		return reason
	}
	h.log.Error(h.message(reason, failing, err), "brokers", h.brokers, "failing_for", failing.String(), "error", err.Error())
	return reason
}

func (h *health) message(reason string, failing time.Duration, err error) string {
	if reason == "unreachable" {
		return fmt.Sprintf("kafka: brokers %s unreachable for %s; check kafka.brokers and network policy", h.brokers, failing)
	}
	return fmt.Sprintf("kafka: %s to brokers %s failing for %s: %v; %s", h.what, h.brokers, failing, err, hint(err))
}

// ok records a success and logs the recovery of a failure.
func (h *health) ok() {
	h.mu.Lock()
	since := h.since
	h.since = time.Time{}
	h.mu.Unlock()
	if !since.IsZero() {
		h.log.Info(fmt.Sprintf("kafka: %s to brokers %s recovered", h.what, h.brokers),
			"brokers", h.brokers, "failed_for", time.Since(since).Round(time.Second).String())
	}
}

// errorReason classifies err for metrics: unreachable, too_large or broker.
func errorReason(err error) string {
	switch {
	case isTooLarge(err):
		return "too_large"
	case isNetworkError(err):
		return "unreachable"
	}
	return "broker"
}

func isTooLarge(err error) bool {
	return errors.Is(err, kafkago.MessageSizeTooLarge) || errors.Is(err, kafkago.RecordListTooLarge)
}

func isNetworkError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded)
}

// hint tells the user what to check for a broker-side error.
func hint(err error) string {
	switch {
	case errors.Is(err, kafkago.UnknownTopicOrPartition):
		return "create the topics with `flowship setup --kafka` or check kafka.topics"
	case errors.Is(err, kafkago.TopicAuthorizationFailed), errors.Is(err, kafkago.GroupAuthorizationFailed),
		errors.Is(err, kafkago.ClusterAuthorizationFailed):
		return "grant this client's principal access to the topics and group (Kafka ACLs)"
	case errors.Is(err, kafkago.SASLAuthenticationFailed), errors.Is(err, kafkago.UnsupportedSASLMechanism):
		return "check kafka.sasl (mechanism, username, password)"
	case errors.Is(err, kafkago.NotEnoughReplicas), errors.Is(err, kafkago.NotEnoughReplicasAfterAppend):
		return "the topic has fewer in-sync replicas than min.insync.replicas; check the brokers"
	}
	return "records are held and retried until Kafka accepts them"
}
