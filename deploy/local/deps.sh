#!/usr/bin/env bash
# deps.sh — install what `make test` / services.sh need and a fresh machine may lack.
# Runs apt-get (update once, then install) only when something is missing, and only as root;
# otherwise it names the missing packages and fails.
set -euo pipefail

# command -> Debian package that provides it
declare -A PKG=(
	[curl]=curl
	[unzip]=unzip
	[java]=openjdk-17-jre-headless
	[mvn]=maven
	[git]=git
	[make]=make
	[flock]=util-linux
	[runuser]=util-linux
	[setsid]=util-linux
	[useradd]=passwd
	[ss]=iproute2
	[ps]=procps
	[awk]=gawk
	[podman]=podman
	[buildah]=buildah
	[runc]=runc
	[update-ca-certificates]=ca-certificates
	[chromium]=chromium # headless browser for the UI's browser tests (ui/browser_integration_test.go)
)

missing=()
for cmd in "${!PKG[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
done
if ! command -v go >/dev/null 2>&1; then
	echo "[deps] ERROR: go not found; install Go 1.26 (see README.md Requirements)" >&2
	exit 1
fi
if ((${#missing[@]} == 0)); then
	echo "[deps] all tools present"
	exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
	echo "[deps] ERROR: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "[deps] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
