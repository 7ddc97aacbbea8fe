#!/usr/bin/env bash
# The one test command: installs what the tests need (PostgreSQL, Redis, nginx) when missing,
# starts throwaway instances on loopback with their own data directory and ports, runs
# the whole suite against them, and stops them again.
#
#   scripts/test.sh                 # build + run every test
#   scripts/test.sh --filter NAME   # extra arguments go to `swift test`
#
# A full run then fuzzes the live API against its OpenAPI document on SQLite and on
# PostgreSQL (scripts/schemathesis.sh), runs the sandboxes against the real Python
# WeChat SDKs (scripts/sdk-conformance.sh) and tests the alerting rules with promtool
# (scripts/alert-rules.sh).
#
# Under CI=true a PostgreSQL or Redis that cannot be started fails the run, and so does a
# missing nginx, PyYAML, standardwebhooks or promtool (the tests that need them fail rather
# than skip).
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_DETERMINISTIC_HASHING=1

log() { printf '==> %s\n' "$*" >&2; }

need_packages=()
command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
{ [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; } || need_packages+=(postgresql)
command -v psql >/dev/null 2>&1 || need_packages+=(postgresql-client)
# TLS tests make certificates with openssl and try them with curl.
command -v openssl >/dev/null 2>&1 || need_packages+=(openssl)
command -v curl >/dev/null 2>&1 || need_packages+=(curl)
# A test run that outlives its time limit has its threads' stacks taken with gdb.
command -v gdb >/dev/null 2>&1 || need_packages+=(gdb)
python3 -m pip --version >/dev/null 2>&1 || need_packages+=(python3-pip)
# The SDK conformance run installs the SDKs into a venv.
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_packages+=(python3-venv)
# The cluster tests put nginx in front of the nodes (deploy/nginx/swiftlet-upstream.conf);
# the deployment test reads the Kubernetes manifests with PyYAML (python3 on PATH or the
# system one).
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || need_packages+=(nginx)
{ python3 -c 'import yaml' >/dev/null 2>&1 || /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1; } || need_packages+=(python3-yaml)
# scripts/alert-rules.sh checks and unit-tests the alerting rules with promtool;
# scripts/telemetry-check.sh runs Prometheus and an OTLP collector against a live server.
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || need_packages+=(prometheus)
if [ ${#need_packages[@]} -gt 0 ]; then
  log "installing ${need_packages[*]} with apt-get"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}" >/dev/null
  # The packaged Prometheus starts on install where the init policy lets it; the checks run
  # their own on free ports.
  if [[ " ${need_packages[*]} " == *" prometheus "* ]] && command -v service >/dev/null 2>&1; then
    for daemon in prometheus prometheus-node-exporter; do $SUDO service "$daemon" stop >/dev/null 2>&1 || true; done
  fi
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# The webhook signing tests have Standard Webhooks' reference library (PyPI
# standardwebhooks, for the python3 on PATH) verify what Swiftlet signs, and sign what
# Swiftlet verifies.
python3 -c 'import standardwebhooks' >/dev/null 2>&1 \
  || python3 -m pip install --quiet standardwebhooks >/dev/null 2>&1 \
  || python3 -m pip install --quiet --break-system-packages standardwebhooks >/dev/null 2>&1 \
  || log "could not install the Python package standardwebhooks (the webhook reference-library checks need it)"

. scripts/local-server.sh  # free_port

WORK=$(mktemp -d /tmp/swiftlet-test.XXXXXX)
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
chmod 755 "$WORK"

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  set +e
  [ -s "$WORK/session" ] && pkill -KILL -s "$(cat "$WORK/session")" 2>/dev/null
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
  [ -d "$WORK/pg" ] && as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
mkdir -p "$WORK/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK" "$WORK/pg"
as_postgres "$PG_BIN/initdb" -D "$WORK/pg" -U swiftlet --auth=trust >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg" \
  -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
  -l "$WORK/pg.log" -w start >/dev/null
psql -h 127.0.0.1 -p "$PG_PORT" -U swiftlet -d postgres -qc "CREATE DATABASE swiftlet_test" >/dev/null

log "starting Redis on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" >/dev/null
for _ in $(seq 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

export SWIFTLET_TEST_POSTGRES_URL="postgres://swiftlet@127.0.0.1:$PG_PORT/swiftlet_test?sslmode=disable"
export SWIFTLET_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

log "building"
swift build --build-tests

# Runs `swift test` in a session of its own and then kills what is left of that session: a
# test process that crashes would otherwise leave its children (servers, redis-server,
# nginx) running, loading the machine for everything after it.
#
# Each run has a time limit (TEST_PHASE_MINUTES, 8 by default; a run takes 1-2 minutes): a
# test that never ends would otherwise hold the whole command until CI's own limit and
# leave no word of which test it was. Past the limit the test process's threads are
# written down with gdb (where each one waits), the run is killed, the tests it started
# and never finished are named, and it counts as failed.
TEST_PHASE_MINUTES=${TEST_PHASE_MINUTES:-8}
run_tests() {
  local status=0 watchdog
  rm -f "$WORK/timed-out" "$WORK/stacks"
  touch "$WORK/phase-running"
  watch_phase $(( $(date +%s) + TEST_PHASE_MINUTES * 60 )) &
  watchdog=$!
  setsid --wait bash -c 'echo $$ > "$0"; exec swift test --skip-build "$@"' "$WORK/session" "$@" \
    2>&1 | tee "$WORK/tests.out" || status=$?
  rm -f "$WORK/phase-running"
  wait "$watchdog" || true
  if [ -s "$WORK/session" ]; then pkill -KILL -s "$(cat "$WORK/session")" 2>/dev/null || true; fi
  rm -f "$WORK/session"
  if [ -f "$WORK/timed-out" ]; then
    status=124
    log "the tests did not finish within ${TEST_PHASE_MINUTES} minutes and were stopped"
    { echo "run: swift test $* (stopped after ${TEST_PHASE_MINUTES} minutes); tests still running then:"
      python3 scripts/unfinished_tests.py "$WORK/tests.out" > "$WORK/unfinished" || true
      head -n 25 "$WORK/unfinished"
      [ "$(wc -l < "$WORK/unfinished")" -le 25 ] || echo "  … and $(( $(wc -l < "$WORK/unfinished") - 25 )) more"
      if [ -s "$WORK/stacks" ]; then
        echo "where the test process's threads waited (count × [thread name] innermost frames):"
        python3 scripts/thread_stacks.py "$WORK/stacks" 7 | head -n 30 | cut -c1-260
      fi
    } | tee -a "$WORK/failures" >&2
  fi
  # What failed is repeated at the very end of the run: CI keeps only the tail of a long log.
  if [ "$status" -ne 0 ]; then
    { echo "run: swift test $*"
      grep -E '✘|error:|Fatal error|Assertion failed' "$WORK/tests.out" | head -n 30 || true
    } >> "$WORK/failures"
  fi
  return "$status"
}

# The time limit of one run: at the deadline (while the run is still going), the stacks of
# the test process, then the kill.
watch_phase() {
  while [ "$(date +%s)" -lt "$1" ]; do
    sleep 1
    [ -f "$WORK/phase-running" ] || return 0
  done
  [ -s "$WORK/session" ] || return 0
  local session pid
  session=$(cat "$WORK/session")
  touch "$WORK/timed-out"
  pid=$(pgrep -s "$session" -f 'PackageTests' | head -n 1 || true)
  if [ -n "$pid" ] && command -v gdb >/dev/null 2>&1; then
    timeout 180 gdb -p "$pid" -batch -ex 'thread apply all bt 24' 2>/dev/null \
      | swift demangle --simplified > "$WORK/stacks" 2>/dev/null || true
  fi
  pkill -KILL -s "$session" 2>/dev/null || true
}
log "running tests (PostgreSQL: $SWIFTLET_TEST_POSTGRES_URL, Redis: $SWIFTLET_TEST_REDIS_URL)"
# Suites that run whole clusters of processes (three nodes and nginx, a node killed and
# restarted), and the realtime load tests (10,000 messages resumed on both engines, 1,000
# concurrent sockets, a 6 MB slow consumer), run after the rest and one at a time: beside
# the parallel in-process suites on two cores they would push those suites' real-time
# bounds (timeouts, deadlines) over. So do the suites that run whole applications against
# real receivers and the WeChat sandbox for webhooks and subscribe messages (each case its
# own server, receiver and database, with hanging and slow receivers among them), the load
# shedding test (it overloads a node on purpose), the WeChat and WeChat Pay breakers' hang
# tests (they count calls against a sandbox that answers after the client's timeout, 250 ms
# for WeChat Pay), and the metrics cardinality test (10,000 requests to invented paths).
MULTI_PROCESS_SUITES=(ThreeNodeClusterTests ThreeNodeRedisClusterTests CrashRecoveryTests WebhookCrashTests RealtimeGatewayTests
  RealtimeDeliveryTests WebhookDeliveryTests WebhookEndToEndTests SubscribeEndToEndTests SubscribeMessageClientTests
  LoadSheddingTests WeChatBreakerTests WeChatPayBreakerTests MetricsCardinalityTests)
if [ $# -eq 0 ]; then
  skip=$(IFS='|'; echo "${MULTI_PROCESS_SUITES[*]}")
  # Every phase runs even after one fails, so one run shows every failure; the run fails
  # at the end.
  tests_status=0
  run_tests --skip "$skip" || tests_status=1
  for suite in "${MULTI_PROCESS_SUITES[@]}"; do
    log "running $suite"
    run_tests --filter "$suite" || { tests_status=1; log "$suite failed"; }
  done
else
  run_tests "$@"
fi

# The API contract, fuzzed against the live server on both engines (skipped for a
# filtered run: it tests the whole API, not the selected tests).
if [ $# -eq 0 ]; then
  log "fuzzing the API against its OpenAPI document (SQLite, then PostgreSQL)"
  fuzz_status=0
  scripts/schemathesis.sh sqlite || fuzz_status=1
  scripts/schemathesis.sh postgres "$SWIFTLET_TEST_POSTGRES_URL" || fuzz_status=1
  log "the sandboxes against the WeChat SDKs teams use (scripts/sdk-conformance.sh)"
  scripts/sdk-conformance.sh || fuzz_status=1
  log "the alerting rules with promtool (scripts/alert-rules.sh)"
  scripts/alert-rules.sh || fuzz_status=1
  log "metrics and traces against Prometheus and an OTLP collector (scripts/telemetry-check.sh)"
  scripts/telemetry-check.sh || fuzz_status=1
  scripts/peer-equivalence.sh "$SWIFTLET_TEST_POSTGRES_URL" || fuzz_status=1
  if [ "$tests_status" -ne 0 ]; then
    log "some tests failed; what they printed of it:"
    head -n 120 "$WORK/failures" >&2 || true
  fi
  exit $((fuzz_status | tests_status))
fi
