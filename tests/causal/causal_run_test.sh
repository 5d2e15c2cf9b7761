#!/usr/bin/env bash
# `postprof run`'s causal phase (docs/causal.md, "In postprof run"): with
# overlapping loaders (--concurrent-load) the report has a causal section for
# the loading stage scopes, within its --quick budget, every point with its
# interval or marked not decided, its flags agreeing with its own figures
# (check_report_schema.py), a verdict per scope; the console prints it; with
# --measure-only it does not run and says so.
# usage: causal_run_test.sh POSTPROF SRC_DIR WORKDIR
set -euo pipefail
pp=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
# no run-wide time limit: the phase gets --quick's whole 8 s however long the
# experiments before it took (run.end_to_end checks the limit)
printf '[profile]\nrun_budget_s = 0\n' > "$work/nolimit.ini"
"$pp" run --quick --no-color --concurrent-load --posts 3000 --data "$work/data" \
  --config "$work/nolimit.ini" --out "$work/out" > "$work/console.txt" 2> "$work/err.txt" || {
  cat "$work/err.txt"; exit 1; }
python3 "$src/tests/scripts/check_report_schema.py" "$src/docs/report-schema.md" \
  "$work/out/report.json" "$work/console.txt"
python3 - "$work/out/report.json" "$work/console.txt" <<'PY'
import json, os, sys
doc = json.load(open(sys.argv[1]))
console = open(sys.argv[2]).read()
c = doc.get("causal")
assert isinstance(c, dict), "no causal section: %r" % sorted(doc)
assert c["progress"] == "posts.batch_scored", c["progress"]
assert c["phase"] == "posts.pipeline.load", c["phase"]
names = sorted(s["name"] for s in c["sites"])
assert names == ["posts.infer.batch", "posts.load.batch", "posts.preprocess.batch"], names
# --quick stays quick: 8 s allowed, the last run stopped within 3 s after
assert c["budget_s"] == 8, c["budget_s"]
assert c["seconds"] <= c["budget_s"] + 4, c["seconds"]
assert c["experiments"] > 0 and c["runs"] >= 1
for s in c["sites"]:
    assert [round(p["speedup"], 3) for p in s["points"]] == [0.5], s
    assert s["verdict"], s
    for p in s["points"]:
        assert p["experiments"] >= 1, p
        if not p["decided"]:
            assert "not decided" in console
assert "Causal Predictions" in console
assert "progress point posts.batch_scored" in console
if c["undecided"]:
    assert c["note"], "undecided points without a note"
# --concurrent-load: 8 pipeline threads; on fewer cores the note says the
# consumer's predictions may come out low (docs/causal.md, Limits)
if (os.sysconf("SC_NPROCESSORS_ONLN") or 0) < 8:
    assert "pipeline threads on" in c["note"], c["note"]
print("causal phase: %d experiments in %.1f s, %d undecided" % (c["experiments"], c["seconds"],
                                                                c["undecided"]))
for s in c["sites"]:
    p = s["points"][0]
    print("  %-24s share %s: %+.1f%% [%s, %s] share predicts %s; %s" % (
        s["name"], s["share"], 100 * p["gain"], p["gain_low"], p["gain_high"], p["share_gain"],
        s["verdict"][:60]))
PY
"$pp" run --quick --measure-only --no-color --data "$work/data" --out "$work/out2" \
  > "$work/console2.txt" 2> "$work/err2.txt"
python3 -c "
import json, sys
d = json.load(open('$work/out2/report.json'))
assert 'causal' not in d, 'a causal section with --measure-only'
"
grep -q "not run: --measure-only" "$work/console2.txt"
echo "causal run test passed"
