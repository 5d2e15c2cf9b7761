#!/usr/bin/env bash
# npm_ci.sh WHO PKGDIR DEST NEED - The one way the tests install pinned npm
# packages: PKGDIR's package.json and package-lock.json into DEST with
# `npm ci`, once per lockfile change (a stamp holds the lockfile's hash);
# NEED (a path under DEST) must exist afterwards. Exit 77 (skip) when node or
# npm is missing or the registry cannot be reached, except under CI=true where
# that is a failure. WHO names the tests in the messages.
set -euo pipefail
who=$1 pkg=$2 dest=$3 need=$4
missing() {
  echo "$who: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 77
}
command -v node >/dev/null || missing "node not found (scripts/deps.sh installs nodejs)"
command -v npm >/dev/null || missing "npm not found (scripts/deps.sh installs npm)"
mkdir -p "$dest"
stamp="$dest/.lock.sha256"
want=$(sha256sum "$pkg/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -e "$dest/$need" ]; then
  exit 0
fi
cp "$pkg/package.json" "$pkg/package-lock.json" "$dest/"
if ! (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
  cat "$dest/npm.log" >&2
  missing "npm ci failed (is the npm registry reachable?)"
fi
[ -e "$dest/$need" ] || missing "no $dest/$need in the installed packages"
echo "$want" >"$stamp"
