#!/usr/bin/env bash
# /metrics scrape time and size on a node whose requests have touched every route with
# many methods and outcomes (≥ 50 route templates, ≥ 10,000 series). Not part of the test
# command; docs/benchmarks.md ("Telemetry cost") quotes its output.
#
#   bench/metrics-scrape.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/build-release.sh >/dev/null
python3 bench/metrics-scrape.py
