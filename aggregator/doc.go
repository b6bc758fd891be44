// Package aggregator is flowship's filter-and-aggregate stage: it parses
// the raw lines of Felix's flows.log, l7.log and dns.log (schema.ParseX),
// drops what the filter rules exclude, merges the rest per aggregation
// key into event-time buckets, and emits one document per key and bucket.
// The same engine runs offline (the aggregate command: Consume the files,
// then Flush).
//
// # Keys
//
// Flows are keyed by Felix's FlowMeta after level masking (spec §3.2),
// computed separately for allowed and denied flows (a flow is "denied"
// when its trace has any deny, staged included: Felix's HasDenyRule), plus
// action, reporter, the service fields, process_name (Felix writes one
// line per process name, and "-" lines next to named ones, spec §2.5) and,
// with group_by_policy (default), the policy trace: all_policies and
// enforced_policies as sets. all_policies is keyed too because Felix
// splits a key's line per distinct all_policies set and every split line
// carries the full counters (spec §2.3): keying on it keeps each split in
// its own document instead of summing the copies. Without group_by_policy,
// split copies are recognised (same source identity, same Felix window,
// same counters), their counters kept once and their policies unioned.
// L7 keys follow spec §4.4 with Felix's knobs and URL algorithm; DNS keys
// are Felix's (client, question, rcode, rrsets) with level 1 masking the
// client name and IP. Masking is idempotent, so any level at or above the
// source line's level re-aggregates exactly. A key is a compact,
// deterministic byte string; it is the Kafka key (no node in it).
//
// # Buckets
//
// A line belongs to the bucket floor(end_time / window) * window: the
// window is aligned to the epoch and end_time is when Felix flushed the
// line, so every line of one Felix flush lands in one bucket (Felix
// windows are ~300 s with ±10% jitter, so a 5m bucket usually holds one
// Felix window per node, sometimes two or none). Inside a bucket:
// counters are summed; start_time/end_time are the min/max of the merged
// lines (the bucket bounds are in flowship.bucket_start/bucket_end);
// labels are intersected (projectcalico.org/ keys dropped once two lines
// merge); num_flows_started/completed are summed; num_flows is the sum
// over source line identities of (num_flows of its first window + the
// num_flows_started of its later windows): a connection carried from one
// Felix window into the next is counted once per bucket, while different
// source identities (masked together by the level) are distinct
// connections and simply add up. Other merges: TCP means weighted by
// num_flows, mins/maxes, sums; dest_domains, NAT ports, original IPs,
// process args and PIDs as capped sets; L7 count/bytes/latency summed,
// duration_max max, duration_mean count-weighted; DNS count summed,
// latency mean weighted by latency_count, servers unioned.
//
// # Flushing
//
// Per kind, the watermark is the newest end_time seen. A bucket's part
// is flushed when the watermark reaches bucket end + allowed_lateness.
// A line whose bucket was already flushed opens a new part of that bucket
// (part n gets its own _id), flushed when the watermark reaches its next
// window boundary: late lines are never dropped. Reaching max_open_keys
// flushes every open part early (the bucket continues in a new part).
// After idle_flush without input, the parts of buckets that ended at or
// before the watermark, or at least idle_flush before the wall clock, are
// flushed (Felix stamps end_time when it writes a line, so such a bucket is
// complete; this closes the newest bucket about idle_flush after its window
// ends instead of waiting for the next Felix flush); Flush flushes
// everything (offline).
// Lines outside the event-time sanity window (end_time 0, end_time before
// start_time, end_time beyond max_future of the clock, or on a UTC day
// past max_age: its daily index is past retention) are dead-lettered with
// the reason and count as done at once; they open no bucket and do not
// move the watermark.
// Documents go out in batches whose Ack stands for the bucket part; an
// input batch's Ack fires when every part its lines went into is
// acknowledged (filtered and bad lines count as done at once).
//
// # Exactly once across restarts
//
// The _id is a hash of (cluster, node, kind, key, bucket start, part),
// and the sinks write with create, so a document written twice is
// stored once. The result is exact when a restart rebuilds every
// not-yet-acknowledged part from exactly the same lines. That holds
// because:
//
//  1. The tailer resumes at the contiguous acknowledged offset O, and a
//     part is acknowledged only after all its lines are; so every line
//     of an unacknowledged part lies after O and is read again.
//  2. The aggregator tracks its own acknowledged prefix P of input
//     batches and keeps, as of P, the watermark, the open parts (index,
//     deadline) and the flushed-part counts; it hands this state to the
//     tailer (OnState) before the Acks that let O advance, so O <= P.
//     Lines between O and P are skipped by position; later lines see
//     exactly the watermark and part numbering the first run saw.
//  3. Flushes at the watermark, at max_open_keys and part numbers are
//     functions of that state and the lines. Flushes that are not (idle,
//     Flush) are recorded as events at the position of the line they
//     followed, pushed to the tailer at once, and replayed there.
//  4. Lines of parts acknowledged before the crash are skipped (the
//     state lists them); their part still opens and closes at the same
//     points, empty, so numbering stays aligned.
//
// What breaks exactness: a state lost or deleted (buckets open at the
// crash are then emitted again with fewer lines under the same _id —
// create keeps the first, fuller, document — or counted twice if that
// first one had not been written); an idle flush after the positions
// file was last written, followed by late lines for the flushed bucket,
// then a crash (the replay puts those late lines into the flushed part,
// whose first version the index keeps, so they are lost unless the part
// holding them had been written); a change of config (window, levels,
// keys, filters) between the runs. Positions are compared by file
// identity (Record.File), not path, so rotation between the runs moves
// nothing into the wrong part.
// The sanity window is judged by the clock: a replay that crosses the
// max_age day boundary, or reaches a line once refused as too far in the
// future, judges such a line differently from the first run.
// Buckets open at shutdown are not flushed: their lines are failed, so
// the next start rebuilds them whole.
package aggregator
