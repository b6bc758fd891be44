#!/usr/bin/env bash
# Builds bin/flowship exactly as deploy/docker/Dockerfile does, for CI and
# machines without a container engine. A test in deploy/validate keeps the
# go build command below identical to the Dockerfile's.
#   VERSION  version stamped into the binary (default: git describe, else dev)
#   OUT      output path (default: bin/flowship, relative to the repo root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
OUT=${OUT:-bin/flowship}
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o "$OUT" ./cmd/flowship
echo "built $OUT (flowship $VERSION)"
