#!/usr/bin/env bash
# services.sh — a real Apache Kafka (KRaft) and a real Elasticsearch on loopback, for the
# integration tests and the demo. Everything comes from Maven Central and is cached in .cache/.
#
#   bash deploy/local/services.sh up     [kafka|es]   start (idempotent; waits until ready)
#   bash deploy/local/services.sh down   [kafka|es]   stop by pid (TERM, then KILL)
#   bash deploy/local/services.sh status [kafka|es]
#   bash deploy/local/services.sh logs   [kafka|es] [LINES]
#   bash deploy/local/services.sh reset  [kafka|es]   down + delete the data (topics, indices)
#   eval "$(bash deploy/local/services.sh env)"       export FLOWSHIP_* for the tests
#   bash deploy/local/services.sh kafka-node start|stop|kill|status I
#                                   one node of a cluster (FLOWSHIP_KAFKA_NODES>1): start and wait
#                                   until it is back, stop with TERM, SIGKILL, or show it
#
# Options (environment):
#   FLOWSHIP_KAFKA_VERSION  4.1.2 (default) | 3.9.1 (aliases 4.1, 3.9); one version runs at a
#                           time, each with its own data dir; switch with 'down kafka' + 'up kafka'
#   FLOWSHIP_ES_SECURITY    on (default: basic auth, user FLOWSHIP_ES_USER/FLOWSHIP_ES_PASSWORD,
#                           default flowship / flowship-test-password) | off (no auth)
#   FLOWSHIP_KAFKA_NODES    1 (default: one broker+controller, what the tests use) | N: N KRaft
#                           nodes (broker+controller each) on FLOWSHIP_KAFKA_PORT+0..N-1,
#                           controllers on FLOWSHIP_KAFKA_CONTROLLER_PORT (default port+100)+0..N-1,
#                           replication min(N,3), min.insync.replicas min(N-1,2)
#   FLOWSHIP_ES_WRITE_QUEUE N: thread_pool.write.size=1 and queue_size=N, to provoke 429s
#   FLOWSHIP_KAFKA_HEAP (512m), FLOWSHIP_ES_HEAP (1g), FLOWSHIP_JAVA_HOME (Java 17)
#   FLOWSHIP_CACHE_DIR (.cache), FLOWSHIP_STATE_DIR (.services)
# See deploy/local/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${FLOWSHIP_CACHE_DIR:-$ROOT/.cache}
STATE=${FLOWSHIP_STATE_DIR:-$ROOT/.services}
LOGS=$STATE/logs

# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"
# shellcheck source=lib/kafka.sh
source "$HERE/lib/kafka.sh"
# shellcheck source=lib/es.sh
source "$HERE/lib/es.sh"

usage() {
	sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# targets WHAT -> the services a subcommand applies to.
targets() {
	case "${1:-all}" in
	all | '') printf 'kafka es\n' ;;
	kafka) printf 'kafka\n' ;;
	es | elasticsearch) printf 'es\n' ;;
	*) die "unknown service '$1': want kafka or es" ;;
	esac
}

# with_lock CMD...: one services.sh at a time per checkout (several people share the services).
with_lock() {
	mkdir -p "$STATE" "$LOGS" "$CACHE"
	exec 9>"$STATE/.lock"
	if ! flock -w 600 9; then
		die "another services.sh holds $STATE/.lock for more than 10 minutes"
	fi
	"$@"
}

cmd_up() {
	local s
	for s in $(targets "${1:-}"); do "${s}_up"; done
	cmd_status "${1:-}"
}

cmd_down() {
	local s
	for s in $(targets "${1:-}"); do "${s}_down"; done
}

cmd_reset() {
	local s
	for s in $(targets "${1:-}"); do
		"${s}_down"
		"${s}_reset"
	done
}

cmd_status() {
	local s
	for s in $(targets "${1:-}"); do "${s}_status"; done
}

cmd_logs() {
	local s n=${2:-100}
	for s in $(targets "${1:-}"); do
		case "$s" in
		kafka)
			local f
			for f in "$LOGS/kafka.log" "$LOGS"/kafka-node-[0-9].log; do
				[[ -f "$f" ]] || continue
				printf '==> %s <==\n' "$f"
				tail -n "$n" "$f" 2>/dev/null || true
			done
			;;
		es)
			printf '==> %s <==\n' "$LOGS/es/flowship-local.log"
			tail -n "$n" "$LOGS/es/flowship-local.log" 2>/dev/null || tail -n "$n" "$LOGS/es-start.log" 2>/dev/null || true
			;;
		esac
	done
}

# cmd_kafka_node start|stop|kill|status I
cmd_kafka_node() {
	local op=${1:-} i=${2:-}
	[[ -n "$i" ]] || die "usage: services.sh kafka-node start|stop|kill|status I"
	case "$op" in
	start) kafka_node_start "$i" ;;
	stop) kafka_node_stop "$i" TERM ;;
	kill) kafka_node_stop "$i" KILL ;;
	status) kafka_node_status "$i" ;;
	*) die "kafka-node: unknown operation '$op': want start, stop, kill or status" ;;
	esac
}

cmd_env() {
	kafka_env
	es_env
}

main() {
	local cmd=${1:-}
	# Both servers want many file descriptors (ES warns below 65535); best effort.
	ulimit -n 65535 2>/dev/null || true
	shift || true
	case "$cmd" in
	up) with_lock cmd_up "$@" ;;
	down) with_lock cmd_down "$@" ;;
	reset) with_lock cmd_reset "$@" ;;
	status) cmd_status "$@" ;;
	logs) cmd_logs "$@" ;;
	env) cmd_env ;;
	kafka-node)
		if [[ "${1:-}" == status ]]; then cmd_kafka_node "$@"; else with_lock cmd_kafka_node "$@"; fi
		;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
