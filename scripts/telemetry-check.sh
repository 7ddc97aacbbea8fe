#!/usr/bin/env bash
# Swiftlet's telemetry against the real tools: installs Debian's Prometheus (apt-get) and
# OpenTelemetry's protocol definitions (PyPI opentelemetry-proto, into a venv,
# .build/telemetry-venv) when missing, then runs scripts/telemetry_check.py, which starts
# `swiftlet serve` on an empty directory with its metrics listener and tracing to a test
# OTLP collector (scripts/otlp_collector.py), has Prometheus scrape it every second with
# deploy/prometheus/slo-targets.yml and alerts.yml loaded, and checks: request counts in
# Prometheus (an inline-lane route and a router route), the spans of a login → order →
# pay → notify flow and their links, that every metric deploy/grafana/swiftlet.json and
# the rules name is exposed, and that a collector that hangs or is not there costs the
# requests nothing noticeable nor delays shutdown.
#
#   scripts/telemetry-check.sh
#
# SWIFTLET_BIN: the binary (default .build/debug/swiftlet, as `swift build` leaves it).
# TELEMETRY_VENV: the venv (default .build/telemetry-venv). Under CI=true anything that
# cannot be installed fails the run; otherwise the run is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> telemetry-check: %s\n' "$*" >&2; }

BIN=${SWIFTLET_BIN:-.build/debug/swiftlet}
VENV=${TELEMETRY_VENV:-.build/telemetry-venv}

[ -x "$BIN" ] || { log "$BIN not found; run swift build first"; exit 1; }
export SWIFTLET_BIN="$PWD/${BIN#./}"
[ "${BIN#/}" != "$BIN" ] && export SWIFTLET_BIN="$BIN"

. scripts/missing-tool.sh
unavailable() { missing_tool "$1" "telemetry check" "apt-get, PyPI, network?"; }

# Debian's prometheus package starts its daemon on install where the init policy lets it
# (on :9090, with its own data); the check runs its own on a free port, so the packaged
# one is kept from starting (policy-rc.d refusing starts during the install, as Debian
# documents for this) and stopped should it run all the same.
install_prometheus() {
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  local policy=/usr/sbin/policy-rc.d own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && own_policy=1
  fi
  local status=0
  { $sudo apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } >&2 \
    || status=1
  [ -n "$own_policy" ] && $sudo rm -f "$policy"
  if [ -d /run/systemd/system ]; then
    $sudo systemctl stop prometheus >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    $sudo service prometheus stop >/dev/null 2>&1 || true
  fi
  return "$status"
}

if ! { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }; then
  log "installing prometheus with apt-get"
  install_prometheus || unavailable "prometheus"
  command -v prometheus >/dev/null 2>&1 || unavailable "prometheus"
fi

# The venv when it can be made; otherwise the python3 on PATH, as scripts/test.sh installs
# its Python packages.
PYTHON=$VENV/bin/python
if ! "$PYTHON" -c 'import opentelemetry.proto.collector.trace.v1.trace_service_pb2' >/dev/null 2>&1; then
  log "installing opentelemetry-proto into $VENV"
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet opentelemetry-proto; } >&2; then
    PYTHON=python3
    python3 -c 'import opentelemetry.proto.collector.trace.v1.trace_service_pb2' >/dev/null 2>&1 \
      || python3 -m pip install --quiet opentelemetry-proto >&2 \
      || python3 -m pip install --quiet --break-system-packages opentelemetry-proto >&2 \
      || unavailable "opentelemetry-proto"
  fi
fi

export PROMETHEUS
PROMETHEUS=$(command -v prometheus)
exec "$PYTHON" scripts/telemetry_check.py
