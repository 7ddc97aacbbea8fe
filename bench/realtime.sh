#!/usr/bin/env bash
# The realtime benchmark: Swiftlet's WebSocket gateway beside a Go (gorilla/websocket) and a
# Node (ws) peer speaking the same tiny protocol (bench/README.md, "Realtime"). Installs what
# it needs, builds the peers, the load generator and Swiftlet (release), then for each mode
# and each stack in turn starts a fresh server, drives it with bench/realtime/loadgen and
# stops it. Writes bench/results/realtime-<time>.md (raw JSON beside it). Not part of the
# test command.
#
#   bench/realtime.sh                         # 50,000 idle, 10,000 users, 15 s steps: ~25 minutes
#   QUICK=1 bench/realtime.sh                 # 5,000 idle, 1,000 users, 5 s steps: ~10 minutes
# (after the builds; longer while neighbours keep the machine busy: see QUIET_WAIT)
#   SWIFTLET_REALTIME=0 QUICK=1 bench/realtime.sh   # the peers only (prints a notice)
#   STACKS="go-ws swiftlet" MODES="delivery" bench/realtime.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"
# The command as given, for the results: the knobs below that were set, then the script.
KNOBS="QUICK IDLE_CONNS IDLE_SECONDS USERS RATES STEP P99_MAX MESSAGES RESUME_ROUNDS FOREIGN_MAX QUIET_WAIT MODES STACKS SWIFTLET_REALTIME SWIFTLET_BIN SKIP_BUILD PER_SOURCE"
COMMAND=""
for knob in $KNOBS; do
  [ -z "${!knob+x}" ] || COMMAND+="$knob=$(printf '%q' "${!knob}") "
done
COMMAND+="bench/realtime.sh"

# ---- Swiftlet's settings for this benchmark ---------------------------------------------
# Passed to `swiftlet serve` (SQLite in a fresh data directory per run, development profile:
# the WeChat sandbox makes a user per login code). Raise the gateway's limits here.
SWIFTLET_SETTINGS=(
  SWIFTLET_PROFILE=development
  SWIFTLET_WECHAT_SANDBOX=true
  # Users log in before anything is measured; the default 15-minute access token could lapse
  # during a full run.
  SWIFTLET_AUTH_ACCESS_TOKEN_LIFETIME=86400
  SWIFTLET_LOG_LEVEL=warning
  SWIFTLET_LOG_ACCESS_LOG=false
  SWIFTLET_COMMERCE_DEMO_CATALOGUE=false
  SWIFTLET_HTTP_BACKLOG=4096
  # The gateway's limits (docs/configuration.md). A sender here sends far more than a
  # person: up to 1,000 DMs in a second (resume), ~8 a second (delivery with QUICK=1);
  # the default of 60 a minute would answer 429.
  SWIFTLET_REALTIME_MESSAGES_PER_MINUTE=100000
  SWIFTLET_REALTIME_MAX_CONNECTIONS_PER_NODE=100000
  SWIFTLET_REALTIME_MAX_CONNECTIONS_PER_USER=16
  # Kept per user inbox, as the peers keep 1,000 per user in memory.
  SWIFTLET_REALTIME_INBOX_MAX_MESSAGES=1000
)
SWIFTLET_BIN=${SWIFTLET_BIN:-$ROOT/.build-static/release/swiftlet}
# -------------------------------------------------------------------------------------------

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  IDLE_CONNS=${IDLE_CONNS:-5000}; IDLE_SECONDS=${IDLE_SECONDS:-30}; USERS=${USERS:-1000}
  STEP=${STEP:-5s}; RESUME_ROUNDS=${RESUME_ROUNDS:-3}; QUIET_WAIT=${QUIET_WAIT:-60}
else
  IDLE_CONNS=${IDLE_CONNS:-50000}; IDLE_SECONDS=${IDLE_SECONDS:-60}; USERS=${USERS:-10000}
  STEP=${STEP:-15s}; RESUME_ROUNDS=${RESUME_ROUNDS:-5}; QUIET_WAIT=${QUIET_WAIT:-600}
fi
RATES=${RATES:-500,1000,2000,4000,8000}
P99_MAX=${P99_MAX:-50ms}
MESSAGES=${MESSAGES:-1000}
FOREIGN_MAX=${FOREIGN_MAX:-0.25}
MODES=${MODES:-idle delivery resume}
STACKS=${STACKS:-go-ws node-ws swiftlet}
SWIFTLET_REALTIME=${SWIFTLET_REALTIME:-1}
if [ "$SWIFTLET_REALTIME" = 0 ]; then
  echo "NOTICE: SWIFTLET_REALTIME=0: Swiftlet is skipped; only the peers are measured." >&2
  STACKS=$(echo "$STACKS" | tr ' ' '\n' | { grep -vx swiftlet || true; } | tr '\n' ' ')
fi

install_missing go:golang-go node:nodejs curl:curl /usr/share/gocode/src/github.com/gorilla/websocket:golang-github-gorilla-websocket-dev /usr/share/nodejs/ws/package.json:node-ws

log "building the peers and the load generator"
"$HERE/realtime/go-ws/build.sh" || fail "go-ws peer build failed"
"$HERE/realtime/loadgen/build.sh" || fail "load generator build failed"
if [[ " $STACKS " == *" swiftlet "* ]] && [ -z "${SKIP_BUILD:-}" ]; then
  log "building Swiftlet (release)"
  # The production build (README, docs/operations.md), into its own scratch path.
  scripts/build-release.sh || fail "swift build failed"
fi
[[ " $STACKS " != *" swiftlet "* ]] || [ -x "$SWIFTLET_BIN" ] || fail "no Swiftlet binary at $SWIFTLET_BIN"

# Every connection is a file descriptor in the server and in the load generator: raise the
# soft limit to the hard one and measure no more connections than it leaves room for.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
NOTES=()
room=$((FD_LIMIT - 1000))
if [[ " $MODES " == *" idle "* ]] && [ "$IDLE_CONNS" -gt "$room" ]; then
  NOTES+=("Idle connections: $IDLE_CONNS asked for, $room measured: the hard limit on open files here is $FD_LIMIT per process (raise it, e.g. \`ulimit -Hn\` as a privileged user or LimitNOFILE, for more).")
  echo "NOTICE: ${NOTES[-1]}" >&2
  IDLE_CONNS=$room
fi
if [[ " $MODES " == *" delivery "* ]] && [ "$USERS" -gt "$room" ]; then
  NOTES+=("Delivery users: $USERS asked for, $room measured (open-files limit $FD_LIMIT).")
  echo "NOTICE: ${NOTES[-1]}" >&2
  USERS=$room
fi
# Connections come from 127.0.0.2, .3, … (PER_SOURCE each); each source address needs that
# many local ports toward the server.
PER_SOURCE=${PER_SOURCE:-20000}
read -r port_low port_high < /proc/sys/net/ipv4/ip_local_port_range
if [ $((port_high - port_low)) -lt $((PER_SOURCE + 1000)) ]; then
  sysctl -qw net.ipv4.ip_local_port_range="1024 65000" 2>/dev/null \
    || PER_SOURCE=$((port_high - port_low - 1000))
fi

BENCH_JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')
export BENCH_JWT_SECRET
source "$HERE/throwaway-services.sh"
start_work_directory swiftlet-realtime
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW="$HERE/results/realtime-$STAMP"
mkdir -p "$RAW"

# Waits (up to QUIET_WAIT seconds) until other processes keep fewer than FOREIGN_MAX cores
# busy over 5 s: this machine is shared, and the load generator shares its 2 cores too.
wait_quiet() {
  local waited=0 busy
  while :; do
    busy=$(python3 - <<'EOF'
import time
def busy():  # user nice system + irq softirq steal, in USER_HZ ticks
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f[:3]) + sum(f[5:8]), time.monotonic()
a, t0 = busy()
time.sleep(5)
b, t1 = busy()
print(f"{(b - a) / 100 / (t1 - t0):.2f}")
EOF
)
    if python3 -c "import sys; sys.exit(0 if $busy < $FOREIGN_MAX else 1)"; then return; fi
    if [ "$waited" -ge "$QUIET_WAIT" ]; then
      echo "NOTICE: others keep $busy cores busy; measuring anyway (see foreignCores in the results)" >&2
      return
    fi
    echo "    others keep $busy cores busy; waiting" >&2
    sleep 25; waited=$((waited + 30))
  done
}

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap 'stop_server; stop_throwaway_services' EXIT

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server STACK MODE: starts a fresh server, sets SERVER_PID, PORT, AUTH.
start_server() {
  local stack=$1 mode=$2 ready
  case "$stack" in
    go-ws) PORT=8201 ;; node-ws) PORT=8202 ;; swiftlet) PORT=8210 ;;
    *) fail "unknown stack $stack (go-ws, node-ws, swiftlet)" ;;
  esac
  # Another process on the port would answer the readiness check and take the load.
  ! port_in_use "$PORT" || fail "port $PORT is already in use; stop what listens there first"
  case "$stack" in
    go-ws)
      AUTH=jwt ready=tcp
      env PORT=$PORT "$HERE/realtime/go-ws/server" > "$WORK/$stack-$mode.log" 2>&1 &
      ;;
    node-ws)
      AUTH=jwt ready=tcp
      env PORT=$PORT NODE_PATH=/usr/share/nodejs NODE_ENV=production node "$HERE/realtime/node-ws/server.js" \
        > "$WORK/$stack-$mode.log" 2>&1 &
      ;;
    swiftlet)
      AUTH=swiftlet ready=/health/ready
      local data="$WORK/swiftlet-$mode"
      mkdir -p "$data"
      env "${SWIFTLET_SETTINGS[@]}" SWIFTLET_DATA_DIRECTORY="$data" SWIFTLET_STORAGE_SQLITE_PATH="$data/swiftlet.sqlite" \
        "$SWIFTLET_BIN" serve --port "$PORT" > "$WORK/$stack-$mode.log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$stack-$mode.log" >&2; fail "$stack exited at start"; }
    if [ "$ready" = tcp ]; then
      port_in_use "$PORT" && return
    else
      curl -fs -o /dev/null "http://127.0.0.1:$PORT$ready" && return
    fi
    sleep 0.1
  done
  fail "$stack did not start within 30 s"
}

for mode in $MODES; do
  for stack in $STACKS; do
    log "$mode: $stack"
    wait_quiet
    start_server "$stack" "$mode"
    args=(-mode "$mode" -url "http://127.0.0.1:$PORT" -auth "$AUTH" -pid "$SERVER_PID" -per-source "$PER_SOURCE")
    case "$mode" in
      idle) args+=(-conns "$IDLE_CONNS" -idle "${IDLE_SECONDS}s") ;;
      delivery) args+=(-users "$USERS" -rates "$RATES" -step "$STEP" -p99-max "$P99_MAX" -foreign-max "$FOREIGN_MAX") ;;
      resume) args+=(-messages "$MESSAGES" -rounds "$RESUME_ROUNDS") ;;
      *) fail "unknown mode $mode (idle, delivery, resume)" ;;
    esac
    if ! "$HERE/realtime/loadgen/loadgen" "${args[@]}" > "$RAW/$stack-$mode.json" 2> >(tee "$RAW/$stack-$mode.err" >&2); then
      echo "    $stack $mode failed (kept in $RAW/$stack-$mode.err)" >&2
      rm -f "$RAW/$stack-$mode.json"
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || echo "    $stack exited during $mode" >> "$RAW/$stack-$mode.err"
    stop_server
    cp "$WORK/$stack-$mode.log" "$RAW/$stack-$mode.server.log"
  done
done

OUT="$HERE/results/realtime-$STAMP.md"
printf '%s\n' "${NOTES[@]}" > "$RAW/notes.txt"
SETTINGS="IDLE_CONNS=$IDLE_CONNS IDLE_SECONDS=$IDLE_SECONDS USERS=$USERS RATES=$RATES STEP=$STEP P99_MAX=$P99_MAX MESSAGES=$MESSAGES RESUME_ROUNDS=$RESUME_ROUNDS FOREIGN_MAX=$FOREIGN_MAX"
COMMAND="$COMMAND" SETTINGS="$SETTINGS" SWIFTLET_SETTINGS="${SWIFTLET_SETTINGS[*]}" STACKS="$STACKS" MODES="$MODES" SWIFTLET_REALTIME="$SWIFTLET_REALTIME" \
  python3 "$HERE/realtime/report.py" "$RAW" > "$OUT"
cat "$OUT"
log "wrote $OUT (raw: $RAW)"
