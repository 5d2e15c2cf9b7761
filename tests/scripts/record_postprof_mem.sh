#!/bin/sh
# record_postprof_mem.sh POSTPROF - The postprof command links the malloc
# accounting (per-operation allocations in `postprof run`); `postprof record
# --mem-all` on postprof itself must still see every allocation: the
# accounting forwards to an interposer preloaded after it.
set -eu
pp=$1
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() {
    echo "FAIL: $*" >&2
    cat "$d/out" >&2 || true
    exit 1
}
"$pp" record --mem-all -o "$d/mem.folded" -- "$pp" datagen --posts 300 --out "$d/data" \
    --no-train --quiet > "$d/out" 2>&1 || fail "record exited $?"
bytes=$(sed -n 's/.*: \([0-9][0-9]*\) bytes allocated.*/\1/p' "$d/out")
[ -n "$bytes" ] || fail "no 'bytes allocated' line"
# 300 posts' texts and rows: well over 100 kB
[ "$bytes" -gt 100000 ] || fail "only $bytes bytes allocated"
grep -q "cmd_datagen" "$d/mem.folded" || fail "no stack through cmd_datagen"
echo "ok: $bytes bytes"
