// Package synth generates realistic synthetic Calico logs: the flows.log,
// l7.log and dns.log lines Felix writes (spec §2, §4.5, §5) for a
// simulated cluster of namespaces, Deployments, StatefulSets, DaemonSets
// and CronJob pods, with policy tiers, staged policies, Services,
// external endpoints and denied traffic. Output is deterministic for a
// seed, schema-exact (Felix's keys in Felix's order, Go encoding/json
// formatting, null and "-" where Felix writes them), written in one burst
// per flush window with lumberjack-style rename rotation. It backs
// `flowship gen`, tests and benchmarks.
package synth
