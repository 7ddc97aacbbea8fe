#!/usr/bin/env bash
# POST /api/v1/orders (64 connections) and GET /api/v1/products on Swiftlet beside Go and
# Node doing the same database work (bench/peers/go-orders, bench/peers/node-pg-orders),
# on SQLite and on a throwaway PostgreSQL: orders/s, p99, CPU µs per request, and Swiftlet's
# ratio to each peer. Installs what it needs; not part of the test command (the peers'
# equivalence is: scripts/peer-equivalence.sh).
#
#   bench/orders-peers.sh                    # 10 s per run
#   DURATION=30s bench/orders-peers.sh
#   SKIP_BUILD=1 bench/orders-peers.sh       # use the production binary already built
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"
export SWIFT_DETERMINISTIC_HASHING=1
fail() { echo "bench: $*" >&2; exit 1; }

packages=()
command -v wrk >/dev/null 2>&1 || packages+=(wrk)
command -v sqlite3 >/dev/null 2>&1 || packages+=(sqlite3)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || packages+=(postgresql)
command -v psql >/dev/null 2>&1 || packages+=(postgresql-client)
if [ ${#packages[@]} -gt 0 ]; then
  apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null || fail "could not install ${packages[*]}"
fi
"$HERE/peers/db-peers.sh" build || fail "the peers could not be built"
# The production build (README, docs/operations.md), into its own scratch path.
if [ "${SKIP_BUILD:-}" != "1" ]; then
  scripts/build-release.sh || fail "swift build failed"
fi
[ -x .build-static/release/swiftlet ] || fail "no production binary; run scripts/build-release.sh"

ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-orders-peers
start_postgres
export BENCH_POSTGRES_DATA="$WORK/pg"
python3 "$HERE/orders_peers.py"
