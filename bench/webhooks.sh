#!/usr/bin/env bash
# Webhook delivery measured on SQLite and a throwaway PostgreSQL: the outbox's cost on
# POST /api/v1/orders, event written → first attempt at RATE events/s, and sustained
# deliveries/s with the CPU time per delivery. Installs what it needs; not part of the
# test command.
#
#   bench/webhooks.sh                          # 15 s wrk runs, 1,000 events/s for 10 s
#   DURATION=5s PACE_SECONDS=5 bench/webhooks.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"

install_missing wrk:wrk go:golang-go "$PG_SERVER":postgresql psql:postgresql-client
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import cryptography' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib cryptography || fail "pip install failed"
fi
"$HERE/webhooks/build.sh" || fail "could not build hookbench"
scripts/build-release.sh || fail "swift build failed"

ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-webhooks
start_postgres
"$VENV/bin/python" "$HERE/webhooks.py"
