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
#
# An argument names another driver to run in the same setting (the peers built, the
# production binary, a throwaway PostgreSQL): bench/catalogue-rounds.sh passes
# catalogue_rounds.py.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"

install_missing wrk:wrk sqlite3:sqlite3 "$PG_SERVER":postgresql psql:postgresql-client
"$HERE/peers/db-peers.sh" build || fail "the peers could not be built"
release_build

DRIVER="${1:-orders_peers.py}"
ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory "swiftlet-${DRIVER%.py}"
start_postgres
export BENCH_POSTGRES_DATA="$WORK/pg"
python3 "$HERE/$DRIVER"
