#!/usr/bin/env bash
# PostgreSQL killed (`pg_ctl -m immediate`) and restarted while Swiftlet serves a page that
# reads it at every request: 503 meanwhile, served again without a restart, no request left
# waiting, and SIGTERM still ends the server (bench/postgres_restart.py). Runs on a
# throwaway PostgreSQL; installs what it needs; not part of the test command (the cut
# database is: StorageUnavailableTests, PostgresLeaseDeadlineTests).
#
#   bench/postgres-restart.sh
#   SKIP_BUILD=1 bench/postgres-restart.sh   # use the production binary already built
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
if [ "${SKIP_BUILD:-}" != "1" ]; then
  scripts/build-release.sh || fail "swift build failed"
fi
[ -x .build-static/release/swiftlet ] || fail "no production binary; run scripts/build-release.sh"

ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-postgres-restart
start_postgres
export BENCH_POSTGRES_DATA="$WORK/pg"
python3 "$HERE/postgres_restart.py"
