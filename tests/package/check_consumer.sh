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
# Only public headers are installed, and none of them includes a header that is not.
inc="$tmp/prefix/include"
if find "$inc/keel" -path '*/detail/*' -o -path '*/kernels/*' | grep -q .; then
  echo "check_consumer.sh: internal headers were installed:" >&2
  find "$inc/keel" -path '*/detail/*' -o -path '*/kernels/*' >&2
  exit 1
fi
missing=$(grep -rhoE '#include "keel/[^"]+"' "$inc/keel" | sed -E 's/#include "(.*)"/\1/' | sort -u |
          while read -r h; do [ -f "$inc/$h" ] || echo "$h"; done)
if [ -n "$missing" ]; then
  echo "check_consumer.sh: installed headers include headers that are not installed:" $missing >&2
  exit 1
fi
quietly cmake -S "$here/consumer" -B "$tmp/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix"
quietly cmake --build "$tmp/build"
LD_LIBRARY_PATH="$tmp/prefix/lib:${LD_LIBRARY_PATH:-}" "$tmp/build/consumer"
