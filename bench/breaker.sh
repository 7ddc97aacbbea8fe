#!/usr/bin/env bash
# Breakers, measured (under a minute after the build). Not part of the test command.
#
# How long a breaker takes to stop calling a dead or hanging dependency, how many calls
# still reach it while it is down, and how long after it recovers calls flow again — from
# a deterministic simulation over the real `DependencyBreaker` (virtual time, seeded
# draws, calls at a steady rate: the figures repeat exactly, whatever the machine's load),
# beside the same throttle counting its own refusals as failures (go-zero #4101), and the
# share of immediate retries the retry budget grants during a storm of stale tokens.
#
#   bench/breaker.sh
# Writes bench/results/breaker-<time>.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/preamble.sh"

log "building swiftlet-breaker-bench (release)"
swift build -c release --product swiftlet-breaker-bench --scratch-path .build-bench >/dev/null \
  || fail "swiftlet-breaker-bench build failed"

mkdir -p bench/results
OUT="bench/results/breaker-$(date -u +%Y%m%d-%H%M%S).md"
{
  echo "## Breakers (\`bench/breaker.sh\`, $(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  .build-bench/release/swiftlet-breaker-bench
} > "$OUT"
cat "$OUT"
log "written to $OUT"
