#!/usr/bin/env bash
# The benchmark command: installs what it needs, builds Swiftlet (release) and every peer,
# runs bench.py (interleaved rounds, one server at a time) and writes docs/benchmarks.md,
# docs/benchmarks.csv and docs/benchmarks.png. Not part of the test command.
#
#   bench/run.sh                                  # everything: ~30 minutes on 2 cores after builds
#   ROUNDS=1 DURATION=3s STACKS="go-gin swiftlet" bench/run.sh   # a quick look
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"

install_missing wrk:wrk go:golang-go nginx:nginx node:nodejs psql:postgresql-client /usr/share/gocode/src/github.com/gin-gonic/gin:golang-github-gin-gonic-gin-dev /usr/share/nodejs/express/package.json:node-express "$PG_SERVER":postgresql

VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating the report venv (matplotlib)"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib || fail "pip install matplotlib failed"
fi
FASTAPI="$HERE/peers/python-fastapi"
if [ ! -x "$FASTAPI/.venv/bin/uvicorn" ]; then
  log "installing FastAPI + uvicorn"
  python3 -m venv "$FASTAPI/.venv" && "$FASTAPI/.venv/bin/pip" install -q -r "$FASTAPI/requirements.lock.txt" \
    || fail "pip install of FastAPI failed"
fi

log "building Swiftlet (release)"
# The production build (README, docs/operations.md), into its own scratch path.
scripts/build-release.sh || fail "swift build failed"
log "building peers"
(cd "$HERE/peers/go-nethttp" && ./build.sh) || fail "go net/http build failed"
(cd "$HERE/peers/go-gin" && ./build.sh) || fail "gin build failed"
(cd "$HERE/peers/swift-hummingbird" && swift build -c release) || fail "hummingbird peer build failed"
(cd "$HERE/peers/swift-vapor" && swift build -c release) || fail "vapor peer build failed"

ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-bench
start_postgres

OUT="$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)"
export OUT
# What metrics and tracing cost, in the same rounds as Gin: the node with metrics off and
# traced at 1 % and 100 % (on /json and /api/v1/me). BENCH_TELEMETRY= leaves them out.
export BENCH_TELEMETRY="${BENCH_TELEMETRY-1}"
python3 "$HERE/bench.py"
"$VENV/bin/python" "$HERE/report.py" "$OUT"
log "wrote docs/benchmarks.md, docs/benchmarks.csv, docs/benchmarks.png (raw: $OUT)"
