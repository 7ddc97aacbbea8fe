#!/usr/bin/env bash
# Regenerates scripts/release-symbol-order.txt: the functions of the release binary that
# start-up and the common request paths execute, busiest first (see build-release.sh).
#
# Runs the production build under valgrind's callgrind (installed with apt-get if missing),
# waits for /health/ready, exercises the health, identity, catalogue and benchmark
# endpoints, stops the server and keeps every executed function that has a symbol.
# Takes a minute or two; not part of the test command.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
fail() { echo "generate-symbol-order: $*" >&2; exit 1; }

command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; } \
  || fail "could not install valgrind"
scripts/build-release.sh >/dev/null || fail "release build failed"

WORK=$(mktemp -d /tmp/swiftlet-order.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# valgrind 3.19 cannot read DWARF 5; the symbol table is all that is needed.
strip --strip-debug -o "$WORK/swiftlet" .build-static/release/swiftlet
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$WORK" && SWIFTLET_BENCH_ENDPOINTS=true SWIFTLET_HTTP_PORT=$PORT \
  valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" --demangle=no ./swiftlet serve >"$WORK/serve.log" 2>&1) &
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 240); do curl -sf -o /dev/null "$BASE/health/ready" && break; sleep 0.5; done
curl -sf -o /dev/null "$BASE/health/ready" || fail "server did not become ready (see $WORK/serve.log)"
TOKEN=$(curl -sf -XPOST -H 'Content-Type: application/json' -d '{"code":"order:1"}' "$BASE/api/v1/auth/wechat/login" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
for round in 1 2 3; do
  for path in /health/live /health/ready /json /plaintext /user/7 /api/v1/products; do curl -s -o /dev/null "$BASE$path"; done
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me"
done
pkill -INT -f "callgrind-out-file=$WORK/callgrind.out" || true
for _ in $(seq 60); do pgrep -f "callgrind-out-file=$WORK/callgrind.out" >/dev/null || break; sleep 0.5; done

python3 - "$WORK/callgrind.out" "$WORK/swiftlet" scripts/release-symbol-order.txt <<'PY'
import re, subprocess, sys
profile, binary, target = sys.argv[1:]
names, cost = {}, {}
current_object = current_function = None
skip_next = False
pattern = re.compile(r'^(ob|fn|cfn|cob|cfi|cfl|fl|fi|fe)=\((\d+)\)(?: (.*))?$')
for line in open(profile):
    line = line.rstrip("\n")
    match = pattern.match(line)
    if match:
        kind, ident, name = match.groups()
        space = "ob" if kind in ("ob", "cob") else "fn" if kind in ("fn", "cfn") else "fl"
        if name is not None:
            names[(space, ident)] = name
        if kind == "ob":
            current_object = names.get(("ob", ident))
        elif kind == "fn":
            current_function = names.get(("fn", ident)) if current_object == binary else None
            if current_function is not None:
                cost.setdefault(current_function, 0)
        continue
    if line.startswith("calls="):
        skip_next = True  # the next cost line is the callee's inclusive cost
        continue
    if line[:1].isdigit() or line[:1] in "+-*":
        if skip_next:
            skip_next = False
            continue
        parts = line.split()
        if current_function is not None and len(parts) >= 2 and parts[1].isdigit():
            cost[current_function] += int(parts[1])
symbols = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
functions = {parts[2] for parts in (l.split() for l in symbols.splitlines()) if len(parts) == 3 and parts[1] in "tTwW"}
ordered = sorted((f for f in cost if f in functions), key=lambda f: (-cost[f], f))
open(target, "w").write("\n".join(ordered) + "\n")
print(f"{len(ordered)} functions written to {target}")
PY
