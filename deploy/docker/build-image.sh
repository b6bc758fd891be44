#!/usr/bin/env bash
# Builds the flowship image from deploy/docker/Dockerfile without pulling
# anything: the binary comes from build-binary.sh (static, CGO_ENABLED=0),
# the CA roots from this machine (Debian's ca-certificates), and the image
# is FROM scratch.
#   ENGINE    podman (default), buildah or docker
#   TAG       image tag (default flowship:$VERSION)
#   VERSION   as build-binary.sh (default: git describe, else dev)
#   SMOKE=1   also run `flowship version` in the image and check its output
#             (podman: with runc; see deploy/docker/README.md for why);
#             SMOKE=try: the same, but a runtime that cannot start
#             containers on this machine is reported instead of failing
# podman and buildah use the vfs storage driver, which works without
# overlay support in the kernel or a fuse helper.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ENGINE=${ENGINE:-podman}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
TAG=${TAG:-flowship:$VERSION}
CA=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[[ -r $CA ]] || { echo "build-image: no CA bundle at $CA (apt-get install ca-certificates)" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
OUT=$ctx/flowship VERSION=$VERSION bash deploy/docker/build-binary.sh
cp "$CA" "$ctx/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >"$ctx/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$ctx/group"
cp deploy/docker/Dockerfile "$ctx/Dockerfile"

args=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" -t "$TAG" -f "$ctx/Dockerfile")
case $ENGINE in
podman) podman --storage-driver vfs build "${args[@]}" "$ctx" ;;
buildah) buildah --storage-driver vfs bud "${args[@]}" "$ctx" ;;
docker) docker build "${args[@]}" "$ctx" ;;
*) echo "build-image: ENGINE must be podman, buildah or docker" >&2; exit 2 ;;
esac
echo "built image $TAG"

# SMOKE=1: the image must run; SMOKE=try: a container runtime that cannot
# start a container here (podman's exit status 125-127) is reported, not
# failed; a wrong output fails either way.
if [[ ${SMOKE:-0} == 1 || ${SMOKE:-0} == try ]]; then
	run=("$ENGINE" run --rm --network none)
	if [[ $ENGINE != docker ]]; then
		# See deploy/docker/README.md: crun refuses this sandbox's hybrid
		# cgroups, and raising RLIMIT_NOFILE/NPROC needs CAP_SYS_RESOURCE.
		nofile=$(ulimit -Hn)
		[[ $nofile == unlimited || $nofile -gt 65536 ]] && nofile=65536
		run=(podman --storage-driver vfs --runtime "${OCI_RUNTIME:-runc}" run --rm --network none
			--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
	fi
	st=0
	got=$("${run[@]}" "$TAG" version 2>&1) || st=$?
	if ((st >= 125 && st <= 127)) && [[ $SMOKE == try ]]; then
		echo "build-image: could not run a container here (exit $st): $got" >&2
		echo "build-image: image built; \`flowship version\` not run"
		exit 0
	fi
	if ((st != 0)) || [[ $got != "flowship $VERSION" ]]; then
		echo "build-image: \`flowship version\` in $TAG exited $st and printed '$got', want 'flowship $VERSION'" >&2
		exit 1
	fi
	echo "ran $TAG: $got"
fi
