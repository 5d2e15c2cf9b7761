#!/usr/bin/env bash
# `postprof run` end to end on a small generated data set: the console report
# has the design's sections, report.json matches docs/report-schema.md, every
# suggestion's expected improvement is a fraction with a basis, --apply adds
# predicted vs measured; bad configs and output paths fail with exit 2 and
# write nothing.
set -uo pipefail
pp=$1
src=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

echo "-- run --quick --apply (generates the data)"
"$pp" run --quick --apply --no-color --posts 4000 --data "$work/data" --out "$work/out" \
  > "$work/console.txt" 2> "$work/stderr.txt"
rc=$?
[ $rc -eq 0 ] || { bad "run exited $rc"; cat "$work/stderr.txt"; exit 1; }
grep -q "generating 4000 posts" "$work/stderr.txt" || bad "no data generation progress"
grep -q "experiments" "$work/stderr.txt" || bad "no phase progress on stderr"
for s in "LINKEDIN POSTS PROFILING REPORT" "System Stats" "Data Loading Performance" \
         "Model Inference Performance" "Cache Performance" "Optimization Suggestions (" \
         "Performance Targets" "Predicted vs Measured"; do
  grep -qF "$s" "$work/console.txt" || bad "console lacks '$s'"
done
if grep -q "Optimization Suggestions ([1-9]" "$work/console.txt"; then
  grep -qE "^  1\. \[(HIGH|MEDIUM|LOW)\]" "$work/console.txt" || bad "no [IMPACT] suggestion line"
  grep -q "Implementation:" "$work/console.txt" || bad "no Implementation: line"
  grep -qE "Expected Improvement: [0-9.]+%" "$work/console.txt" || bad "no Expected Improvement line"
fi
grep -q $'\033\[' "$work/console.txt" && bad "colour codes with --no-color"
python3 "$src/tests/scripts/check_report_schema.py" "$src/docs/report-schema.md" \
  "$work/out/report.json" "$work/console.txt" || bad "report.json does not match the schema"
python3 - "$work/out/report.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
ok = True
def bad(msg):
    global ok
    ok = False
    print("FAIL:", msg)
for s in r["optimization_suggestions"]:
    e = s["expected_improvement"]
    if not (0.0 <= e <= 1.0):
        bad("expected_improvement %r out of [0, 1]" % e)
    if s.get("basis") not in ("measured", "estimated"):
        bad("suggestion without a basis: %r" % s)
for k in ("database", "file", "api"):
    if k not in r["data_loading"]:
        bad("data_loading lacks " + k)
for k in ("small_model", "medium_model", "large_model"):
    if k not in r["model_inference"]:
        bad("model_inference lacks " + k)
# the call tree is the passes', not the data generation's that ran first in
# this process (the model training calls preprocess and predict under
# posts.datagen.train): else every experiment leaves them out of the pass
ops = r["performance"]["operations"]
parent = {o["name"]: (ops[o["parent"]]["name"] if o["parent"] >= 0 else None) for o in ops}
for site, under in (("posts.preprocess.batch", ("posts.load.source",)),
                    ("posts.model.predict", ("posts.infer.batch", "posts.serve.infer_misses"))):
    if parent.get(site, "absent") not in under:
        bad("%s under %r, not %s" % (site, parent.get(site, "absent"), " or ".join(under)))
for x in r["experiments"]:
    if x["name"] == "quantized" and not any(t["name"] == "posts.model.predict" for t in x["sites"]):
        bad("the int8 experiment has no posts.model.predict among its sites")
a = r.get("apply")
if not a or "before" not in a or "after" not in a:
    bad("no apply section with before/after")
else:
    for s in a["suggestions"]:
        if "predicted_improvement" not in s or "measured_improvement" not in s:
            bad("apply suggestion lacks predicted/measured: %r" % s)
print("report checks", "passed" if ok else "failed")
sys.exit(0 if ok else 1)
PY
[ -s "$work/out/report.html" ] || bad "no report.html beside report.json"
grep -q "<svg\|<script" "$work/out/report.html" || bad "report.html has no charts or script"
grep -qE "https?://" "$work/out/report.html" && grep -qE "src=\"https?://|href=\"https?://" "$work/out/report.html" \
  && bad "report.html loads something from the network"
ls "$work/out" | grep -v -E '^report\.(json|html)$' | grep -q . && bad "stray files in the output dir: $(ls "$work/out")"

echo "-- --measure-only: the profiles without the knob experiments (the CI gate's runs)"
"$pp" run --quick --measure-only --no-color --data "$work/data" --out "$work/out3" \
  > /dev/null 2> "$work/err4.txt" || bad "--measure-only: exit $?"
grep -q "\] performance" "$work/err4.txt" || bad "--measure-only: no performance phase"
grep -q "\] experiments" "$work/err4.txt" && bad "--measure-only ran the experiments"
python3 - "$work/out3/report.json" <<'PY' || bad "--measure-only report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["experiments"] == [], r["experiments"]
assert r["settings"]["profile.experiments"] == "0", r["settings"].get("profile.experiments")
assert "run.measure_only" not in r["settings"]
assert len(r["performance"]["pass_s"]) >= 1 and r["data_loading"], "profiles missing"
PY
"$pp" run --quick --measure-only --apply --data "$work/data" --out "$work/out4" > /dev/null 2> "$work/err5.txt"
rc=$?
[ $rc -eq 2 ] || bad "--measure-only --apply: exit $rc, want 2"
grep -q "measure-only" "$work/err5.txt" || bad "--measure-only --apply: message does not say why"

echo "-- a run's time limit it cannot meet: each experiment and measurement stops at 6 pairs"
printf '[profile]\nrun_budget_s = 1\n' > "$work/limit.ini"
"$pp" run --quick --apply --no-color --config "$work/limit.ini" --data "$work/data" \
  --out "$work/out5" > "$work/console5.txt" 2> "$work/err6.txt" || bad "run_budget_s = 1: exit $?"
grep -q "run's time limit" "$work/console5.txt" || bad "run_budget_s = 1: the console does not say what the limit stopped"
python3 - "$work/out5/report.json" <<'PY' || bad "run_budget_s = 1: report"
import json, sys
r = json.load(open(sys.argv[1]))
xs = [x for x in r["experiments"] if x["sites"]]
assert xs, "no knob experiment"
for x in xs:  # the fewest pairs whose interval can exclude 1, no more
    assert x["repeats"] + x["pairs_set_aside"] == 6, (x["name"], x["repeats"], x["pairs_set_aside"])
assert any(x["cut_short"] for x in xs), [x["name"] for x in xs]
for a in r["apply"]["suggestions"]:
    assert a["pairs"] <= 6, (a["description"], a["pairs"])
# --quick's fewest seconds (no causal section where the phase cannot run:
# the sanitizer builds, whose runtime the causal shim does not load under)
if "causal" in r:
    assert r["causal"]["budget_s"] == 3, r["causal"]["budget_s"]
PY

echo "-- unknown config key"
printf '[thresholds]\nslow_s = 2\nno_such_key = 1\n' > "$work/bad.ini"
"$pp" run --quick --config "$work/bad.ini" --data "$work/data" --out "$work/out2" \
  > /dev/null 2> "$work/err1.txt"
rc=$?
[ $rc -eq 2 ] || bad "unknown config key: exit $rc, want 2"
grep -q "bad.ini:3" "$work/err1.txt" || bad "error does not name file:line: $(cat "$work/err1.txt")"
grep -q "no_such_key" "$work/err1.txt" || bad "error does not name the key"
[ -e "$work/out2/report.json" ] && bad "report written despite a bad config"

echo "-- unwritable output directory"
touch "$work/not_a_dir"
"$pp" run --quick --data "$work/data" --out "$work/not_a_dir/out" > /dev/null 2> "$work/err2.txt"
rc=$?
[ $rc -eq 2 ] || bad "unwritable out: exit $rc, want 2"
grep -q "not_a_dir/out" "$work/err2.txt" || bad "error does not name the directory: $(cat "$work/err2.txt")"

echo "-- unknown flag"
"$pp" run --frobnicate 2> "$work/err3.txt" >/dev/null
[ $? -eq 2 ] || bad "unknown flag: exit code"
head -1 "$work/err3.txt" | grep -q "frobnicate" || bad "unknown flag not named"
[ $fail -eq 0 ] && echo "run test passed"
exit $fail
