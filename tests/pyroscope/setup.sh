#!/usr/bin/env bash
# setup.sh DEST - Installs the pinned pprof-format (package-lock.json) into DEST
# with `npm ci`, once per lockfile change, the way tests/browser/setup.sh
# installs playwright-core. Exit 77 (skip) when node or npm is missing or the
# registry cannot be reached, except under CI=true where that is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
missing() {
  echo "pyroscope tests: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 77
}
command -v node >/dev/null || missing "node not found (scripts/deps.sh installs nodejs)"
command -v npm >/dev/null || missing "npm not found (scripts/deps.sh installs npm)"
mkdir -p "$dest"
stamp="$dest/.lock.sha256"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dest/node_modules/pprof-format" ]; then
  exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
if ! (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
  cat "$dest/npm.log" >&2
  missing "npm ci failed (is the npm registry reachable?)"
fi
echo "$want" >"$stamp"
