#!/usr/bin/env bash
# Goodput and latency of POST /api/v1/orders offered 3× a node's capacity, with adaptive
# load shedding off and on (bench/shedding.py). Installs what it needs; not part of the
# test command.
#
#   bench/shedding.sh                 # 10 s of overload per run
#   DURATION=5s bench/shedding.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"
fail() { echo "bench: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null; } \
  || fail "could not install go"
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import cryptography' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q cryptography || fail "pip install failed"
fi
"$HERE/guards/build.sh" || fail "could not build guardbench"
[ -n "${SKIP_BUILD:-}" ] || scripts/build-release.sh >/dev/null || fail "release build failed"
ulimit -n 65536 || true
"$VENV/bin/python" "$HERE/shedding.py"
