#!/usr/bin/env bash
# The production build: one binary with the Swift runtime and Foundation linked in, every
# function in its own section, and the functions start-up and the hot request paths run
# (scripts/release-symbol-order.txt) placed together at the front of the code.
#
# Why the ordering: the kernel maps a binary's code 64 KB at a time around each page
# touched, and start-up touches a few thousand functions spread over ~35 MB of code. Laid
# out together they occupy ~4 MB instead of ~22 MB of resident memory. Symbols missing from
# the list (new code) are simply placed after it; regenerate the list with
# scripts/generate-symbol-order.sh after large changes. The executable exports no dynamic
# symbols (the static runtime's link arguments ask for all of them): nothing loads it as a
# library, and the loader would otherwise page through ~3 MB of symbol tables at start.
#
#   scripts/build-release.sh            # → .build-static/release/swiftlet
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export SWIFT_DETERMINISTIC_HASHING=1
# Swift objects compiled earlier with other flags are not always recompiled when only the
# flags change; a stamp of this layout forces it once.
LAYOUT="function-sections 1"
STAMP=.build-static/swiftlet-release-layout
if [ -d .build-static ] && [ "$(cat "$STAMP" 2>/dev/null)" != "$LAYOUT" ]; then
  find .build-static -name '*.swift.o' -delete
fi
# The build system does not track the order file's content: always link afresh (seconds).
rm -f .build-static/release/swiftlet
swift build -c release --product swiftlet --static-swift-stdlib --scratch-path .build-static \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
  -Xlinker --symbol-ordering-file="$ROOT/scripts/release-symbol-order.txt" -Xlinker --no-warn-symbol-ordering \
  -Xlinker --no-export-dynamic "$@"
echo "$LAYOUT" > "$STAMP"
