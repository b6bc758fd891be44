package schema

import (
	"bytes"
	"embed"
	"encoding/json"

	"github.com/flowship/flowship/pipeline"
)

// The mappings follow Calico's (spec §6.3): "dynamic": false, so unknown
// keys stay in _source without being indexed; Calico's field names, types,
// null_values and aliases; plus flowship's host, cluster, @timestamp,
// flowship.* and (flows) policy.*. Deviations:
//   - free-text keywords (process_name, process_args, dest_domains, url,
//     user_agent, rrsets.rdata) carry ignore_above 8191, so one huge value
//     cannot exceed Lucene's 32766-byte term limit and reject the document;
//   - DNS qname and rrsets.name use a lowercase normalizer (as Calico's),
//     named flowship_lowercase, but type, qclass, qtype, rcode and
//     rrsets.class/type are plain keywords without Calico's uppercase
//     normalizer: the "uppercase" token filter lives in the analysis-common
//     module, which the integ-test Elasticsearch distribution our tests run
//     against lacks, and Felix already writes these in canonical case
//     ("A", "IN", "NoError", "NXDomain"). Queries must use that case
//     (rcode:NXDomain);
//   - client_labels and servers.labels are "flattened" as in Calico (core
//     since Elasticsearch 8).
//
//go:embed mappings/*.json
var mappingFiles embed.FS

// Mapping returns the Elasticsearch mapping (the value of "mappings") for
// kind, or nil for an unknown kind. The caller owns the returned bytes.
func Mapping(kind pipeline.Kind) json.RawMessage {
	if !kind.Valid() {
		return nil
	}
	b, err := mappingFiles.ReadFile("mappings/" + string(kind) + ".json")
	if err != nil {
		return nil
	}
	return bytes.Clone(b)
}

// dnsSettings defines the normalizer the DNS mapping uses (spec §6.2).
// The lowercase filter is in Elasticsearch's core.
const dnsSettings = `{"analysis":{"normalizer":{` +
	`"flowship_lowercase":{"type":"custom","filter":["lowercase"]}}}}`

// Settings returns the index settings kind's mapping needs (the value of
// "settings": analysis normalizers only; shards, replicas and lifecycle
// belong to the index template), "{}" when none, nil for an unknown kind.
func Settings(kind pipeline.Kind) json.RawMessage {
	switch kind {
	case pipeline.KindDNS:
		return json.RawMessage(dnsSettings)
	case pipeline.KindFlow, pipeline.KindL7:
		return json.RawMessage(`{}`)
	}
	return nil
}
