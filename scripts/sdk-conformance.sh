#!/usr/bin/env bash
# Conformance of the built-in sandboxes with the WeChat SDKs teams already use: installs
# wechatpy and wechatpayv3 from PyPI into a venv (.build/sdk-venv), starts `swiftlet serve`
# on a throwaway data directory and a free port, reads the sandbox credentials with
# `swiftlet sandbox credentials`, and runs scripts/sdk_conformance.py against it (login,
# access token, phone number; prepay, query, close, pay, refund and the SDK's own notify
# verification), once with the sandbox merchant in WeChat Pay public-key mode and once in
# certificate mode (a server each, on the same data directory and credentials).
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
  . scripts/missing-tool.sh
  { python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet "${SDKS[@]}"; } >&2 \
    || missing_tool "the SDKs" "SDK conformance" "python3-venv, network?"
fi

. scripts/local-server.sh

WORK=$(mktemp -d /tmp/swiftlet-sdk.XXXXXX)
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
cleanup() {
  set +e
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT

export SWIFTLET_DATA_DIRECTORY="$WORK/data"
export SWIFTLET_LOG_LEVEL=warning
OPTIONS=(--port "$PORT" --storage sqlite --sqlite-path "$WORK/data/swiftlet.sqlite")
status=0
pay_only=
for mode in publicKey certificate; do
  log "WeChat Pay $mode mode"
  export SWIFTLET_WECHATPAY_SANDBOX_KEY_MODE=$mode
  start_server "$PORT" "${OPTIONS[@]:2}"
  "$BIN" sandbox credentials "${OPTIONS[@]}" >"$WORK/credentials.txt"
  "$VENV/bin/python" scripts/sdk_conformance.py "$BASE" "$WORK/credentials.txt" "$mode" $pay_only || status=1
  server_log_clean || status=1
  stop_server
  SERVER_PID=
  pay_only=--pay-only
done
[ "$status" -eq 0 ] && log "no failures" || log "FAILED"
exit "$status"
