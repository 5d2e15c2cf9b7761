#!/usr/bin/env bash
# setup.sh DEST - Installs the pinned @opentelemetry/otlp-transformer 0.52.1
# (package-lock.json) into DEST through tests/npm_ci.sh: its
# build/src/generated/root.js is the decoder generated from the official
# opentelemetry-proto that the OTLP receiver test decodes every request with.
# Exit 77 (skip) without node/npm, a failure under CI=true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../../npm_ci.sh" "otlp receiver tests" "$here" "$1" \
  node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js
