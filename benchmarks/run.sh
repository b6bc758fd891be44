#!/usr/bin/env bash
# flowship benchmarks: one command, one run, flowship side by side with
# the parse floor (one gjson pass per line) and rsyslog, on lines with
# labels and policy traces on and off (see benchmarks/README.md).
#
#   benchmarks/run.sh            full run: two workloads of 1M flow lines, 3 runs, results/ updated
#   benchmarks/run.sh --smoke    about 30 s: two workloads of 25k lines, 1 run, nothing recorded
#   benchmarks/run.sh -- ARGS    extra flags for `fsbench run` (e.g. --skip rsyslog)
#
# Needs the real services (bash deploy/local/services.sh up) and, for the
# rsyslog peer, Debian's rsyslog and rsyslog-kafka packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
smoke=0
extra=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --) ;;
    *) extra+=("$arg") ;;
  esac
done

# Services: take the env of the local real services unless already set.
if [[ -z "${FLOWSHIP_KAFKA_BROKERS:-}" || -z "${FLOWSHIP_ES_URL:-}" ]]; then
  eval "$(bash "$root/deploy/local/services.sh" env)"
fi

bin="$(mktemp -d "${TMPDIR:-/tmp}/fsbench-bin-XXXXXX")"
trap 'rm -rf "$bin"' EXIT
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
(cd "$root" && go build -ldflags "-X main.version=$commit" -o "$bin/flowship" ./cmd/flowship)
(cd "$here" && go build -o "$bin/fsbench" ./cmd/fsbench)

rsyslogd=/usr/sbin/rsyslogd
if [[ ! -x "$rsyslogd" ]] || ! ls /usr/lib/*/rsyslog/omkafka.so >/dev/null 2>&1; then
  echo "run.sh: rsyslog with omkafka not installed (apt-get install -y rsyslog rsyslog-kafka); skipping that peer" >&2
  rsyslogd=""
fi

args=(run --flowship "$bin/flowship" --rsyslogd "$rsyslogd" --rsyslog-conf "$here/rsyslog/rsyslog.conf" --chart-values "$root/deploy/helm/flowship/values.yaml")
if (( smoke )); then
  args+=(--smoke --lines 25000 --windows 4 --runs 1)
  command="benchmarks/run.sh --smoke"
else
  args+=(--results "$here/results")
  command="benchmarks/run.sh"
fi
if (( ${#extra[@]} )); then
  args+=("${extra[@]}")
  command+=" ${extra[*]}"
fi
"$bin/fsbench" "${args[@]}" --command "$command"
