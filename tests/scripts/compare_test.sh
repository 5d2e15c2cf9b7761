#!/bin/sh
# compare_test.sh POSTPROF REPORT.json WORKDIR - `postprof compare` as a CI
# gate, on runs made from one real report with seeded noise: every exit code
# (0 A/A and one run per side, 1 a clear slowdown, 2 usage errors, unreadable,
# broken and incomparable reports), directories of runs, every output format.
set -u
pp=$1 report=$2 dir=$3
rm -rf "$dir"
mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }

# runs: DIR N SCALE SEED [SETTING=VALUE]: N runs whose passes and batches are
# the report's times scaled by SCALE, with 2 % noise between runs
python3 - "$report" "$dir" <<'PY' || fail "could not write the runs"
import json, os, random, sys
src, out = sys.argv[1], sys.argv[2]
base = json.load(open(src))
def runs(name, n, scale, seed, layout="subdir", setting=None):
    rnd = random.Random(seed)
    os.makedirs(os.path.join(out, name), exist_ok=True)
    for i in range(n):
        d = json.loads(json.dumps(base))
        level = scale * rnd.lognormvariate(0, 0.02)
        d["performance"]["pass_s"] = [x * level * rnd.lognormvariate(0, 0.005)
                                      for x in d["performance"]["pass_s"]]
        for k, s in d["data_loading"].items():
            if isinstance(s, dict) and "batch_s" in s:
                s["batch_s"] = [x * level for x in s["batch_s"]]
        if setting:
            d["settings"][setting[0]] = setting[1]
        if layout == "subdir":
            os.makedirs(os.path.join(out, name, "run%02d" % i), exist_ok=True)
            path = os.path.join(out, name, "run%02d" % i, "report.json")
        else:
            path = os.path.join(out, name, "run%02d.json" % i)
        json.dump(d, open(path, "w"))
runs("base", 6, 1.0, 1)
runs("same", 6, 1.0, 2, layout="flat")
runs("slow", 6, 1.3, 3)
runs("single_base", 1, 1.0, 4)
runs("single_slow", 1, 1.5, 5)
runs("batch16", 6, 1.3, 6, setting=("knob.batch_size", "16"))
runs("bigdata", 6, 1.0, 7, setting=("data.bytes", "1"))
runs("broken", 3, 1.0, 8)
open(os.path.join(out, "broken", "run01", "report.json"), "w").write('{"schema_version": 1, "system_stats": 3}')
os.makedirs(os.path.join(out, "empty"), exist_ok=True)
# interleaved runs (A B B A A B ...) on a runner whose load drifts: both runs
# of a pair share a level that wanders by 12 % a pair, each run adds its own
# noise
def pairs(name, n, scale, seed, alternate=True):
    rnd = random.Random(seed)
    level, t = 1.0, 1.8e9
    for i in range(n):
        level *= rnd.lognormvariate(0, 0.12)
        order = ("b", "c") if i % 2 == 0 else ("c", "b")
        for side in order:
            d = json.loads(json.dumps(base))
            v = level * (scale if side == "c" else 1.0)
            p = d["performance"]
            # CPU time steadier (0.5 %) than wall time (2 %)
            p["pass_cpu_s"] = [0.9 * x * v * rnd.lognormvariate(0, 0.005) for x in p["pass_s"]]
            w = rnd.lognormvariate(0, 0.02)
            p["pass_s"] = [x * v * w for x in p["pass_s"]]
            for k, s in d["data_loading"].items():
                if isinstance(s, dict) and "batch_s" in s:
                    s["batch_s"] = [x * v * w for x in s["batch_s"]]
            t += 5.0
            # not alternating: every baseline run first, then every candidate run
            d["system_stats"]["timestamp"] = t if alternate else (
                1.8e9 + 5.0 * i + (0 if side == "b" else 1000.0))
            os.makedirs(os.path.join(out, name + "_" + side), exist_ok=True)
            # file names in the opposite order of time: pairing follows the end times
            json.dump(d, open(os.path.join(out, name + "_" + side, "r%02d.json" % (n - i)), "w"))
pairs("drift_aa", 12, 1.0, 11)
pairs("drift_slow", 12, 1.15, 12)
pairs("seq", 12, 1.15, 13, alternate=False)
PY
grep -q '"knob.batch_size"' "$dir/base/run00/report.json" || fail "the report lacks settings"

# 0: A/A over six runs per side (one side in subdirectories, the other flat files)
"$pp" compare "$dir/base" "$dir/same" > "$dir/aa.txt"; rc=$?
[ $rc -eq 0 ] || fail "A/A: exit $rc"
grep -q "^0 regressions" "$dir/aa.txt" || fail "A/A: no '0 regressions'"
grep -q "baseline: 6 runs" "$dir/aa.txt" || fail "A/A: did not find 6 baseline runs"
grep -q "95 % simultaneous intervals (each of [0-9]* metrics at 99\.[0-9]* %)" "$dir/aa.txt" || fail "A/A: does not say the intervals are simultaneous"
grep -q "^end_to_end .*6/6" "$dir/aa.txt" || fail "A/A: no end_to_end row over 6/6 runs"
# 1: 30 % slower, six runs per side; the reverse is better
"$pp" compare "$dir/base" "$dir/slow" > "$dir/slow.txt"; rc=$?
[ $rc -eq 1 ] || fail "slower: exit $rc"
grep -q "^end_to_end .*worse" "$dir/slow.txt" || fail "slower: end_to_end not worse"
grep -q "^load\.[a-z]*\.p95 .*worse" "$dir/slow.txt" || fail "slower: no p95 row from batch samples"
"$pp" compare "$dir/slow" "$dir/base" > "$dir/fast.txt"; rc=$?
[ $rc -eq 0 ] || fail "faster: exit $rc"
grep -q "^end_to_end .*better" "$dir/fast.txt" || fail "faster: end_to_end not better"
# one run per side: never a regression, says what would decide
"$pp" compare "$dir/single_base/run00/report.json" "$dir/single_slow/run00/report.json" > "$dir/one.txt"; rc=$?
[ $rc -eq 0 ] || fail "one run per side: exit $rc"
grep -q "^end_to_end .*inconclusive: needs at least [4-9] runs per side" "$dir/one.txt" || fail "one run per side: not inconclusive"
"$pp" compare "$report" "$report" > /dev/null; rc=$?
[ $rc -eq 0 ] || fail "a report against itself: exit $rc"

# 2: not comparable, unless the change is expected or forced
"$pp" compare "$dir/base" "$dir/batch16" > /dev/null 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "other batch size: exit $rc"
grep -q "not comparable" "$dir/err.txt" || fail "other batch size: message"
grep -q "knob.batch_size: 8 vs 16" "$dir/err.txt" || fail "other batch size: does not say what differs"
grep -q "batch16/run00/report.json" "$dir/err.txt" || fail "other batch size: does not name the file"
"$pp" compare --expect-change batch-size "$dir/base" "$dir/batch16" > /dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "--expect-change: exit $rc"
"$pp" compare "$dir/base" "$dir/bigdata" > /dev/null 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "other data size: exit $rc"
grep -q "data size *data.bytes" "$dir/err.txt" || fail "other data size: message"
"$pp" compare --force --format json "$dir/base" "$dir/bigdata" > "$dir/forced.json" 2> /dev/null; rc=$?
[ $rc -eq 0 ] || fail "--force: exit $rc"
# a broken report in a directory, an empty directory, a missing file
"$pp" compare "$dir/base" "$dir/broken" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "broken report: exit $rc"
grep -q "broken/run01/report.json: report.system_stats: not an object" "$dir/err.txt" || fail "broken report: message does not name the file: $(cat "$dir/err.txt")"
"$pp" compare "$dir/base" "$dir/empty" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "empty directory: exit $rc"
grep -q "no reports" "$dir/err.txt" || fail "empty directory: message"
"$pp" compare "$report" "$dir/missing.json" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "missing file: exit $rc"
grep -q "missing.json" "$dir/err.txt" || fail "missing file: message does not name it"
# usage errors
"$pp" compare --bogus "$report" "$report" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc"
grep -q "unknown option '--bogus'" "$dir/err.txt" || fail "unknown option: message"
"$pp" compare --format xml "$report" "$report" 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "bad format: exit $rc"
"$pp" compare --tolerance -1 "$report" "$report" 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "bad tolerance: exit $rc"
"$pp" compare "$report" 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "one argument: exit $rc"
"$pp" compare --help > "$dir/help.txt" || fail "--help"
grep -q "1 regression" "$dir/help.txt" && grep -q "2 usage error, unreadable or incomparable" "$dir/help.txt" || fail "--help lacks the exit codes"

# formats
"$pp" compare --format json "$dir/base" "$dir/slow" > "$dir/slow.json"; rc=$?
[ $rc -eq 1 ] || fail "json: exit $rc"
python3 - "$dir/slow.json" "$dir/forced.json" <<'PY' || fail "json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exit_code"] == 1 and d["regressions"] >= 1, d
assert d["baseline"]["runs"] == 6 and len(d["candidate"]["files"]) == 6
e2e = [m for m in d["metrics"] if m["metric"] == "end_to_end"][0]
assert e2e["verdict"] == "worse" and 1.05 < e2e["low"] <= e2e["ratio"] <= e2e["high"], e2e
f = json.load(open(sys.argv[2]))
assert [m["setting"] for m in f["not_comparable"]] == ["data.bytes"], f["not_comparable"]
PY
"$pp" compare --format markdown "$dir/base" "$dir/slow" > "$dir/slow.md"; rc=$?
[ $rc -eq 1 ] || fail "markdown: exit $rc"
grep -q "^### postprof compare: [0-9]* regression" "$dir/slow.md" || fail "markdown: heading"
grep -q "^| metric | baseline | candidate | change | interval | runs | verdict |" "$dir/slow.md" || fail "markdown: table"
grep -q "^| end_to_end | .* | \*\*worse\*\* |" "$dir/slow.md" || fail "markdown: worse row"
"$pp" compare --format github "$dir/base" "$dir/slow" > "$dir/slow.gh"; rc=$?
[ $rc -eq 1 ] || fail "github: exit $rc"
grep -q "^::error title=performance regression::end_to_end: worse, +[0-9.]* %25" "$dir/slow.gh" || fail "github: error annotation"
"$pp" compare --format github "$dir/single_base" "$dir/single_slow" > "$dir/one.gh"; rc=$?
[ $rc -eq 0 ] || fail "github one run: exit $rc"
grep -q "^::warning title=inconclusive::end_to_end" "$dir/one.gh" || fail "github: warning annotation"
grep -q "^::error" "$dir/one.gh" && fail "github: one run per side raised an error"
# --paired: interleaved runs whose load drifts; a pair's runs share the drift
"$pp" compare --paired "$dir/drift_slow_b" "$dir/drift_slow_c" > "$dir/paired.txt"; rc=$?
[ $rc -eq 1 ] || fail "paired 15 % slower under drift: exit $rc"
grep -q "paired in the order they ran" "$dir/paired.txt" || fail "paired: does not say it paired"
grep -q "^end_to_end .*12/12 *worse" "$dir/paired.txt" || fail "paired: end_to_end not worse over 12 pairs"
grep -q "^steadiest measure of the pass's work: end_to_end.cpu (one pair's ratio varies by 0\.[0-9] %, end_to_end's by [1-4]\.[0-9] %)" "$dir/paired.txt" || fail "paired: CPU time is not the steadiest measure: $(cat "$dir/paired.txt")"
# the same runs unpaired: the drift hides the 15 %
"$pp" compare "$dir/drift_slow_b" "$dir/drift_slow_c" > "$dir/unpaired.txt"; rc=$?
[ $rc -eq 0 ] || fail "unpaired under drift: exit $rc"
grep -q "^end_to_end .*inconclusive" "$dir/unpaired.txt" || fail "unpaired under drift: not inconclusive"
"$pp" compare --paired "$dir/drift_aa_b" "$dir/drift_aa_c" > "$dir/paired_aa.txt"; rc=$?
[ $rc -eq 0 ] || fail "paired A/A: exit $rc"
"$pp" compare --paired --format json "$dir/drift_slow_b" "$dir/drift_slow_c" > "$dir/paired.json"; rc=$?
[ $rc -eq 1 ] || fail "paired json: exit $rc"
python3 - "$dir/paired.json" <<'PY' || fail "paired json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["paired"] is True and d["exit_code"] == 1, d
e2e = [m for m in d["metrics"] if m["metric"] == "end_to_end"][0]
assert e2e["verdict"] == "worse" and 1.05 < e2e["low"] <= 1.15 <= e2e["high"], e2e
assert 0.01 < e2e["spread"] < 0.05, e2e
cpu = [m for m in d["metrics"] if m["metric"] == "end_to_end.cpu"][0]
assert cpu["verdict"] == "worse" and 0 < cpu["spread"] < 0.01, cpu
PY
# 2: not as many runs per side, runs that did not alternate
mkdir -p "$dir/drift_short"
cp "$dir"/drift_slow_c/r0[2-9].json "$dir"/drift_slow_c/r1*.json "$dir/drift_short/"
"$pp" compare --paired "$dir/drift_slow_b" "$dir/drift_short" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "paired, 12 vs 11 runs: exit $rc"
grep -q "as many baseline runs as candidate runs: 12 in .*, 11 in" "$dir/err.txt" || fail "paired, 12 vs 11: message: $(cat "$dir/err.txt")"
"$pp" compare --paired "$dir/seq_b" "$dir/seq_c" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "paired, not alternating: exit $rc"
grep -q "did not alternate: .*seq_c/r12.json (pair 1) ended after .*seq_b/r11.json (pair 2)" "$dir/err.txt" || fail "paired, not alternating: message: $(cat "$dir/err.txt")"
"$pp" compare --paired "$dir/seq_b" "$dir/seq_c" > /dev/null 2>&1 && fail "paired, not alternating: exit 0"
echo "compare: ok"
