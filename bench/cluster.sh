#!/usr/bin/env bash
# Several nodes, measured (about 5 minutes after the builds). Not part of the test command.
#
#  1. The Redis client beside redis-benchmark on the same server: SET and GET from one
#     connection with 16 commands per write (-c 1 -P 16), and GET one at a time (-P 1).
#  2. Logout on node A → refusal on node B (two nodes on PostgreSQL + Redis), over
#     TRIALS logouts; then the same with Redis stopped (the database-polling fallback).
#  3. GET /api/v1/me on one node with its cluster state on Redis beside the in-process
#     default (bench.py, interleaved rounds: req/s and CPU µs per request).
#
#   bench/cluster.sh                       # TRIALS=1000 ROUNDS=3
#   TRIALS=200 ROUNDS=1 DURATION=3s bench/cluster.sh
# Writes bench/results/cluster-<time>.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"
TRIALS=${TRIALS:-1000}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-1000000}
export ROUNDS

install_missing wrk:wrk redis-server:redis-server redis-benchmark:redis-tools psql:postgresql-client "$PG_SERVER":postgresql

if [ -z "${SKIP_BUILD:-}" ]; then
  log "building Swiftlet (release) and the Redis client benchmark"
  scripts/build-release.sh || fail "swift build failed"
  swift build -c release --product swiftlet-redis-bench --scratch-path .build-bench >/dev/null || fail "swiftlet-redis-bench build failed"
fi
SWIFTLET="$ROOT/.build-static/release/swiftlet"
CLIENT_BENCH="$ROOT/.build-bench/release/swiftlet-redis-bench"

ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-cluster
start_postgres
start_redis
mkdir -p "$HERE/results"
OUT="$HERE/results/cluster-$(date -u +%Y%m%dT%H%M%SZ).md"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

log "1. Redis client beside redis-benchmark ($ROUNDS rounds, $REQUESTS requests each)"
for round in $(seq "$ROUNDS"); do
  redis-benchmark -p "$REDIS_PORT" -c 1 -P 16 -n "$REQUESTS" -t set,get --csv 2>/dev/null \
    | awk -F'"' '/^"(SET|GET)"/ { print "server-" $2 "-P16," $4 }' >> "$WORK/redis.csv"
  redis-benchmark -p "$REDIS_PORT" -c 1 -P 1 -n $((REQUESTS / 10)) -t get --csv 2>/dev/null \
    | awk -F'"' '/^"GET"/ { print "server-GET-P1," $4 "," $10 * 1000 "," $14 * 1000 }' >> "$WORK/redis.csv"
  "$CLIENT_BENCH" "$BENCH_REDIS_URL" "$REQUESTS" 16 | sed 's/^/client-/' >> "$WORK/redis.csv"
done
redis_row() { grep "^$1," "$WORK/redis.csv" | cut -d, -f"$2" | median; }

start_node() { # name port [extra env…]
  local name=$1 port=$2; shift 2
  env SWIFTLET_STORAGE_ENGINE=postgres SWIFTLET_STORAGE_POSTGRES_URL="$BENCH_POSTGRES_URL" SWIFTLET_STORAGE_AUTO_MIGRATE=true \
    SWIFTLET_LOG_LEVEL=warning SWIFTLET_LOG_ACCESS_LOG=false SWIFTLET_DATA_DIRECTORY="$WORK/data" "$@" \
    "$SWIFTLET" serve --port "$port" > "$WORK/$name.log" 2>&1 &
  echo $! > "$WORK/$name.pid"
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return; sleep 0.1; done
  fail "node $name did not start: $(cat "$WORK/$name.log")"
}
stop_node() { kill "$(cat "$WORK/$1.pid")" 2>/dev/null; wait "$(cat "$WORK/$1.pid")" 2>/dev/null || true; }

log "2. logout on A → refused on B ($TRIALS trials with Redis, $((TRIALS / 10)) with Redis stopped)"
PORT_A=$(free_port); PORT_B=$(free_port)
start_node a "$PORT_A" SWIFTLET_REDIS_URL="$BENCH_REDIS_URL"
start_node b "$PORT_B" SWIFTLET_REDIS_URL="$BENCH_REDIS_URL"
WITH_REDIS=$(python3 "$HERE/revocation_latency.py" "$PORT_A" "$PORT_B" "$TRIALS")
kill "$(cat "$WORK/redis.pid")"; sleep 1
REDIS_DOWN=$(python3 "$HERE/revocation_latency.py" "$PORT_A" "$PORT_B" $((TRIALS / 10)))
stop_node a; stop_node b
start_redis

log "3. GET /api/v1/me: cluster state on Redis vs in-process"
BENCH_OUT="$WORK/me"
mkdir -p "$BENCH_OUT"
OUT="$BENCH_OUT" STACKS="swiftlet swiftlet-redis" ENDPOINTS="/api/v1/me" CONNS="${CONNS:-64 256}" python3 "$HERE/bench.py" >&2
ME_TABLE=$(python3 - "$BENCH_OUT" <<'PY'
import csv, os, statistics, sys
rows = list(csv.DictReader(open(os.path.join(sys.argv[1], "runs.csv"))))
def median(stack, conns, field):
    values = [float(r[field]) for r in rows if r["stack"] == stack and r["conns"] == conns]
    return statistics.median(values) if values else None
print("| connections | in-process req/s | Redis req/s | ratio | in-process CPU µs/req | Redis CPU µs/req | ratio |")
print("|---|---|---|---|---|---|---|")
for conns in sorted({r["conns"] for r in rows}, key=int):
    rps_a, rps_b = median("swiftlet", conns, "rps"), median("swiftlet-redis", conns, "rps")
    cpu_a, cpu_b = median("swiftlet", conns, "cpu_us_per_request"), median("swiftlet-redis", conns, "cpu_us_per_request")
    if None in (rps_a, rps_b, cpu_a, cpu_b):
        continue
    print(f"| {conns} | {rps_a:,.0f} | {rps_b:,.0f} | {rps_b / rps_a:.2f}× | {cpu_a:.1f} | {cpu_b:.1f} | {cpu_b / cpu_a:.2f}× |")
PY
)

ratio() { python3 -c "print(f'{float($1) / float($2):.2f}×')"; }
{
  echo "Measured with \`bench/cluster.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores shared by the servers, Redis and"
  echo "the load generators; medians of $ROUNDS rounds)."
  echo
  echo "### Redis client beside redis-benchmark (one connection)"
  echo
  echo "| test | redis-benchmark req/s | swiftlet-redis-bench req/s | ratio |"
  echo "|---|---|---|---|"
  for t in SET-P16 GET-P16 GET-P1; do
    s=$(redis_row "server-$t" 2); c=$(redis_row "client-$t" 2)
    echo "| $t | $s | $c | $(ratio "$c" "$s") |"
  done
  for t in SET GET; do
    s=$(redis_row "server-$t-P16" 2); c=$(redis_row "client-$t-distinct-P16" 2)
    echo "| $t-P16, a new key per command (client makes and encodes each) | $s | $c | $(ratio "$c" "$s") |"
  done
  echo
  echo "Single GET latency (-P 1): redis-benchmark p50 $(redis_row server-GET-P1 3) µs, p99 $(redis_row server-GET-P1 4) µs;" \
       "Swiftlet client p50 $(redis_row client-GET-P1 3) µs, p99 $(redis_row client-GET-P1 4) µs."
  echo
  echo "### Logout on node A → token refused on node B"
  echo
  echo "| Redis | trials | p50 ms | p90 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|---|"
  echo "| up | ${WITH_REDIS//,/ | } |"
  echo "| stopped (database polling) | ${REDIS_DOWN//,/ | } |"
  echo
  echo "### GET /api/v1/me on one node: Redis-backed cluster state vs in-process"
  echo
  echo "$ME_TABLE"
} > "$OUT"
cat "$OUT"
log "wrote $OUT"
