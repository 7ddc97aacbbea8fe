# Sourced by the scripts that drive a live `swiftlet serve` (schemathesis.sh,
# sdk-conformance.sh): a free port, starting the server and waiting until it is ready, and
# checking its log for errors. The caller sets WORK (a scratch directory), BIN and `log`,
# and stops the server with `stop_server` (in its EXIT trap).

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

SERVER_PID=

# start_server PORT ARGS…: `swiftlet serve` on PORT with ARGS, logging to $WORK/server.log;
# returns once /health/ready answers 200, exits the script if it never does.
start_server() {
  local port=$1
  shift
  "$BIN" serve --port "$port" "$@" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 150); do
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.2
  done
  log "server did not become ready"
  cat "$WORK/server.log" >&2
  exit 1
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
}

# Succeeds when the server logged nothing at error level or above (printing what it did).
server_log_clean() {
  if grep -q '"level":"\(error\|critical\)"' "$WORK/server.log"; then
    log "the server logged errors:"
    grep '"level":"\(error\|critical\)"' "$WORK/server.log" >&2
    return 1
  fi
}
