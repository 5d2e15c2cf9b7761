#!/usr/bin/env bash
# report_cli_test.sh POSTPROF TOY_REPORT SAMPLE.folded WORK_SHARES - `postprof
# report`: writes the page (default name beside the JSON, or --html), draws a
# profile that `postprof record` took of WORK_SHARES (env POSTPROF_PRELOAD),
# refuses malformed reports and profiles with where and why, leaves no
# partial file.
set -euo pipefail
pp=$1 toy=$2 folded=$3 work=$4
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$toy" "$d/run.json" >/dev/null
out=$("$pp" report "$d/run.json")
[ "$out" = "postprof report: wrote $d/run.html" ] || fail "default output: $out"
grep -q '"workload": "toy"' "$d/run.html" || fail "report data not in the page"
"$pp" report "$d/run.json" --html "$d/page.html" --profile "$folded" >/dev/null
grep -q 'sgemm_kernel' "$d/page.html" || fail "profile not in the page"
if grep -Eq '(src|href)="https?:' "$d/page.html"; then fail "page refers to the network"; fi

# a real recording (pprof): the page's flame graph keeps the workload's shares
# (work_shares burns CPU in burn_sixty, burn_thirty, burn_ten: 60/30/10 %)
"$pp" record -q -F 499 -o "$d/rec.pb.gz" -- "$work" 1 300 >/dev/null
"$pp" report "$d/run.json" --html "$d/rec.html" --profile "$d/rec.pb.gz" >/dev/null
python3 - "$d/rec.html" <<'PY' || fail "recorded profile not drawn with its shares"
import json, re, sys
page = open(sys.argv[1]).read()
m = re.search(r'<script type="application/json" id="profile-data">(.*?)</script>', page, re.S)
prof = json.loads(m.group(1))
assert prof["unit"] == "samples", prof["unit"]
leaf = {}
for stack, n in prof["stacks"]:
    f = stack.split(";")[-1]
    leaf[f] = leaf.get(f, 0) + n
print("recorded leaves:", leaf)
assert leaf.get("burn_sixty", 0) > leaf.get("burn_thirty", 0) > leaf.get("burn_ten", 0) > 0, leaf
PY

# malformed JSON: where (line/column) and why, exit 1, nothing written
printf '{"schema_version": 1,\n  "workload": }\n' >"$d/bad.json"
set +e
err=$("$pp" report "$d/bad.json" --html "$d/bad.html" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "malformed json: exit $rc"
grep -q 'line 2' <<<"$err" || fail "malformed json error lacks the line: $err"
[ ! -e "$d/bad.html" ] || fail "a page was written for a malformed report"
# a field of the wrong type: the field is named
python3 - "$d/run.json" "$d/type.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["performance"]["end_to_end_s"] = "fast"
json.dump(r, open(sys.argv[2], "w"))
PY
set +e
err=$("$pp" report "$d/type.json" --html "$d/type.html" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "wrong type: exit $rc"
grep -q 'end_to_end_s' <<<"$err" || fail "wrong-type error does not name the field: $err"

# malformed profile: file and line; the previous page stays whole
printf 'main;a 3\nmain;b lots\n' >"$d/bad.folded"
before=$(sha256sum "$d/page.html")
set +e
err=$("$pp" report "$d/run.json" --html "$d/page.html" --profile "$d/bad.folded" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "bad profile: exit $rc"
grep -q "bad.folded: line 2: count is not a non-negative integer" <<<"$err" || fail "bad profile error: $err"
[ "$(sha256sum "$d/page.html")" = "$before" ] || fail "page changed after a failed write"
ls "$d" | grep -q tmp && fail "temporary file left behind"

# usage errors exit 2
set +e
"$pp" report >/dev/null 2>&1; [ $? -eq 2 ] || fail "no argument: not a usage error"
"$pp" report "$d/run.json" --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown flag: not a usage error"
"$pp" report "$d/run.json" --html >/dev/null 2>&1; [ $? -eq 2 ] || fail "--html without value: not a usage error"
set -e
grep -q 'usage: postprof report' <<<"$("$pp" report --help)" || fail "--help"
echo "report CLI: ok"
