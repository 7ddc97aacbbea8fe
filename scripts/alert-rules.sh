#!/usr/bin/env bash
# Checks Swiftlet's Prometheus files with promtool: the rule files (deploy/prometheus/
# slo-targets.yml and alerts.yml) parse and their expressions are valid, the example
# deploy/prometheus/prometheus.yml is a valid configuration that finds its rule files, the
# unit tests (deploy/prometheus/*_test.yml) fire and resolve every alert as they expect,
# and every alert carries summary, description and a runbook_url whose anchor is a heading
# in docs/operations.md.
#
#   scripts/alert-rules.sh
#
# A missing promtool is installed with apt-get (Debian's `prometheus` package); the
# Prometheus server that package may start is stopped again, since only promtool is wanted.
# Under CI=true a promtool that cannot be installed fails the run, otherwise the checks are
# skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> alert-rules: %s\n' "$*" >&2; }

RULES_DIR=deploy/prometheus
RULE_FILES=("$RULES_DIR/slo-targets.yml" "$RULES_DIR/alerts.yml")
TEST_FILES=("$RULES_DIR"/*_test.yml)
RUNBOOK_DOC=docs/operations.md

install_promtool() {
  command -v apt-get >/dev/null 2>&1 || return 0
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || return 0
    sudo=sudo
  fi
  local already_running
  already_running=" $( (pgrep -x prometheus || true) | tr '\n' ' ') "
  log "installing Debian's prometheus package for promtool"
  $sudo apt-get update -qq || return 0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null || return 0
  # The package enables and starts its server where systemd runs, or starts it through its
  # init script; stop exactly the server it started, nothing that ran before.
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  local pid
  for pid in $(pgrep -x prometheus || true); do
    case "$already_running" in *" $pid "*) continue ;; esac
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/prometheus ]; then
      $sudo kill "$pid" 2>/dev/null || true
    fi
  done
  hash -r
}

command -v promtool >/dev/null 2>&1 || install_promtool
. scripts/missing-tool.sh
command -v promtool >/dev/null 2>&1 || missing_tool promtool "alert rule checks" "apt-get install prometheus"

WORK=$(mktemp -d /tmp/swiftlet-alert-rules.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

log "promtool check rules"
promtool check rules "${RULE_FILES[@]}"

# The example names its admin key file relative to itself, and promtool wants every file a
# configuration names to exist: check a copy of the directory with a placeholder key.
log "promtool check config $RULES_DIR/prometheus.yml"
cp "$RULES_DIR/prometheus.yml" "${RULE_FILES[@]}" "$WORK/"
printf 'swk_placeholder\n' > "$WORK/swiftlet-admin-key"
promtool check config "$WORK/prometheus.yml"

log "promtool test rules"
(cd "$RULES_DIR" && promtool test rules "${TEST_FILES[@]##*/}")

# Every alert has the three annotations the runbooks rely on, and every runbook_url points
# at a heading of docs/operations.md (GitHub's anchors: lower case, punctuation dropped,
# spaces as hyphens).
log "annotations and runbook anchors"
alerts=$(grep -c '^ *- alert:' "$RULES_DIR/alerts.yml")
failed=0
for annotation in summary description runbook_url; do
  found=$(grep -c "^ *$annotation:" "$RULES_DIR/alerts.yml")
  if [ "$found" -ne "$alerts" ]; then
    log "$alerts alerts but $found with $annotation"
    failed=1
  fi
done
anchors=$(grep -E '^#{1,6} ' "$RUNBOOK_DOC" | sed -E 's/^#+ +//' | tr '[:upper:]' '[:lower:]' \
  | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g')
while read -r anchor; do
  if ! grep -qxF -- "$anchor" <<<"$anchors"; then
    log "runbook_url anchor #$anchor is not a heading in $RUNBOOK_DOC"
    failed=1
  fi
done < <(grep -E '^ *runbook_url:' "$RULES_DIR/alerts.yml" | sed -E 's/.*#//' | sort -u)
[ "$failed" -eq 0 ] || exit 1

rule_checks=$(cat "${TEST_FILES[@]}" | grep -cE '^ *- (alertname|expr):')
log "passed: $alerts alerts, $rule_checks rule tests in ${#TEST_FILES[@]} files"
