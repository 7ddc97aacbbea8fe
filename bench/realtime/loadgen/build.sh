#!/bin/sh
# Builds ./loadgen in GOPATH mode against Debian's packaged gorilla/websocket sources
# (apt install golang-go golang-github-gorilla-websocket-dev). No module proxy, no network.
set -e
cd "$(dirname "$0")"
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= CGO_ENABLED=0 GOCACHE="${GOCACHE:-/tmp/go-build-cache}" \
  go build -o loadgen .
