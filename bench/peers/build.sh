#!/usr/bin/env bash
# Builds the peer (Benthos v4.27.0, MIT, from the Go module proxy) once into
# ~/.cache/portout-bridge/peers/ and prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/benthos"
OUT=${PB_CACHE:-$HOME/.cache/portout-bridge}/peers/benthos-v4.27.0
if [ ! -x "$OUT" ]; then
  command -v go >/dev/null || { echo "peers: go is needed to build the peer" >&2; exit 1; }
  mkdir -p "$(dirname "$OUT")"
  GOPATH=${GOPATH:-${PB_CACHE:-$HOME/.cache/portout-bridge}/go} GOFLAGS=-modcacherw \
    go build -trimpath -ldflags "-s -w" -o "$OUT.tmp" . >&2
  mv "$OUT.tmp" "$OUT"
fi
echo "$OUT"
