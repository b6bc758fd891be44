#!/usr/bin/env bash
# Go micro-benchmarks of the hot paths, with allocations (-benchmem):
# parse, key derivation, merge, document encoding, bulk-body building and
# Kafka encoding. Usage: benchmarks/micro.sh [-count N] [OUT_FILE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count=5
if [[ "${1:-}" == "-count" ]]; then count="$2"; shift 2; fi
out="${1:-/dev/stdout}"
cd "$root"
{
  echo "# go test -run '^\$' -bench . -benchmem -count $count (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(go version | cut -d' ' -f3), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
  go test -run '^$' -benchmem -count "$count" \
    -bench 'ParseFlow|ParseL7|ParseDNS|GJSONGetManyFlow|AppendFlowDoc|FlowDocFromView' ./schema/
  go test -run '^$' -benchmem -count "$count" \
    -bench 'FlowKey|MergeFlow|AggregateFlowLine|EmitFlowPart|Filter' ./aggregator/
  go test -run '^$' -benchmem -count "$count" -bench 'AppendCreate' ./sinks/elasticsearch/
  go test -run '^$' -benchmem -count "$count" -bench 'ToMessage|FromMessage|ZstdRecordSet' ./sinks/kafka/
  # The parse-and-key path allocates nothing per line: these tests fail if it does.
  go test -count 1 -run 'TestParseAllocatesNothing' ./schema/
  go test -count 1 -run 'TestAggregateLineAllocatesNothing' ./aggregator/
} 2>&1 | grep -v '^goos\|^goarch\|^pkg\|^cpu' > "$out"
# The indexer's per-document work: the bulk body of a flow document with its
# policy_hits (against schema.AppendWithPolicyHits, the reference), and the
# test that fails if it allocates.
{
  go test -run '^$' -benchmem -count "$count" -bench 'AppendWithPolicyHits' ./sinks/elasticsearch/
  go test -count 1 -run 'TestAppendWithPolicyHitsAllocatesNothing' ./sinks/elasticsearch/
} 2>&1 | grep -v '^goos\|^goarch\|^pkg\|^cpu' >> "$out"
