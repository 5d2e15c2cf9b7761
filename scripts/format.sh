#!/usr/bin/env bash
# clang-format over the project's C sources: `check` fails on any difference, `fix` rewrites.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null | grep -v -E '(^|/)(third_party|generated)/' || true)
if [ "${#files[@]}" -eq 0 ]; then exit 0; fi
if [ "$mode" = fix ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
fi
