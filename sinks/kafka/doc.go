// Package kafka is flowship's Kafka transport: the wire contract between
// a document Record and a Kafka message (contract.go, documented for third
// parties in docs/kafka-contract.md, which the tests keep true), the
// collector's Writer (a pipeline.Consumer), the indexer's consumer-group
// Reader, the dead-letter topic format and writer, and EnsureTopics for
// `flowship setup --kafka`.
//
// It uses segmentio/kafka-go. Delivery is at least once: the Writer acks a
// batch only after Kafka acknowledged all of it (acks=all) and the Reader
// commits a partition only up to its contiguous run of settled records;
// every document carries a stable id, so duplicates are harmless
// downstream.
package kafka
