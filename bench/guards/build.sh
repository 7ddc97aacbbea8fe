#!/bin/sh
# Builds ./guardbench (standard library only; no module proxy, no network).
set -e
cd "$(dirname "$0")"
GO111MODULE=off GOFLAGS= CGO_ENABLED=0 GOCACHE="${GOCACHE:-/tmp/go-build-cache}" go build -o guardbench .
