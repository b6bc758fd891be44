package kibana

import "github.com/flowship/flowship/pipeline"

// This file is the source of the shipped NDJSON: the data views, the
// visualizations and the dashboards, as data. gen_test.go renders it;
// validate_test.go checks the rendered files against the mappings.

// timeField is every data view's time field: Calico's own index patterns
// use start_time for all three kinds (spec §6.2), so existing habits and
// Calico-compatible naming keep working.
const timeField = "start_time"

// dataViews lists one data view per kind.
var dataViews = []dataViewDef{
	{Kind: pipeline.KindFlow, Name: "flowship flows", Formats: map[string]fieldFormat{
		"bytes_in": bytesFormat, "bytes_out": bytesFormat,
	}},
	{Kind: pipeline.KindL7, Name: "flowship L7 (HTTP)", Formats: map[string]fieldFormat{
		"bytes_in": bytesFormat, "bytes_out": bytesFormat,
		"duration_mean": nanosFormat, "duration_max": nanosFormat, "latency": nanosFormat,
	}},
	{Kind: pipeline.KindDNS, Name: "flowship DNS", Formats: map[string]fieldFormat{
		"latency_mean": nanosFormat, "latency_max": nanosFormat,
	}},
}

var (
	bytesFormat = fieldFormat{ID: "bytes"}
	nanosFormat = fieldFormat{ID: "duration", Params: map[string]any{
		"inputFormat": "nanoseconds", "outputFormat": "humanizePrecise", "outputPrecision": 1,
	}}
)

// Flow metrics shared by several visualizations.
var (
	connections = sum("1", "num_flows", "Connections")
	bytesIn     = sum("2", "bytes_in", "Bytes in")
	bytesOut    = sum("3", "bytes_out", "Bytes out")
)

// dashboards lists every dashboard with its panels, in file order.
var dashboards = []dashboardDef{
	{
		File: "flow-overview.ndjson", ID: "flowship-flow-overview", Title: "[flowship] Flow overview",
		Description: "Who talks to whom: traffic and connections over time, top namespace and workload pairs, top destination ports.",
		Panels: []panelDef{
			{W: 16, H: 8, Vis: visDef{ID: "flowship-flows-totals", Title: "[flowship] Flow totals", Kind: pipeline.KindFlow, Type: "metric",
				Aggs: []aggDef{connections, bytesIn, bytesOut}}},
			{W: 32, H: 8, Vis: visDef{ID: "flowship-flows-bytes-over-time", Title: "[flowship] Bytes over time", Kind: pipeline.KindFlow, Type: "line",
				Aggs: []aggDef{bytesIn, bytesOut, dateHistogram("4", "segment")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-flows-connections-over-time", Title: "[flowship] Connections over time by action", Kind: pipeline.KindFlow, Type: "histogram",
				Aggs: []aggDef{connections, dateHistogram("2", "segment"), terms("3", "group", "action", 3, "1", "Action")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-flows-top-ports", Title: "[flowship] Top destination ports", Kind: pipeline.KindFlow, Type: "histogram",
				Aggs: []aggDef{connections, terms("2", "segment", "dest_port", 15, "1", "Destination port"), terms("3", "group", "proto", 3, "1", "Protocol")}}},
			{W: 48, H: 15, Vis: visDef{ID: "flowship-flows-top-namespaces", Title: "[flowship] Top talkers by namespace", Kind: pipeline.KindFlow, Type: "table",
				Aggs: []aggDef{connections, bytesIn, bytesOut,
					terms("4", "bucket", "source_namespace", 15, "3", "Source namespace"),
					terms("5", "bucket", "dest_namespace", 10, "3", "Destination namespace")}}},
			{W: 48, H: 18, Vis: visDef{ID: "flowship-flows-top-workloads", Title: "[flowship] Top talkers by workload", Kind: pipeline.KindFlow, Type: "table",
				Aggs: []aggDef{connections, bytesIn, bytesOut,
					terms("4", "bucket", "source_namespace", 10, "3", "Source namespace"),
					terms("5", "bucket", "source_name_aggr", 5, "3", "Source"),
					terms("6", "bucket", "dest_namespace", 5, "3", "Destination namespace"),
					terms("7", "bucket", "dest_name_aggr", 5, "3", "Destination")}}},
		},
	},
	{
		File: "denied-flows.ndjson", ID: "flowship-denied-flows", Title: "[flowship] Denied flows",
		Description: "What was denied, from where to where, and by which policy (action:deny).",
		Panels: []panelDef{
			{W: 12, H: 8, Vis: visDef{ID: "flowship-denied-totals", Title: "[flowship] Denied totals", Kind: pipeline.KindFlow, Type: "metric", Query: "action:deny",
				Aggs: []aggDef{sum("1", "num_flows", "Denied connections"), count("2", "Denied flow records")}}},
			{W: 36, H: 8, Vis: visDef{ID: "flowship-denied-over-time", Title: "[flowship] Denied connections over time by source namespace", Kind: pipeline.KindFlow, Type: "histogram", Query: "action:deny",
				Aggs: []aggDef{sum("1", "num_flows", "Denied connections"), dateHistogram("2", "segment"), terms("3", "group", "source_namespace", 10, "1", "Source namespace")}}},
			{W: 48, H: 20, Vis: visDef{ID: "flowship-denied-table", Title: "[flowship] Denied flows: source, destination, policy", Kind: pipeline.KindFlow, Type: "table", Query: "action:deny",
				Aggs: []aggDef{sum("1", "num_flows", "Denied connections"),
					terms("2", "bucket", "source_namespace", 10, "1", "Source namespace"),
					terms("3", "bucket", "source_name_aggr", 10, "1", "Source"),
					terms("4", "bucket", "dest_namespace", 10, "1", "Destination namespace"),
					terms("5", "bucket", "dest_name_aggr", 10, "1", "Destination"),
					terms("6", "bucket", "dest_port", 5, "1", "Port"),
					terms("7", "bucket", "policy.tier", 3, "1", "Tier"),
					terms("8", "bucket", "policy.name", 3, "1", "Policy")}}},
			{W: 48, H: 14, Vis: visDef{ID: "flowship-denied-by-policy", Title: "[flowship] Denying policies", Kind: pipeline.KindFlow, Type: "histogram", Query: "action:deny",
				Aggs: []aggDef{sum("1", "num_flows", "Denied connections"), terms("2", "segment", "policy.name", 15, "1", "Policy"), terms("3", "group", "policy.tier", 5, "1", "Tier")}}},
		},
	},
	{
		File: "policy-board.ndjson", ID: "flowship-policy-board", Title: "[flowship] Policy board",
		Description: "Per tier, policy and policy kind (np, gnp, knp, kcnp, pro, eot, staged snp/sgnp/sknp): connections allowed, denied and passed by the deciding enforced policy (policy.*).",
		Panels: []panelDef{
			{W: 48, H: 20, Vis: visDef{ID: "flowship-policy-table", Title: "[flowship] Policy verdicts by tier and policy", Kind: pipeline.KindFlow, Type: "table",
				Aggs: []aggDef{connections, count("2", "Flow records"), sum("3", "num_flows_started", "Connections started"),
					terms("4", "bucket", "policy.tier", 10, "1", "Tier"),
					terms("5", "bucket", "policy.name", 25, "1", "Policy"),
					terms("7", "bucket", "policy.kind", 12, "1", "Kind"),
					terms("6", "bucket", "policy.action", 3, "1", "Action")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-policy-actions-over-time", Title: "[flowship] Verdicts over time", Kind: pipeline.KindFlow, Type: "histogram",
				Aggs: []aggDef{connections, dateHistogram("2", "segment"), terms("3", "group", "policy.action", 3, "1", "Action")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-policy-by-tier", Title: "[flowship] Verdicts by tier", Kind: pipeline.KindFlow, Type: "histogram",
				Aggs: []aggDef{connections, terms("2", "segment", "policy.tier", 10, "1", "Tier"), terms("3", "group", "policy.action", 3, "1", "Action")}}},
			{W: 48, H: 14, Vis: visDef{ID: "flowship-policy-top-policies", Title: "[flowship] Top policies by verdict", Kind: pipeline.KindFlow, Type: "histogram",
				Aggs: []aggDef{connections, terms("2", "segment", "policy.name", 15, "1", "Policy"), terms("3", "group", "policy.action", 3, "1", "Action")}}},
		},
	},
	{
		File: "l7-http.ndjson", ID: "flowship-l7-http", Title: "[flowship] L7 HTTP",
		Description: "HTTP requests by service, response codes, duration mean and max over time, server errors, collectors, protocols and TLS.",
		Panels: []panelDef{
			{W: 24, H: 14, Vis: visDef{ID: "flowship-l7-requests-over-time", Title: "[flowship] Requests over time by service", Kind: pipeline.KindL7, Type: "line",
				Aggs: []aggDef{sum("1", "count", "Requests"), dateHistogram("2", "segment"), terms("3", "group", "dest_service_name", 10, "1", "Service")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-l7-response-codes", Title: "[flowship] Response codes over time", Kind: pipeline.KindL7, Type: "histogram",
				Aggs: []aggDef{sum("1", "count", "Requests"), dateHistogram("2", "segment"), terms("3", "group", "response_code", 10, "1", "Response code")}}},
			{W: 48, H: 12, Vis: visDef{ID: "flowship-l7-duration", Title: "[flowship] Request duration (mean of means, max)", Kind: pipeline.KindL7, Type: "line",
				Aggs: []aggDef{avg("1", "duration_mean", "Mean duration"), maximum("2", "duration_max", "Max duration"), dateHistogram("3", "segment")}}},
			{W: 48, H: 16, Vis: visDef{ID: "flowship-l7-services", Title: "[flowship] Services", Kind: pipeline.KindL7, Type: "table",
				Aggs: []aggDef{sum("1", "count", "Requests"), avg("2", "duration_mean", "Mean duration"), maximum("3", "duration_max", "Max duration"), sum("4", "bytes_out", "Response bytes"),
					terms("5", "bucket", "dest_service_namespace", 10, "1", "Namespace"),
					terms("6", "bucket", "dest_service_name", 20, "1", "Service")}}},
			{W: 48, H: 14, Vis: visDef{ID: "flowship-l7-server-errors", Title: "[flowship] Server errors (5xx) by service and URL", Kind: pipeline.KindL7, Type: "table", Query: "response_code:5*",
				Aggs: []aggDef{sum("1", "count", "Requests"),
					terms("2", "bucket", "dest_service_name", 10, "1", "Service"),
					terms("3", "bucket", "method", 5, "1", "Method"),
					terms("4", "bucket", "url", 10, "1", "URL")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-l7-protocols", Title: "[flowship] Requests by collector and protocol", Kind: pipeline.KindL7, Type: "table",
				Aggs: []aggDef{sum("1", "count", "Requests"),
					terms("2", "bucket", "collector_type", 5, "1", "Collector"),
					terms("3", "bucket", "protocol", 5, "1", "Protocol"),
					terms("4", "bucket", "protocol_version", 5, "1", "Version")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-l7-tls", Title: "[flowship] TLS: versions, cipher suites, server names", Kind: pipeline.KindL7, Type: "table",
				Aggs: []aggDef{sum("1", "count", "Requests"),
					terms("2", "bucket", "tls_version", 5, "1", "TLS version"),
					terms("3", "bucket", "tls_cipher_suite", 5, "1", "Cipher suite"),
					terms("4", "bucket", "tls_sni", 10, "1", "Server name (SNI)")}}},
		},
	},
	{
		File: "dns.ndjson", ID: "flowship-dns-overview", Title: "[flowship] DNS",
		Description: "Top queried names, response codes, clients getting NXDomain, lookup latency.",
		Panels: []panelDef{
			{W: 24, H: 16, Vis: visDef{ID: "flowship-dns-top-qnames", Title: "[flowship] Top queried names", Kind: pipeline.KindDNS, Type: "table",
				Aggs: []aggDef{sum("1", "count", "Lookups"), avg("2", "latency_mean", "Mean latency"), maximum("3", "latency_max", "Max latency"),
					terms("4", "bucket", "qname", 20, "1", "Name")}}},
			{W: 24, H: 16, Vis: visDef{ID: "flowship-dns-rcodes", Title: "[flowship] Response codes", Kind: pipeline.KindDNS, Type: "histogram",
				Aggs: []aggDef{sum("1", "count", "Lookups"), terms("2", "segment", "rcode", 10, "1", "Response code"), terms("3", "group", "qtype", 5, "1", "Query type")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-dns-rcodes-over-time", Title: "[flowship] Response codes over time", Kind: pipeline.KindDNS, Type: "histogram",
				Aggs: []aggDef{sum("1", "count", "Lookups"), dateHistogram("2", "segment"), terms("3", "group", "rcode", 5, "1", "Response code")}}},
			{W: 24, H: 14, Vis: visDef{ID: "flowship-dns-latency", Title: "[flowship] Lookup latency (mean of means, max)", Kind: pipeline.KindDNS, Type: "line",
				Aggs: []aggDef{avg("1", "latency_mean", "Mean latency"), maximum("2", "latency_max", "Max latency"), dateHistogram("3", "segment")}}},
			{W: 48, H: 16, Vis: visDef{ID: "flowship-dns-nxdomain-clients", Title: "[flowship] Clients getting NXDomain", Kind: pipeline.KindDNS, Type: "table", Query: "rcode:NXDomain",
				Aggs: []aggDef{sum("1", "count", "Lookups"),
					terms("2", "bucket", "client_namespace", 10, "1", "Client namespace"),
					terms("3", "bucket", "client_name_aggr", 10, "1", "Client"),
					terms("4", "bucket", "qname", 10, "1", "Name")}}},
		},
	},
}
