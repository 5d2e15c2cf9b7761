#!/usr/bin/env bash
# setup.sh DEST - Installs the pinned pprof-format (package-lock.json) into
# DEST through tests/npm_ci.sh (exit 77 to skip without node/npm, a failure
# under CI=true).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../npm_ci.sh" "pyroscope tests" "$here" "$1" node_modules/pprof-format
