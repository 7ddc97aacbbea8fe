#!/usr/bin/env bash
# Orders/s for POST /api/v1/orders and the payment-notify handler's latency, on SQLite and
# on a throwaway PostgreSQL. Installs what it needs; not part of the test command.
#
#   bench/commerce.sh                  # 15 s per run
#   DURATION=5s bench/commerce.sh      # a quick look
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"

install_missing wrk:wrk "$PG_SERVER":postgresql psql:postgresql-client
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import cryptography' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib cryptography || fail "pip install failed"
fi
# The production build (README, docs/operations.md), into its own scratch path.
scripts/build-release.sh || fail "swift build failed"

ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-commerce
start_postgres
"$VENV/bin/python" "$HERE/commerce.py"
