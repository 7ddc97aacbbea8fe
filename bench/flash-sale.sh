#!/usr/bin/env bash
# The flash sale at full size: 10,000 buyers at once (a connection each) for 100 units, on
# SQLite, a throwaway PostgreSQL, and PostgreSQL + Redis. Reports the time until every
# buyer had an answer, answer-time percentiles, oversold units (must be 0) and the units
# back after the unpaid timeout. Installs what it needs; the scaled-down version (1,000
# buyers, 20 units) runs in the test command (FlashSaleTests, ThreeNodeRedisClusterTests).
#
#   bench/flash-sale.sh
#   BUYERS=20000 UNITS=500 bench/flash-sale.sh
#   SKIP_BUILD=1 bench/flash-sale.sh        # use the production binary already built
#   PROFILE_DIR=/tmp/p bench/flash-sale.sh  # also perf-record the server during each sale
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"

install_missing go:golang-go sqlite3:sqlite3 redis-server:redis-server "$PG_SERVER":postgresql psql:postgresql-client
release_build
export BUYERS_BIN=/tmp/swiftlet-flash-buyers
(cd "$HERE/flash-sale" && GO111MODULE=off go build -o "$BUYERS_BIN" buyers.go) || fail "the buyers could not be built"

# 10,000 connections arrive in the same millisecond: a listen queue that holds them all
# (the kernel caps Swiftlet's http.backlog at somaxconn), and descriptors for both ends.
sysctl -qw net.core.somaxconn=16384 net.ipv4.tcp_max_syn_backlog=16384 || echo "bench: could not raise somaxconn" >&2
ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-flash-sale
start_postgres
export BENCH_POSTGRES_DATA="$WORK/pg"
python3 "$HERE/flash_sale.py"
