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
source "$HERE/preamble.sh"

install_missing wrk:wrk "$PG_SERVER":postgresql psql:postgresql-client
release_build

ulimit -n 65536 || true
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-postgres-restart
start_postgres
export BENCH_POSTGRES_DATA="$WORK/pg"
python3 "$HERE/postgres_restart.py"
