# shellcheck shell=bash
# Shared helpers for services.sh. Sourced, never executed.
#
# Layout (all paths absolute, all git-ignored):
#   $CACHE  (.cache/)     downloads: Kafka jars per version, the Elasticsearch zip, tool binaries.
#                         Maven's own local repository (~/.m2) is kept as well, so a fresh clone
#                         on the same machine does not download again either.
#   $STATE  (.services/)  pid files, data dirs (one per Kafka version), generated configs.
#   $LOGS   (.services/logs/)  kafka.log, es.log (+ es-start.log), one file per service.

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# pid_alive PID -> 0 when a process with that pid exists (and is not a zombie).
pid_alive() {
	local pid=$1 st
	[[ -n "$pid" ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	st=$(ps -o stat= -p "$pid" 2>/dev/null || true)
	[[ -n "$st" && "$st" != Z* ]]
}

# read_pid FILE -> prints the pid stored in FILE if that process is alive.
read_pid() {
	local f=$1 pid
	[[ -f "$f" ]] || return 1
	pid=$(tr -dc '0-9' <"$f")
	pid_alive "$pid" || return 1
	printf '%s\n' "$pid"
}

# port_open HOST PORT -> 0 when something accepts TCP connections there.
port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# port_owner PORT -> a human description of the listening process, best effort.
port_owner() {
	if command -v ss >/dev/null 2>&1; then
		ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
	fi
}

# require_free_port NAME HOST PORT: fail clearly when a foreign process holds the port.
require_free_port() {
	local name=$1 host=$2 port=$3 owner
	if port_open "$host" "$port"; then
		owner=$(port_owner "$port")
		die "$name: port $host:$port is already in use by a process this checkout did not start (${owner:-unknown owner}). Stop it first (if it is another checkout's services: bash <that checkout>/deploy/local/services.sh down), or pick other ports."
	fi
}

# stop_pid NAME PIDFILE [GRACE_SECONDS]: TERM, wait, KILL; removes the pid file.
stop_pid() {
	local name=$1 pidfile=$2 grace=${3:-30} pid i
	if ! pid=$(read_pid "$pidfile"); then
		rm -f "$pidfile"
		log "$name: not running"
		return 0
	fi
	log "$name: stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	if pid_alive "$pid"; then
		log "$name: pid $pid still alive after ${grace}s, sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
	fi
	pid_alive "$pid" && die "$name: could not stop pid $pid"
	rm -f "$pidfile"
	log "$name: stopped"
}

# java17_home -> a JDK/JRE home able to run Kafka and Elasticsearch 8 (Java 17+).
java_home() {
	local j
	if [[ -n "${FLOWSHIP_JAVA_HOME:-}" ]]; then
		printf '%s\n' "$FLOWSHIP_JAVA_HOME"
		return
	fi
	for j in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64; do
		[[ -x "$j/bin/java" ]] && { printf '%s\n' "$j"; return; }
	done
	j=$(command -v java) || die "java not found: install a Java 17+ runtime (apt-get install openjdk-17-jre-headless) or set FLOWSHIP_JAVA_HOME"
	j=$(readlink -f "$j")
	printf '%s\n' "${j%/bin/java}"
}

# mvn_fetch ARGS...: run Maven quietly in batch mode with the pinned dependency plugin.
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
mvn_fetch() {
	command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (apt-get install maven)"
	local out
	if ! out=$(mvn -B -q -ntp "$@" 2>&1); then
		printf '%s\n' "$out" | tail -n 30 >&2
		die "Maven could not fetch the artifacts (see above); Maven Central must be reachable"
	fi
}

# elapsed_since START_EPOCH_NS -> seconds with one decimal.
elapsed_since() {
	local now
	now=$(date +%s%N)
	awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'
}
