package kafka

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// deadLetterLog appends messages Kafka can never accept to a JSON-lines
// file, one object per message, fsynced before the message counts as
// settled. The file is opened on first use so a writer that never
// dead-letters needs no writable path.
type deadLetterLog struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// deadLetterEntry is one line of the dead-letter log.
type deadLetterEntry struct {
	Time      string          `json:"time"`   // when it was dead-lettered, RFC 3339
	Reason    string          `json:"reason"` // why Kafka cannot take it
	Topic     string          `json:"topic"`  // the topic it was meant for
	Size      int             `json:"size"`   // key + value + headers, bytes
	Headers   json.RawMessage `json:"headers"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value,omitempty"`      // the document, when it is valid JSON
	ValueText string          `json:"value_text,omitempty"` // the value as text otherwise
}

func newDeadLetterEntry(m kafkago.Message, reason string, now time.Time) deadLetterEntry {
	hdr := make(map[string]string, len(m.Headers))
	for _, h := range m.Headers {
		hdr[h.Key] = string(h.Value)
	}
	hj, _ := json.Marshal(hdr) // a map of strings always marshals
	e := deadLetterEntry{
		Time:    now.UTC().Format(time.RFC3339Nano),
		Reason:  reason,
		Topic:   m.Topic,
		Size:    messageSize(m),
		Headers: hj,
		Key:     string(m.Key),
	}
	if json.Valid(m.Value) {
		e.Value = m.Value
	} else {
		e.ValueText = string(m.Value)
	}
	return e
}

// write appends one entry per message and fsyncs.
func (d *deadLetterLog) write(msgs []kafkago.Message, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o750); err != nil {
			return fmt.Errorf("kafka.dead_letter_log: %w", err)
		}
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("kafka.dead_letter_log: %w", err)
		}
		d.f = f
	}
	now := time.Now()
	for _, m := range msgs {
		line, err := json.Marshal(newDeadLetterEntry(m, reason, now))
		if err != nil {
			return fmt.Errorf("kafka.dead_letter_log: encoding %s: %w", d.path, err)
		}
		if _, err := d.f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("kafka.dead_letter_log: writing %s: %w", d.path, err)
		}
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("kafka.dead_letter_log: syncing %s: %w", d.path, err)
	}
	return nil
}

func (d *deadLetterLog) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

// messageSize is an upper bound of kafka-go's own size accounting of m
// (varints counted at their widest), so a message within a limit by this
// measure is within it for kafka-go too.
func messageSize(m kafkago.Message) int {
	n := 22 + len(m.Key) + len(m.Value) + 5
	for _, h := range m.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}
