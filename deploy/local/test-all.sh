#!/usr/bin/env bash
# test-all.sh — the whole test suite, as `make test` and .ci/run run it:
#   1. install missing tools (deps.sh)
#   2. start Kafka $KAFKA_MAIN + Elasticsearch (services.sh up)
#   3. go vet (with and without the integration tag)
#   4. unit tests:        go test -race -count=1 ./...   (+ go test ./... in deploy/validate,
#      and the collector memory test without -race: its full 200k-line backlog)
#      and the container image (deploy/docker/build-image.sh, SMOKE=try)
#   5. integration tests: go test -race -count=1 -tags integration ./...      (Kafka $KAFKA_MAIN)
#   6. switch Kafka to $KAFKA_COMPAT and re-run every test named *Kafka*:
#                         go test -race -count=1 -tags integration -run Kafka ./...
#   7. a short fault campaign (deploy/chaos, docs/reliability.md): Kafka $KAFKA_MAIN as 3 KRaft
#      nodes, $CHAOS_FAULTS faults (FLOWSHIP_TEST_CHAOS_FAULTS; 0 skips it), seed
#      FLOWSHIP_TEST_CHAOS_SEED (default 4: 10 of the 12 fault types, all but collect-kill, which the
#      other collect faults include, and es-429, whose two Elasticsearch restarts would take the
#      step past ~5 minutes), Elasticsearch outages of 15 s
#   8. always stop the services, print the totals; exit 1 when any step failed.
# Naming convention: every integration test that talks to Kafka has "Kafka" in its name, so
# step 6 covers it. Full `go test -json` logs land in .services/logs/test-<step>.json.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT" || exit 1

KAFKA_MAIN=${FLOWSHIP_TEST_KAFKA_MAIN:-4.1.2}
KAFKA_COMPAT=${FLOWSHIP_TEST_KAFKA_COMPAT:-3.9.1}
CHAOS_FAULTS=${FLOWSHIP_TEST_CHAOS_FAULTS:-10}
CHAOS_SEED=${FLOWSHIP_TEST_CHAOS_SEED:-4}
STATE=${FLOWSHIP_STATE_DIR:-$ROOT/.services}
LOGS=$STATE/logs
TOTALS=$LOGS/test-totals.json
SERVICES=(bash "$HERE/services.sh")
START=$(date +%s)
FAILED=()

step() { printf '\n==> [%4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
fail() { FAILED+=("$1"); printf '==> FAILED: %s\n' "$1"; }

finish() {
	step "stopping services"
	"${SERVICES[@]}" down || fail "services down"
	step "done in $(($(date +%s) - START))s"
	if ((${#FAILED[@]})); then
		printf '==> failed steps: %s\n' "$(IFS=,; echo "${FAILED[*]}")"
	fi
	if [[ -x "$SUMMARY" ]]; then
		"$SUMMARY" -label total -print-totals "$TOTALS" || FAILED+=("tests")
	fi
	((${#FAILED[@]} == 0)) || exit 1
	exit 0
}

# gotest LABEL ARGS...: go test -json ARGS, shown terse, counted into $TOTALS.
gotest() {
	local label=$1
	shift
	step "go test $* ($label)"
	go test -json "$@" 2>&1 | tee "$LOGS/test-$label.json" | "$SUMMARY" -label "$label" -totals "$TOTALS"
	local st=("${PIPESTATUS[@]}")
	((st[0] == 0 && st[2] == 0)) || fail "$label tests"
}

use_services_env() {
	local env
	env=$("${SERVICES[@]}" env) || return 1
	eval "$env"
	printf '%s\n' "$env" | sed 's/PASSWORD=.*/PASSWORD=<set>/'
}

step "tool check"
bash "$HERE/deps.sh" || { echo "==> FAILED: installing missing tools"; exit 1; }
mkdir -p "$LOGS"
rm -f "$TOTALS"
SUMMARY=${FLOWSHIP_CACHE_DIR:-$ROOT/.cache}/bin/testsummary
go build -o "$SUMMARY" ./deploy/local/testsummary || { echo "==> FAILED: building deploy/local/testsummary"; exit 1; }
trap finish EXIT
trap 'exit 130' INT TERM

step "starting Kafka $KAFKA_MAIN and Elasticsearch"
services_ok=1
if ! FLOWSHIP_KAFKA_VERSION=$KAFKA_MAIN "${SERVICES[@]}" up || ! use_services_env; then
	services_ok=0
	fail "services up (Kafka $KAFKA_MAIN, Elasticsearch)"
fi

step "go vet ./..."
go vet ./... || fail "go vet"
go vet -tags integration ./... || fail "go vet -tags integration"

gotest unit -race -count=1 ./...
# The collector's memory regression test again without the race detector:
# there it feeds the full 200k-line backlog issue 12 asks for (100k under
# -race, where parsing is ten times slower), at the speed users run it.
gotest memory -count=1 -run '^TestCollectMemoryBound$' ./cmd/flowship

# deploy/validate is its own module (Kubernetes and Helm libraries stay out of the main one).
step "go test ./... in deploy/validate (manifests, Helm chart, example configs, Dockerfile)"
(cd deploy/validate && go test -json -count=1 ./...) 2>&1 | tee "$LOGS/test-deploy.json" | "$SUMMARY" -label deploy -totals "$TOTALS"
st=("${PIPESTATUS[@]}")
((st[0] == 0 && st[2] == 0)) || fail "deploy tests"

# The container image, built as deploy/docker/build-image.sh does for users (FROM scratch,
# nothing pulled), and `flowship version` run in it where a container runtime works.
step "container image: build with podman and run flowship version in it"
if timeout 300 env SMOKE=try VERSION=ci TAG=localhost/flowship:ci bash deploy/docker/build-image.sh; then
	podman --storage-driver vfs rmi localhost/flowship:ci >/dev/null 2>&1 || true
else
	fail "container image"
fi

if ((services_ok)); then
	gotest "integration-kafka-$KAFKA_MAIN" -race -count=1 -timeout 30m -tags integration ./...

	# The benchmark harness is its own module: its unit tests, then a short smoke run of the whole
	# harness against the running services (no numbers are recorded; benchmarks are not timed tests).
	step "benchmarks: unit tests and a smoke run of the harness"
	(cd benchmarks && go vet ./... && go test -json -count=1 ./...) 2>&1 | tee "$LOGS/test-benchmarks.json" | "$SUMMARY" -label benchmarks -totals "$TOTALS"
	st=("${PIPESTATUS[@]}")
	((st[0] == 0 && st[2] == 0)) || fail "benchmarks tests"
	bash benchmarks/run.sh --smoke || fail "benchmarks smoke run"

	step "switching Kafka to $KAFKA_COMPAT"
	if "${SERVICES[@]}" down kafka && FLOWSHIP_KAFKA_VERSION=$KAFKA_COMPAT "${SERVICES[@]}" up kafka && use_services_env; then
		gotest "integration-kafka-$KAFKA_COMPAT" -race -count=1 -timeout 30m -tags integration -run Kafka ./...
	else
		fail "services up (Kafka $KAFKA_COMPAT)"
	fi

	if ((CHAOS_FAULTS > 0)); then
		step "fault campaign: Kafka $KAFKA_MAIN on 3 nodes, $CHAOS_FAULTS faults, seed $CHAOS_SEED"
		if "${SERVICES[@]}" down kafka; then
			FLOWSHIP_KAFKA_VERSION=$KAFKA_MAIN go run ./deploy/chaos -seed "$CHAOS_SEED" -faults "$CHAOS_FAULTS" \
				-es-outage 15s -storm 10s -gap-min 2s -gap-max 6s -quiesce-timeout 3m || fail "fault campaign"
		else
			fail "fault campaign (stopping the single-node Kafka)"
		fi
	fi
else
	step "integration tests not run: the services did not start"
fi
