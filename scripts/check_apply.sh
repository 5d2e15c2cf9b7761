#!/usr/bin/env bash
# check_apply.sh - The optimizer's targets (issue 10), measured: over RUNS
# default `postprof run --apply` runs (2 by default) and one `--quick` run,
# how many applied suggestions measure inside their predicted interval (or
# within 2 points of the prediction), how many predicted intervals are
# narrow (half-width <= max(3 points, 30 % of the prediction)), whether any
# suggestion's gain interval reaches 1 %, whether any printed x-factor
# disagrees in direction with its times, and the wall time of each run
# (the data set and models are generated first, untimed: a one-time step,
# printed as datagen_s) with the phases that took the most of it.
# Prints `name: value` lines (docs/benchmarks.md); exit 1 when a target is missed.
#
# usage: scripts/check_apply.sh BUILD_DIR [WORK_DIR]   (BUILD_DIR: a Release build)
# RUN_ARGS: more flags for the default runs (e.g. RUN_ARGS="--config x.ini"
# to try another budget); RUNS: how many default runs (2).
set -u
build=${1:?usage: check_apply.sh BUILD_DIR [WORK_DIR]}
work=${2:-$(mktemp -d /tmp/check_apply.XXXXXX)}
runs=${RUNS:-2}
pp="$build/cli/postprof"
[ -x "$pp" ] || { echo "no $pp" >&2; exit 2; }
mkdir -p "$work"
slow=0
echo "load_before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cpus: $(nproc)"
for d in data:100000 data_quick:20000; do
  dir=$work/${d%%:*}
  [ -f "$dir/posts.db" ] && continue
  t0=$(date +%s.%N)
  "$pp" datagen --out "$dir" --posts "${d##*:}" --quiet > /dev/null 2> "$dir.err" ||
    { echo "datagen failed" >&2; cat "$dir.err" >&2; exit 2; }
  echo "datagen_${d%%:*}_s: $(echo "$(date +%s.%N) - $t0" | bc)"
done
# a run that could not find one of the project's libraries (the causal
# phase's libpostprof_causal.so: a copy of the binary without the build
# tree beside it) measures another program than a user's: its figures are
# not the product's, so the check stops
whole() {
  if grep -q "not found (set POSTPROF_" "$1"; then
    echo "$1: $(grep -m1 "not found (set POSTPROF_" "$1")" >&2
    echo "check_apply.sh: give a build directory (its cli/postprof finds src/ beside it)" >&2
    exit 2
  fi
}
# a run's phases: "[  41.3s] analyze (experiments took 40.1 s)" -> experiments_s
phases() {
  sed -n 's/.*(\(.*\) took \([0-9.]*\) s)$/\1 \2/p' "$1" |
    awk -v p="$2" '$NF >= 0.5 { v = $NF; $NF = ""; gsub(/[ :]+/, "_"); sub(/_$/, ""); print p "_" $0 "_s: " v }'
}

for i in $(seq 1 "$runs"); do
  # REST_S: seconds of idle before each default run (the 2-core VM this was
  # measured on slows by ~1.4x after a minute of load and recovers within
  # ~30 s idle: docs/benchmarks.md, "The machine's slow state")
  [ "${REST_S:-0}" != 0 ] && sleep "$REST_S"
  echo "load_before_run_${i}: $(cut -d' ' -f1 /proc/loadavg)"
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086 # RUN_ARGS: several flags
  "$pp" run --data "$work/data" --out "$work/run$i" --apply --no-color ${RUN_ARGS:-} \
    > "$work/run$i.txt" 2> "$work/run$i.err" || { echo "run $i failed" >&2; tail "$work/run$i.err" >&2; exit 2; }
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc)
  whole "$work/run$i.err"
  echo "default_run_${i}_s: $secs"
  phases "$work/run$i.err" "run${i}"
  [ "$(echo "$secs > 90" | bc)" = 1 ] && slow=1
done
t0=$(date +%s.%N)
"$pp" run --data "$work/data_quick" --out "$work/quick" --quick --no-color \
  > "$work/quick.txt" 2> "$work/quick.err" || { echo "quick run failed" >&2; exit 2; }
t1=$(date +%s.%N)
secs=$(echo "$t1 - $t0" | bc)
whole "$work/quick.err"
echo "quick_run_s: $secs"
phases "$work/quick.err" quick
[ "$(echo "$secs > 20" | bc)" = 1 ] && slow=1
echo "load_after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$work" "$runs" <<'EOF'
import json, math, re, sys
work, runs = sys.argv[1], int(sys.argv[2])
applied = hits = near = narrow = intervals = gate = xdir = 0
attainable = 0.0
other_speed = other_speed_near = near_printed = 0
comb = []
errs, zs = [], []
for i in range(1, runs + 1):
    r = json.load(open("%s/run%d/report.json" % (work, i)))
    for s in r.get("optimization_suggestions", []):
        lo, hi, e = s["expected_improvement_low"], s["expected_improvement_high"], s["expected_improvement"]
        if s.get("basis") == "measured":
            intervals += 1
            if (hi - lo) / 2 <= max(0.03, 0.3 * e):
                narrow += 1
            if lo <= 0.01:
                gate += 1
    for x in r.get("experiments", []):
        if (x["speedup"] - 1) * (x["base_s"] - x["cand_s"]) < 0:
            xdir += 1
    ap = r.get("apply") or {}
    ms = ap.get("machine_speed") or {}
    if ms:
        print("run%d machine speed in --apply: %.2fx the experiments' (%.2f-%.2f)%s" % (
            i, ms["ratio"], ms["ratio_low"], ms["ratio_high"], ", another speed" if ms["differs"] else ""),
            file=sys.stderr)
    for a in ap.get("suggestions", []):
        applied += 1
        hits += bool(a.get("hit"))
        # judged by the prediction that holds at --apply's speed: the printed
        # one, or the one made again there when the machine's speed differed
        at = a.get("at_apply_speed") or {}
        pred = at["predicted"] if at.get("judged") else a["predicted_improvement"]
        ok = bool(a.get("hit")) or abs(a["measured_improvement"] - pred) <= 0.02
        near += ok
        # the miss against both phases' own noise: the prediction's 90 %
        # half-width and the measurement's 95 % one as standard errors
        lo = at["predicted_low"] if at.get("judged") else a["predicted_low"]
        hi = at["predicted_high"] if at.get("judged") else a["predicted_high"]
        se = (((hi - lo) / 2 / 1.645) ** 2 + ((a["measured_high"] - a["measured_low"]) / 2 / 1.96) ** 2) ** 0.5
        # the chance of "inside or within 2 points" for a prediction exactly
        # as right as its interval says (the gain drawn from it, as a
        # normal of the 90 % half-width), measured with this measurement's
        # noise (its 95 % half-width as a normal): what the two phases'
        # noise alone allows, whatever the model
        if se > 0:
            cdf = lambda x: 0.5 * (1 + math.erf(x / se / 2 ** 0.5))
            attainable += cdf(max(hi - pred, 0.02)) - cdf(min(lo - pred, -0.02))
        errs.append(a["measured_improvement"] - pred)
        if se > 0:
            zs.append((a["measured_improvement"] - pred) / se)
        printed_hit = a.get("hit_as_predicted", a.get("hit"))
        near_printed += bool(printed_hit) or abs(a["measured_improvement"] - a["predicted_improvement"]) <= 0.02
        if ms.get("differs"):
            other_speed += 1
            other_speed_near += ok
        print("run%d %s=%s: predicted %.1f%% (%.1f-%.1f)%s measured %.1f%% (%.1f-%.1f) %s" % (
            i, a["setting"]["knob"] if a.get("setting") else "?", a["setting"]["value"] if a.get("setting") else "",
            100 * a["predicted_improvement"], 100 * a.get("predicted_low", 0), 100 * a.get("predicted_high", 0),
            " at --apply's speed %.1f%% (%.1f-%.1f)" % (100 * at["predicted"], 100 * at["predicted_low"],
                                                      100 * at["predicted_high"]) if at.get("judged") else "",
            100 * a["measured_improvement"], 100 * a.get("measured_low", 0), 100 * a.get("measured_high", 0),
            "hit" if a.get("hit") else "miss"), file=sys.stderr)
    c = ap.get("combined")
    if c:
        comb.append(c)
        print("run%d combined: predicted %.1f%% (%.1f-%.1f) measured %.1f%% (%.1f-%.1f)" % (
            i, 100 * c["predicted"], 100 * c["predicted_low"], 100 * c["predicted_high"],
            100 * c["measured"], 100 * c["measured_low"], 100 * c["measured_high"]), file=sys.stderr)
# the console's x-factors against the times beside them ("a -> b (1.23x")
for i in range(1, runs + 1):
    for m in re.finditer(r"([0-9.]+)(ns|us|ms|s) -> ([0-9.]+)(ns|us|ms|s) \(([0-9.]+)x",
                         open("%s/run%d.txt" % (work, i)).read()):
        u = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}
        a, b, f = float(m.group(1)) * u[m.group(2)], float(m.group(3)) * u[m.group(4)], float(m.group(5))
        if (f - 1) * (a - b) < 0:
            xdir += 1
print("applied_suggestions: %d" % applied)
print("inside_predicted_interval: %d" % hits)
print("inside_or_within_2_points_ratio: %.3f" % (near / applied if applied else 0))
# a diagnostic, not a target: the same ratio expected of predictions exactly
# as right as their intervals say, given both phases' noise in these runs
# (well under 0.9: the measurements are too noisy for the target, whatever
# the model; the ratio above well under this one: the model misses)
print("attainable_inside_or_within_2_points_ratio: %.3f" % (attainable / applied if applied else 0))
# the same against the intervals printed with the suggestions, whatever the
# machine's speed in --apply (a diagnostic: equal unless it differed)
print("inside_or_within_2_points_as_printed_ratio: %.3f" % (near_printed / applied if applied else 0))
print("narrow_intervals_ratio: %.3f" % (narrow / intervals if intervals else 0))
print("suggestions_reaching_1_percent: %d" % gate)
# a diagnostic, not a target: suggestions applied at another speed of the
# machine than their experiments ran at (apply.machine_speed.differs)
print("applied_at_another_speed: %d" % other_speed)
print("applied_at_another_speed_inside_or_within_2: %d" % other_speed_near)
print("xfactor_direction_disagreements: %d" % xdir)
# diagnostics, not targets: how far the measurements fell from the
# predictions (points), and that distance over both phases' own noise (a
# spread near 1: the intervals are as wide as the two phases' noise says;
# above 1: something else moves the measurement, e.g. the machine's speed)
def sd(x):
    m = sum(x) / len(x)
    return (sum((v - m) ** 2 for v in x) / len(x)) ** 0.5
if errs:
    print("measured_minus_predicted_mean_points: %.1f" % (100 * sum(errs) / len(errs)))
    print("measured_minus_predicted_sd_points: %.1f" % (100 * sd(errs)))
if zs:
    print("miss_over_both_noises_sd: %.2f" % sd(zs))
ok = applied > 0 and near >= 0.9 * applied and narrow >= 0.9 * intervals and gate == 0 and xdir == 0
sys.exit(0 if ok else 1)
EOF
rc=$?
echo "over_time_limit: $slow"
echo "work: $work"
[ "$slow" = 0 ] || rc=1
exit $rc
