# Sourced by the checks the test command runs (alert-rules.sh, schemathesis.sh,
# sdk-conformance.sh, telemetry-check.sh, peer-equivalence.sh): what happens when a tool a
# check needs is missing and could not be installed. Under CI=true the run fails (a green
# run must never hide a skipped check); elsewhere the check is skipped with a note. The
# caller defines `log`.
#
#   missing_tool WHAT CHECK [HINT]     # e.g. missing_tool promtool "alert rule checks" "apt-get install prometheus"
missing_tool() {
  local what=$1 check=$2 hint=${3:-}
  if [ "${CI:-}" = "true" ]; then
    log "$what could not be installed"
    exit 1
  fi
  log "$what could not be installed${hint:+ ($hint)}; $check skipped"
  exit 0
}
