#!/usr/bin/env bash
# setup.sh DEST - Installs the pinned playwright-core (package-lock.json) into
# DEST through tests/npm_ci.sh, and checks that Debian's chromium is there. No
# browser is downloaded. Exit 77 (skip) when a tool is missing, except under
# CI=true where every missing piece is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chromium=${PP_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "browser tests: no chromium at $chromium (scripts/deps.sh installs it)" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 77
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec bash "$here/../npm_ci.sh" "browser tests" "$here" "$1" node_modules/playwright-core
