// Package elasticsearch is the indexer's Elasticsearch sink: it turns
// document Records into _bulk "create" requests with stable _ids, settles
// every document individually, and acks each incoming Batch exactly once.
//
// # Settlement
//
// Per document (bulk item):
//
//   - 2xx: created. 409 on create: a document with this _id is already in
//     its index (a replay): done.
//   - 429, 5xx, es_rejected_execution_exception and the other "not now"
//     errors (cluster blocks, missing index, missing privileges): sent
//     again, alone with the other retried documents, after an exponential
//     backoff with jitter. Retries do not stop while the sink runs.
//     Documents refused with 401, 403 or index_not_found wait for an
//     operator: they are counted by reason (Waiting, the gauge
//     flowship_es_waiting_documents), logged rate-limited per reason with
//     what to change, and Ready fails once they waited unready_after.
//   - other 4xx (document_parsing_exception, mapper_parsing_exception,
//     illegal_argument_exception, ...): dead-lettered.
//
// Per request: a connection error or timeout, 429, 5xx or any unexpected
// status retries every document of the request; 401/403 logs which
// credentials to check and retries; 413 and 400 split the request in
// halves until the culprit is alone, and a single document that still gets
// 413 or 400 is dead-lettered. Failures are logged at most every 30s per
// kind of failure. A Batch is acked with nil once every one of its
// documents is created, a conflict, or dead-lettered and acknowledged by
// the dead-letter consumer; if Run's context ends first it is acked with
// an error, so its source replays it (create + stable _id make the replay
// exact).
//
// Why not esutil.BulkIndexer: its OnSuccess/OnFailure callbacks do report
// each item, but it has no per-item retry (re-adding from OnFailure runs on
// the flushing worker and can block against its own full queue), reports a
// whole-request 401, 413 or 5xx as an opaque error for every item, cannot
// split a 413, and copies every document into its own buffer. The sink is
// therefore a small loop on the client's Bulk API (esapi.BulkRequest),
// with the transport's own retries disabled so that one loop owns retries,
// backoff and logs.
//
// # Dead letters
//
// A dead-lettered document is handed to the dead-letter consumer as a
// Record with every field of the original (Kind, Key, ID, Time, Node,
// Source, Offset, Line) and, as Value, the JSON envelope RejectedDocument
// (Encode writes it, ParseRejectedDocument reads it back):
//
//	{"index":"flowship-flows-cluster-2025.06.10","status":400,
//	 "error_type":"document_parsing_exception","reason":"...",
//	 "document":{...the original document...}}
//
// The Kafka dead-letter writer can copy index, status and reason into its
// dlq.* headers from this envelope, and Source into dlq.source_topic.
//
// # Index names
//
// Naming derives the daily index from the record's kind and event time
// (UTC); the retention package uses the same Naming for templates, ILM and
// expiry.
package elasticsearch
