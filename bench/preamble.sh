# Sourced by every bench script right after `set -euo pipefail`:
#
#   HERE="$(cd "$(dirname "$0")" && pwd)"
#   source "$HERE/preamble.sh"
#
# It runs the script from the repository root with the build's settings, and gives the
# scripts one way to fail, to log, to install what they lack and to get the production
# binary, so a fix to any of these reaches them all.
ROOT="$(dirname "$HERE")"
cd "$ROOT"
export SWIFT_DETERMINISTIC_HASHING=1
fail() { echo "bench: $*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

# install_missing NEED:PACKAGE…: installs each PACKAGE whose NEED is absent. NEED is a
# command on PATH, or an absolute path (a glob allowed) that the package provides.
install_missing() {
  local packages=() pair need package
  for pair in "$@"; do
    need=${pair%%:*}
    package=${pair#*:}
    if [ "${need:0:1}" = "/" ]; then
      compgen -G "$need" >/dev/null || packages+=("$package")
    else
      command -v "$need" >/dev/null 2>&1 || packages+=("$package")
    fi
  done
  [ ${#packages[@]} -gt 0 ] || return 0
  log "installing ${packages[*]}"
  apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null || fail "could not install ${packages[*]}"
}

# The production build (README, docs/operations.md) into its own scratch path, unless
# SKIP_BUILD is set; fails when there is no binary to measure.
PG_SERVER=/usr/lib/postgresql/*/bin/pg_ctl
release_build() {
  if [ -z "${SKIP_BUILD:-}" ]; then
    log "building Swiftlet (release)"
    scripts/build-release.sh || fail "swift build failed"
  fi
  [ -x "$ROOT/.build-static/release/swiftlet" ] || fail "no production binary; run scripts/build-release.sh"
}
