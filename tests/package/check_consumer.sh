#!/usr/bin/env bash
# Installs keel from a build tree into a temporary prefix and builds + runs a tiny consumer
# project against it with find_package(keel CONFIG REQUIRED). The consumer asks for no C++ standard
# itself, so it gets exactly what a user's project gets from the exported target.
set -euo pipefail
build=${1:?usage: check_consumer.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Quiet on success; on failure the step's full output explains why.
quietly() {
  "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; echo "check_consumer.sh: failed: $*" >&2; exit 1; }
}
quietly cmake --install "$build" --prefix "$tmp/prefix"
quietly cmake -S "$here/consumer" -B "$tmp/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix"
quietly cmake --build "$tmp/build"
LD_LIBRARY_PATH="$tmp/prefix/lib:${LD_LIBRARY_PATH:-}" "$tmp/build/consumer"
