#!/usr/bin/env bash
# Conformance of the built-in sandboxes with the WeChat SDKs teams already use: installs
# wechatpy and wechatpayv3 from PyPI into a venv (.build/sdk-venv), starts `swiftlet serve`
# on a throwaway data directory and a free port, reads the sandbox credentials with
# `swiftlet sandbox credentials`, and runs scripts/sdk_conformance.py against it (login,
# access token, phone number; prepay, query, close, pay, refund and the SDK's own notify
# verification, in WeChat Pay public-key mode).
#
#   scripts/sdk-conformance.sh
#
# SWIFTLET_BIN: the binary (default .build/debug/swiftlet, as `swift build` leaves it).
# SDK_VENV: the venv (default .build/sdk-venv). Under CI=true SDKs that cannot be
# installed fail the run; otherwise the run is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> sdk-conformance: %s\n' "$*" >&2; }

BIN=${SWIFTLET_BIN:-.build/debug/swiftlet}
VENV=${SDK_VENV:-.build/sdk-venv}
SDKS=('wechatpayv3==2.0.*' 'wechatpy==1.8.*')

[ -x "$BIN" ] || { log "$BIN not found; run swift build first"; exit 1; }
if ! "$VENV/bin/python" -c 'import wechatpy, wechatpayv3' >/dev/null 2>&1; then
  log "installing ${SDKS[*]} into $VENV"
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet "${SDKS[@]}"; } >&2; then
    if [ "${CI:-}" = "true" ]; then
      log "the SDKs could not be installed"
      exit 1
    fi
    log "the SDKs could not be installed (python3-venv, network?); SDK conformance skipped"
    exit 0
  fi
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

WORK=$(mktemp -d /tmp/swiftlet-sdk.XXXXXX)
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
SERVER_PID=
cleanup() {
  set +e
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export SWIFTLET_DATA_DIRECTORY="$WORK/data"
export SWIFTLET_LOG_LEVEL=warning
OPTIONS=(--port "$PORT" --storage sqlite --sqlite-path "$WORK/data/swiftlet.sqlite")
"$BIN" serve "${OPTIONS[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
  curl -fs "$BASE/health/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fs "$BASE/health/ready" >/dev/null || { log "server did not become ready"; cat "$WORK/server.log" >&2; exit 1; }

"$BIN" sandbox credentials "${OPTIONS[@]}" >"$WORK/credentials.txt"

status=0
"$VENV/bin/python" scripts/sdk_conformance.py "$BASE" "$WORK/credentials.txt" || status=1
if grep -q '"level":"\(error\|critical\)"' "$WORK/server.log"; then
  log "the server logged errors:"
  grep '"level":"\(error\|critical\)"' "$WORK/server.log" >&2
  status=1
fi
[ "$status" -eq 0 ] && log "no failures" || log "FAILED"
exit "$status"
