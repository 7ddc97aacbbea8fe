#!/usr/bin/env bash
# The database peers (go-orders on PostgreSQL or SQLite, node-pg-orders on PostgreSQL):
# installs what they need when missing, builds them, and runs one against a database.
#
#   bench/peers/db-peers.sh build                          # install + build, nothing else
#   JWT_SECRET=… bench/peers/db-peers.sh run go   DATABASE PORT   # DATABASE: postgres:// URL or SQLite file
#   JWT_SECRET=… bench/peers/db-peers.sh run node DATABASE PORT   # PostgreSQL only
#
# `run` execs the server in the foreground (start it with & and stop it by its pid). The
# database must already carry Swiftlet's schema (`swiftlet migrate up`, or a `swiftlet
# serve` that ran on it): the peers never create tables.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
fail() { echo "db-peers: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

install_missing() {
  local packages=()
  command -v go >/dev/null 2>&1 || packages+=(golang-go)
  [ -d /usr/share/gocode/src/github.com/jackc/pgx/v4 ] || packages+=(golang-github-jackc-pgx-v4-dev)
  [ -d /usr/share/gocode/src/github.com/mattn/go-sqlite3 ] || packages+=(golang-github-mattn-go-sqlite3-dev)
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  if [ ${#packages[@]} -gt 0 ]; then
    $SUDO apt-get update -qq || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null || fail "could not install ${packages[*]}"
  fi
  node_modules_path >/dev/null || install_node_pg
}

# Where `require('pg')` resolves: Debian's node-pg when it is installed, else the same
# packages unpacked into node-pg-orders/.debs (Node from NodeSource does not satisfy the
# `nodejs:any` dependency of Debian's Node packages, so apt-get cannot install them).
node_modules_path() {
  local path
  for path in /usr/share/nodejs "$HERE/node-pg-orders/.debs/usr/share/nodejs"; do
    if NODE_PATH="$path" node -e 'require("pg")' >/dev/null 2>&1; then echo "$path"; return 0; fi
  done
  return 1
}

install_node_pg() {
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq node-pg >/dev/null 2>&1; then
    node_modules_path >/dev/null && return 0
  fi
  local debs="$HERE/node-pg-orders/.debs"
  rm -rf "$debs"; mkdir -p "$debs/download"
  (cd "$debs/download" && apt-get download node-pg node-split2 node-xtend node-readable-stream >/dev/null 2>&1) \
    || { $SUDO apt-get update -qq && (cd "$debs/download" && apt-get download node-pg node-split2 node-xtend node-readable-stream >/dev/null); } \
    || fail "could not download node-pg"
  for deb in "$debs"/download/*.deb; do dpkg -x "$deb" "$debs"; done
  node_modules_path >/dev/null || fail "node-pg unpacked but require('pg') still fails"
}

build() {
  install_missing
  "$HERE/go-orders/build.sh" || fail "go build failed"
}

case "${1:-}" in
  build)
    build
    ;;
  run)
    [ $# -eq 4 ] || fail "usage: db-peers.sh run go|node DATABASE PORT"
    [ -n "${JWT_SECRET:-}" ] || fail "set JWT_SECRET to Swiftlet's auth.jwt.secret"
    export DATABASE="$3" PORT="$4" JWT_SECRET
    case "$2" in
      go)
        [ -x "$HERE/go-orders/server" ] || build
        exec "$HERE/go-orders/server"
        ;;
      node)
        case "$DATABASE" in postgres://*|postgresql://*) ;; *) fail "the Node peer runs on PostgreSQL only" ;; esac
        NODE_PATH="$(node_modules_path)" || { install_missing; NODE_PATH="$(node_modules_path)"; }
        export NODE_PATH
        exec node "$HERE/node-pg-orders/server.js"
        ;;
      *) fail "unknown peer '$2' (go or node)" ;;
    esac
    ;;
  *)
    fail "usage: db-peers.sh build | run go|node DATABASE PORT"
    ;;
esac
