#!/usr/bin/env python3
"""bench_gate.py POSTPROF WORKDIR [options] - Does the CI recipe of
docs/ci-gate.md hold on this machine? Prints `name: value` lines.

1. A pool of ROUNDS rounds of `postprof run --quick --measure-only --config
   bench/gate/ci-gate.ini`, each round three runs one right after the other:
   the baseline (A), the baseline again (A2) and a slower setting (B,
   default --batch-size 6: more, smaller batches), the order rotating from
   round to round so no side always goes first. Every run is its own process,
   independent of the others except for what the machine did at the time.
2. One recipe run is RUNS baseline and RUNS candidate runs interleaved, then
   `postprof compare`: its time is the first RUNS rounds' A and B runs as they
   ran, plus that compare.
3. Trials: each trial draws RUNS distinct rounds of the pool, which is RUNS
   rounds of the recipe: A/A compares their A runs with their A2 runs, A/B
   their A runs with their B runs, each with the real `postprof compare`,
   exit 1 = alarm. The two
   sides of a trial never share a run, but trials share rounds with each other
   (the pool holds ROUNDS rounds, not TRIALS x RUNS): the rates say how often
   the gate alarms given the spread this machine produced while the pool ran,
   not TRIALS independent executions of the recipe.
4. The slowdown the slower setting really caused (median over rounds of B/A),
   the spread of one run's end-to-end CPU time, and from it the runs per side
   the gate would need to catch that slowdown in 90 % of trials.
5. Why runs, not passes, are the samples: on the A/A trials, how often a 95 %
   interval of the CPU time per pass excludes 1 (nominally 5 %) with one value
   per run (each run's median pass) and with every pass of every run pooled
   as if independent. Then 100 pairs of single reports (A/A) that must never
   exit 1.

The floor of the measurement is the A/A arm: the same decision on runs that
differ only by noise.
"""
import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

Z975, Z90 = 1.959964, 1.281552  # the normal's 97.5 % and 90 % quantiles


def run(pp, out, data, extra, ini):
    t0 = time.monotonic()
    cmd = [pp, "run", "--quick", "--measure-only", "--no-color", "--config", ini, "--data", data,
           "--out", out] + extra
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("bench_gate: %s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    return time.monotonic() - t0


def compare(pp, base, cand, extra=(), level=None):
    """exit code of `postprof compare` and the metrics judged worse (level: a list that
    gets each metric's interval level)"""
    r = subprocess.run([pp, "compare", "--format", "json"] + list(extra) + [base, cand],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):
        sys.exit("bench_gate: compare %s %s: exit %d: %s" % (base, cand, r.returncode, r.stderr))
    out = json.loads(r.stdout)
    if level is not None:
        level.append(out["metric_confidence"])
    worse = [m["metric"] for m in out["metrics"] if m["verdict"] == "worse"]
    return r.returncode, worse


def side_dir(root, name, files):
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, f in enumerate(files):
        os.symlink(os.path.abspath(f), os.path.join(d, "run%02d.json" % i))
    return d


def perf(path):
    return json.load(open(path))["performance"]


def excludes_1(a, b):
    """does the 95 % Hodges-Lehmann/Mann-Whitney interval of b/a exclude 1? (normal approximation)"""
    d = sorted(math.log(y) - math.log(x) for x in a for y in b)
    m, n = len(a), len(b)
    k = int(math.floor(m * n / 2 - Z975 * math.sqrt(m * n * (m + n + 1) / 12)))
    return k >= 1 and (d[k - 1] > 0 or d[m * n - k] < 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("postprof")
    ap.add_argument("workdir")
    ap.add_argument("--runs", type=int, default=14, help="runs per side of the recipe")
    ap.add_argument("--rounds", type=int, default=28, help="rounds (A, A2, B) in the pool")
    ap.add_argument("--trials", type=int, default=60, help="trials per arm (>= 20)")
    ap.add_argument("--slower", default="--batch-size 6", help="the slower setting")
    ap.add_argument("--reuse", action="store_true", help="reuse a pool already in WORKDIR")
    a = ap.parse_args()
    if a.trials < 20 or a.rounds < a.runs:
        sys.exit("bench_gate: needs --trials >= 20 and --rounds >= --runs")
    pp = os.path.abspath(a.postprof)
    ini = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ci-gate.ini")
    wd = os.path.abspath(a.workdir)
    data, pool = os.path.join(wd, "data"), os.path.join(wd, "pool")
    slower = a.slower.split()
    knob = []
    for f in slower:
        if f.startswith("--"):
            knob += ["--expect-change", f[2:]]
    arms = {"a": [], "a2": [], "b": slower}
    name = lambda arm, i: os.path.join(pool, arm, "r%02d" % i, "report.json")
    loads = []

    def load_now():
        with open("/proc/loadavg") as f:
            loads.append(float(f.read().split()[0]))

    times_path = os.path.join(wd, "times.json")
    load_now()
    if not a.reuse:
        shutil.rmtree(pool, ignore_errors=True)
        os.makedirs(pool)
        run(pp, os.path.join(wd, "warmup"), data, [], ini)  # makes the data set, warms caches
        times = {k: [] for k in arms}
        orders = [("a", "b", "a2"), ("b", "a2", "a"), ("a2", "a", "b")]
        for i in range(a.rounds):
            for arm in orders[i % 3]:
                times[arm].append(run(pp, os.path.dirname(name(arm, i)), data, arms[arm], ini))
            load_now()
        json.dump({"times": times, "loads": loads}, open(times_path, "w"))
    else:
        saved = json.load(open(times_path))
        times, loads = saved["times"], saved["loads"]
    t0 = time.monotonic()
    level = []
    compare(pp, side_dir(wd, "recipe_base", [name("a", k) for k in range(a.runs)]),
            side_dir(wd, "recipe_cand", [name("b", k) for k in range(a.runs)]), knob, level)
    t_recipe = sum(times["a"][:a.runs]) + sum(times["b"][:a.runs]) + (time.monotonic() - t0)

    P = {arm: [perf(name(arm, i)) for i in range(a.rounds)] for arm in arms}
    rnd = random.Random(20261205)
    trials = os.path.join(wd, "trials")
    rate = {}
    aa_rows = {}
    run_sig = pooled_sig = 0
    for t in range(a.trials):
        S = rnd.sample(range(a.rounds), a.runs)
        base = side_dir(trials, "base", [name("a", i) for i in S])
        same = side_dir(trials, "same", [name("a2", i) for i in S])
        slow = side_dir(trials, "slow", [name("b", i) for i in S])
        rc, worse = compare(pp, base, same)
        rate["aa"] = rate.get("aa", 0) + (rc == 1)
        for m in worse:
            aa_rows[m] = aa_rows.get(m, 0) + 1
        rc, worse = compare(pp, base, slow, knob)
        rate["ab"] = rate.get("ab", 0) + (rc == 1)
        # caught as what it is: an end-to-end row (wall or CPU time per pass) worse
        e2e = rc == 1 and any(m.startswith("end_to_end") for m in worse)
        rate["ab_e2e"] = rate.get("ab_e2e", 0) + e2e
        # A/A, CPU time per pass: does the interval exclude 1 (either way)?
        ra = [statistics.median(P["a"][i]["pass_cpu_s"]) for i in S]
        rb = [statistics.median(P["a2"][i]["pass_cpu_s"]) for i in S]
        run_sig += excludes_1(ra, rb)
        pa = [x for i in S for x in P["a"][i]["pass_cpu_s"]]
        pb = [x for i in S for x in P["a2"][i]["pass_cpu_s"]]
        pooled_sig += excludes_1(pa, pb)
    single = npairs = 0
    A = [name("a", i) for i in range(a.rounds)]
    for i in range(a.rounds):
        for j in range(a.rounds):
            if i != j and npairs < 100:
                single += compare(pp, A[i], A[j])[0] == 1
                npairs += 1
    med = statistics.median
    cpu = lambda arm, i: med(P[arm][i]["pass_cpu_s"])
    wall = lambda arm, i: med(P[arm][i]["pass_s"])
    r_cpu = med([cpu("b", i) / cpu("a", i) for i in range(a.rounds)])
    r_wall = med([wall("b", i) / wall("a", i) for i in range(a.rounds)])
    # one run's spread: standard deviation of the logs of the baseline runs' values (A and A2)
    def spread(f):
        return statistics.stdev([math.log(f(arm, i)) for arm in ("a", "a2") for i in range(a.rounds)])
    s_cpu, s_wall = spread(cpu), spread(wall)
    # runs per side for 90 % power at this ratio, at the level compare judges each
    # metric (simultaneous intervals): Hodges-Lehmann efficiency 3/pi
    z = statistics.NormalDist().inv_cdf(1 - (1 - level[0]) / 2)

    def need(ratio, s):
        d = math.log(ratio) - math.log(1.05)
        return math.ceil(2 * ((z + Z90) * s / d) ** 2 / (3 / math.pi)) if d > 0 else 0
    # the slowdown these runs per side catch in 90 % of trials at this spread
    catch90 = 1.05 * math.exp((z + Z90) * s_cpu * math.sqrt(2.0 / a.runs / (3 / math.pi)))
    T = float(a.trials)
    print("gate_runs_per_side: %d" % a.runs)
    print("gate_pool_rounds: %d" % a.rounds)
    print("gate_trials_per_arm: %d" % a.trials)
    print("gate_slowdown_cpu_ratio: %.3f" % r_cpu)
    print("gate_slowdown_wall_ratio: %.3f" % r_wall)
    print("gate_run_spread_cpu_log: %.3f" % s_cpu)
    print("gate_run_spread_wall_log: %.3f" % s_wall)
    print("gate_aa_false_alarm_rate: %.3f" % (rate["aa"] / T))
    print("gate_aa_false_alarm_rows: %s" %
          (",".join("%s=%d" % kv for kv in sorted(aa_rows.items())) or "none"))
    print("gate_ab_exit1_rate: %.3f" % (rate["ab"] / T))
    print("gate_ab_end_to_end_caught_rate: %.3f" % (rate["ab_e2e"] / T))
    print("gate_metric_interval_level: %.4f" % level[0])
    print("gate_runs_per_side_for_90pct_cpu: %d" % need(r_cpu, s_cpu))
    print("gate_ratio_caught_90pct_cpu: %.3f" % catch90)
    print("gate_runs_per_side_for_90pct_at_15pct_cpu: %d" % need(1.15, s_cpu))
    print("gate_aa_cpu_differs_runs_as_samples: %.3f" % (run_sig / T))
    print("gate_aa_cpu_differs_passes_pooled: %.3f" % (pooled_sig / T))
    print("gate_single_report_aa_pairs: %d" % npairs)
    print("gate_single_report_aa_exit1: %d" % single)
    print("gate_run_seconds_median: %.1f" % med(times["a"] + times["a2"] + times["b"]))
    print("gate_recipe_seconds: %.1f" % t_recipe)
    print("gate_load_average_1min: %.1f min, %.1f median, %.1f max" %
          (min(loads), med(loads), max(loads)))


if __name__ == "__main__":
    main()
