#!/usr/bin/env bash
# setup.sh DEST - Installs the pinned @opentelemetry/otlp-transformer 0.52.1
# (package-lock.json) into DEST with `npm ci`, once per lockfile change: its
# build/src/generated/root.js is the decoder generated from the official
# opentelemetry-proto that the OTLP receiver test decodes every request with.
# Exit 77 (skip) when node or npm is missing, except under CI=true where a
# missing piece is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
missing() {
  echo "otlp receiver tests: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 77
}
command -v node >/dev/null || missing "node not found (scripts/deps.sh installs nodejs)"
command -v npm >/dev/null || missing "npm not found (scripts/deps.sh installs npm)"
mkdir -p "$dest"
stamp="$dest/.lock.sha256"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
root="$dest/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$root" ]; then
  exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
if ! (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
  cat "$dest/npm.log" >&2
  missing "npm ci failed (is the npm registry reachable?)"
fi
[ -f "$root" ] || missing "no $root in the installed package"
echo "$want" >"$stamp"
