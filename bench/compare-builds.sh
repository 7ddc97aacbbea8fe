#!/usr/bin/env bash
# Compares this tree's production build with another commit's, on the same machine in the
# same interleaved rounds: requests per second and server CPU per request for each endpoint,
# and the ratio of the two. Use it to show what a change costs on the hot paths.
#
#   bench/compare-builds.sh 714d5cf                       # 3 rounds, c=256
#   ROUNDS=5 CONNS="64 256" bench/compare-builds.sh HEAD~3
#
# The baseline is built in a git worktree under /tmp with its own scratch path (the first
# time ~7 minutes; later runs reuse it).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"
export SWIFT_DETERMINISTIC_HASHING=1
BASE="${1:?usage: bench/compare-builds.sh COMMIT}"
COMMIT=$(git rev-parse --short "$BASE")
TREE="/tmp/swiftlet-baseline-$COMMIT"
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

[ -d "$TREE" ] || git worktree add -f "$TREE" "$COMMIT" >/dev/null
echo "==> building the baseline ($COMMIT)" >&2
(cd "$TREE" && scripts/build-release.sh >/dev/null)
echo "==> building this tree" >&2
scripts/build-release.sh >/dev/null

export OUT="$HERE/results/compare-$(date -u +%Y%m%dT%H%M%SZ)"
export BASELINE_BIN="$TREE/.build-static/release/swiftlet"
export STACKS="swiftlet swiftlet-baseline"
export CONNS="${CONNS:-256}"
python3 "$HERE/bench.py"
python3 - "$OUT/runs.csv" "$COMMIT" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def median(stack, endpoint, conns, field):
    values = [float(r[field]) for r in rows if r["stack"] == stack and r["endpoint"] == endpoint and r["conns"] == conns]
    return statistics.median(values) if values else float("nan")
print(f"\n| endpoint | conns | this tree req/s | baseline {sys.argv[2]} req/s | CPU µs/req (this) | CPU µs/req (baseline) | CPU ratio |")
print("|---|---|---|---|---|---|---|")
for endpoint, conns in sorted({(r["endpoint"], r["conns"]) for r in rows}):
    new, old = median("swiftlet", endpoint, conns, "cpu_us_per_request"), median("swiftlet-baseline", endpoint, conns, "cpu_us_per_request")
    print(f"| `{endpoint}` | {conns} | {median('swiftlet', endpoint, conns, 'rps'):,.0f} | "
          f"{median('swiftlet-baseline', endpoint, conns, 'rps'):,.0f} | {new:.2f} | {old:.2f} | {new / old:.3f} |")
PY
