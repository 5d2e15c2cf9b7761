#!/bin/sh
# compare_test.sh POSTPROF REPORT.json WORKDIR - `postprof compare` exit codes:
# 0 for a report against itself, 1 for a clearly slower copy, 2 for a bad
# option, a missing file and an invalid report.
set -u
pp=$1 report=$2 dir=$3
mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }

"$pp" compare "$report" "$report" > "$dir/same.txt"; rc=$?
[ $rc -eq 0 ] || fail "same report: exit $rc"
grep -q "0 regressions" "$dir/same.txt" || fail "same report: no '0 regressions'"

python3 - "$report" "$dir/slow.json" <<'PY' || fail "could not write the slower copy"
import json, sys
d = json.load(open(sys.argv[1]))
d["performance"]["pass_s"] = [x * 1.5 for x in d["performance"]["pass_s"]]
for name, src in d["data_loading"].items():
    if isinstance(src, dict) and "p95_s" in src:
        src["p95_s"] *= 1.5
json.dump(d, open(sys.argv[2], "w"))
PY
"$pp" compare "$report" "$dir/slow.json" > "$dir/slow.txt"; rc=$?
[ $rc -eq 1 ] || fail "slower report: exit $rc"
grep -q "REGRESSION" "$dir/slow.txt" || fail "slower report: no REGRESSION row"
"$pp" compare "$dir/slow.json" "$report" > /dev/null; rc=$?
[ $rc -eq 0 ] || fail "faster report: exit $rc"

"$pp" compare --bogus "$report" "$report" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc"
grep -q "unknown option '--bogus'" "$dir/err.txt" || fail "unknown option: message"
"$pp" compare "$report" "$dir/missing.json" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "missing file: exit $rc"
grep -q "missing.json" "$dir/err.txt" || fail "missing file: message does not name it"
echo '{"schema_version": 1, "system_stats": 3}' > "$dir/bad.json"
"$pp" compare "$report" "$dir/bad.json" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "invalid report: exit $rc"
grep -q "system_stats: not an object" "$dir/err.txt" || fail "invalid report: message"
"$pp" compare --help > /dev/null || fail "--help"
echo "compare: ok"
