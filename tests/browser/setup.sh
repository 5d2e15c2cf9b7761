#!/usr/bin/env bash
# setup.sh DEST - Installs the pinned playwright-core (package-lock.json) into
# DEST with `npm ci`, once per lockfile change, and checks that Debian's
# chromium is there. No browser is downloaded. Exit 77 (skip) when a tool is
# missing, except under CI=true where every missing piece is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
missing() {
  echo "browser tests: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 77
}
[ -x "${PP_CHROMIUM:-/usr/bin/chromium}" ] || missing "no chromium at ${PP_CHROMIUM:-/usr/bin/chromium} (scripts/deps.sh installs it)"
command -v node >/dev/null || missing "node not found (scripts/deps.sh installs nodejs)"
command -v npm >/dev/null || missing "npm not found (scripts/deps.sh installs npm)"
mkdir -p "$dest"
stamp="$dest/.lock.sha256"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dest/node_modules/playwright-core" ]; then
  exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
  cat "$dest/npm.log" >&2
  missing "npm ci failed (is the npm registry reachable?)"
fi
echo "$want" >"$stamp"
