#!/usr/bin/env bash
# `make bench`: run every benchmark program of a Release build.
set -euo pipefail
dir=${1:-build/release}
for b in "$dir"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
