#!/usr/bin/env bash
# Equal work for the order and catalogue benchmark: builds the database peers in
# bench/peers (Go with pgx and with go-sqlite3, Node with pg) and checks with
# scripts/peer_equivalence.py that for the same requests each answers what Swiftlet
# answers and leaves the same rows (orders, items, stock, timeout jobs, outbox events), on
# a fresh SQLite file each and, given a PostgreSQL URL, on a fresh database each (created
# next to the given one on the same server, dropped afterwards).
#
#   scripts/peer-equivalence.sh                                  # SQLite only
#   scripts/peer-equivalence.sh "postgres://swiftlet@127.0.0.1:5432/swiftlet_test?sslmode=disable"
#
# SWIFTLET_BIN: the binary (default .build/debug/swiftlet, as `swift build` leaves it).
# Under CI=true a peer that cannot be installed or built, or a missing PostgreSQL URL, fails
# the run; otherwise the check is skipped (or run on SQLite only) with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> peer-equivalence: %s\n' "$*" >&2; }

BIN=${SWIFTLET_BIN:-.build/debug/swiftlet}
[ -x "$BIN" ] || { log "$BIN not found; run swift build first"; exit 1; }
export SWIFTLET_BIN="$PWD/${BIN#./}"
[ "${BIN#/}" != "$BIN" ] && export SWIFTLET_BIN="$BIN"

. scripts/missing-tool.sh
bench/peers/db-peers.sh build >&2 || missing_tool "the peers" "peer equivalence" "apt-get, network?"

POSTGRES_URL=${1:-}
if [ -z "$POSTGRES_URL" ]; then
  if [ "${CI:-}" = "true" ]; then
    log "no PostgreSQL URL given"
    exit 1
  fi
  log "no PostgreSQL URL given: SQLite only"
elif ! command -v psql >/dev/null 2>&1; then
  log "psql is missing"
  exit 1
fi
started=$(date +%s)
python3 scripts/peer_equivalence.py "$POSTGRES_URL"
log "done in $(( $(date +%s) - started )) s"
