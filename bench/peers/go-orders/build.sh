#!/bin/sh
# Builds ./server in GOPATH mode against Debian's packaged pgx v4 and go-sqlite3 sources
# (apt install golang-go golang-github-jackc-pgx-v4-dev golang-github-mattn-go-sqlite3-dev;
# go-sqlite3 links the system libsqlite3 through cgo). No module proxy, no network.
set -e
cd "$(dirname "$0")"
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= CGO_ENABLED=1 GOCACHE="${GOCACHE:-/tmp/go-build-cache}" \
  go build -o server main.go token.go json.go handlers.go store.go
