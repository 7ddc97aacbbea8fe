#!/usr/bin/env bash
# Orders/s for POST /api/v1/orders and the payment-notify handler's latency, on SQLite and
# on a throwaway PostgreSQL. Installs what it needs; not part of the test command.
#
#   bench/commerce.sh                  # 15 s per run
#   DURATION=5s bench/commerce.sh      # a quick look
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"
export SWIFT_DETERMINISTIC_HASHING=1
fail() { echo "bench: $*" >&2; exit 1; }

packages=()
command -v wrk >/dev/null 2>&1 || packages+=(wrk)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || packages+=(postgresql)
command -v psql >/dev/null 2>&1 || packages+=(postgresql-client)
if [ ${#packages[@]} -gt 0 ]; then
  apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null || fail "could not install ${packages[*]}"
fi
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import cryptography' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib cryptography || fail "pip install failed"
fi
# The production build (README, docs/operations.md), into its own scratch path.
scripts/build-release.sh || fail "swift build failed"

ulimit -n 65536 || true
WORK=$(mktemp -d /tmp/swiftlet-commerce-pg.XXXXXX)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
cleanup() {
  [ -d "$WORK/pg" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chmod 755 "$WORK"; mkdir "$WORK/pg"; chown postgres "$WORK" "$WORK/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg" -U swiftlet --auth=trust >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1" -l "$WORK/pg.log" -w start >/dev/null
psql -h 127.0.0.1 -p "$PG_PORT" -U swiftlet -d postgres -qc "CREATE DATABASE swiftlet_bench" >/dev/null
export BENCH_POSTGRES_URL="postgres://swiftlet@127.0.0.1:$PG_PORT/swiftlet_bench?sslmode=disable"
"$VENV/bin/python" "$HERE/commerce.py"
