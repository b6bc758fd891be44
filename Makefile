# flowship — everyday targets. `make test` is what CI runs (through .ci/run).
#
#   make test    install missing tools, start real Kafka 4.1 + Elasticsearch, go vet, unit tests,
#                integration tests, switch Kafka to 3.9 and re-run the *Kafka* integration tests,
#                always stop the services (deploy/local/test-all.sh)
#   make build   compile everything and bin/flowship
#   make lint    go vet + staticcheck
#   make up | down | status | env   the local services (deploy/local/services.sh)
#   make demo    start the services and run `flowship demo`
#   make chaos   the fault campaign on a 3-node Kafka + Elasticsearch: SEED=1 FAULTS=50, more flags in
#                CHAOS_ARGS (e.g. CHAOS_ARGS="-es-outage 15s"); see docs/reliability.md
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

SERVICES := bash deploy/local/services.sh
STATICCHECK_VERSION ?= v0.8.2

.PHONY: test build lint vet up down status env logs demo unit integration chaos

SEED ?= 1
FAULTS ?= 50
CHAOS_ARGS ?=

test:
	bash deploy/local/test-all.sh

build:
	go build ./...
	go build -o bin/flowship ./cmd/flowship

vet:
	go vet ./...
	go vet -tags integration ./...

lint: vet
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags integration ./...

# Unit tests only; no services needed.
unit:
	go test -race -count=1 ./...

# Integration tests against services already started with `make up`.
integration:
	eval "$$($(SERVICES) env)" && go test -race -count=1 -tags integration ./...

up:
	$(SERVICES) up

down:
	$(SERVICES) down

status:
	$(SERVICES) status

env:
	@$(SERVICES) env

logs:
	$(SERVICES) logs

# The main job: real Kafka + Elasticsearch when Java and Maven are there (they stay up afterwards
# for a look around; `make down` stops them), otherwise the embedded default.
demo:
	@if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1 && $(SERVICES) up; then \
		eval "$$($(SERVICES) env)" && go run ./cmd/flowship demo; \
	else \
		echo "Java 17+ and Maven (or the local services) are not available: running the embedded demo."; \
		go run ./cmd/flowship demo --embedded; \
	fi

# The fault campaign (deploy/chaos): starts a 3-node Kafka and Elasticsearch with services.sh unless
# they run (a single-node Kafka on the same ports must be stopped first: make down), stops what it
# started, exits 1 when any document is missing, duplicated or different.
chaos:
	go run ./deploy/chaos -seed $(SEED) -faults $(FAULTS) $(CHAOS_ARGS)
