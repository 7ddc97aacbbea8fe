#!/usr/bin/env bash
# The guard rails' cost: server CPU µs per request on /json and /api/v1/me with nothing
# on, with a per-address rate limit (in process, and on Redis), and with request signing
# plus the limit, each run alone on a fresh server (release build, SQLite), 32 connections.
# Ratios are against "off". Installs what it needs; not part of the test command.
#
#   bench/guards.sh                 # 10 s per run
#   DURATION=5s bench/guards.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"
fail() { echo "bench: $*" >&2; exit 1; }
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}

command -v go >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null; } \
  || fail "could not install go"
command -v redis-server >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } \
  || fail "could not install redis-server"
"$HERE/guards/build.sh" || fail "could not build guardbench"
BIN=${SWIFTLET_BIN:-.build-static/release/swiftlet}
[ -n "${SWIFTLET_BIN:-}" ] || scripts/build-release.sh >/dev/null || fail "release build failed"

WORK=$(mktemp -d /tmp/swiftlet-guards.XXXXXX)
PORT=18391
REDIS_PORT=18392
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null

LIMITS='[{"name":"bench","routes":["GET /json","GET /api/v1/me"],"key":"ip","rate":1000000000,"period":1,"burst":1000000}]'
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME ENV… : one fresh server per variant, both paths measured on it.
run() {
  local name=$1
  shift
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data"
  env SWIFTLET_DATA_DIRECTORY="$WORK/data" SWIFTLET_LOG_LEVEL=warning SWIFTLET_LOG_ACCESS_LOG=false \
    SWIFTLET_BENCH_ENDPOINTS=true "$@" "$BIN" serve --port "$PORT" --storage sqlite --sqlite-path "$WORK/data/s.sqlite" \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  local token key secret created
  token=$(curl -s -X POST "http://127.0.0.1:$PORT/api/v1/auth/wechat/login" -d '{"code":"bench:1"}' | sed 's/.*"accessToken":"\([^"]*\)".*/\1/')
  created=$(env SWIFTLET_DATA_DIRECTORY="$WORK/data" SWIFTLET_LOG_LEVEL=warning "$BIN" admin signing-keys create --name bench \
    --storage sqlite --sqlite-path "$WORK/data/s.sqlite" 2>/dev/null)
  key=$(echo "$created" | head -1 | cut -f1)
  secret=$(echo "$created" | tail -1)
  local signing=()
  [ "${SIGNED:-}" = 1 ] && signing=(-key "$key" -secret "$secret")
  for path in /json /api/v1/me; do
    local auth=()
    [ "$path" = /api/v1/me ] && auth=(-bearer "$token")
    "$HERE/guards/guardbench" -url "http://127.0.0.1:$PORT" -path "$path" -conns "$CONNS" -duration 2s "${auth[@]}" "${signing[@]}" >/dev/null
    local before after result
    before=$(ticks "$SERVER")
    result=$("$HERE/guards/guardbench" -url "http://127.0.0.1:$PORT" -path "$path" -conns "$CONNS" -duration "$DURATION" "${auth[@]}" "${signing[@]}")
    after=$(ticks "$SERVER")
    python3 - "$name" "$path" "$result" "$before" "$after" "$HZ" >>"$WORK/rows" <<'PY'
import json, sys
name, path, result, before, after, hz = sys.argv[1:]
r = json.loads(result)
cpu_us = (int(after) - int(before)) / int(hz) * 1e6 / max(1, r["requests"])
print(json.dumps({"variant": name, "path": path, "rps": r["requests"] / r["seconds"], "cpu_us": cpu_us,
                  "p99_ms": r["p99_ms"], "non2xx": r["non2xx"]}))
PY
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=
}

run off
run "rate limit (in process)" SWIFTLET_RATE_LIMITS_ENABLED=true SWIFTLET_RATE_LIMITS_POLICIES="$LIMITS"
run "rate limit (Redis)" SWIFTLET_RATE_LIMITS_ENABLED=true SWIFTLET_RATE_LIMITS_POLICIES="$LIMITS" \
  SWIFTLET_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
SIGNED=1 run "signing + rate limit" SWIFTLET_RATE_LIMITS_ENABLED=true SWIFTLET_RATE_LIMITS_POLICIES="$LIMITS" \
  SWIFTLET_SIGNING_ROUTES="/json=required,/api/v1/me=required"

python3 - "$WORK/rows" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
base = {r["path"]: r for r in rows if r["variant"] == "off"}
print("| variant | path | req/s | CPU µs/req | × off | p99 ms | non-2xx |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    ratio = r["cpu_us"] / base[r["path"]]["cpu_us"]
    print(f"| {r['variant']} | {r['path']} | {r['rps']:,.0f} | {r['cpu_us']:.1f} | {ratio:.2f} | {r['p99_ms']:.1f} | {r['non2xx']} |")
PY
