#!/usr/bin/env python3
"""bench_gate.py POSTPROF WORKDIR [options] - Does the CI recipe of
docs/ci-gate.md hold on this machine? Prints `name: value` lines.

1. Runs the recipe's `postprof run` (--quick, bench/gate/ci-gate.ini) as a
   pool of interleaved pairs: baseline settings, then a slower setting
   (default --batch-size 6: more, smaller batches), POOL times. The first
   RUNS of each are one recipe run, timed end to end with its compare.
2. Trials: RUNS baseline reports against RUNS other baseline reports (A/A)
   and against RUNS slower ones (A/B), drawn without replacement from the
   pool, each judged by the real `postprof compare` (exit 1 = alarm).
   Trials re-use the pool (resampling), so they are not independent runs of
   the recipe: they show how often the gate alarms given the spread this
   machine produced while the pool was made. The pool's own ratio of the
   slower setting (median over pairs) says how large the regression was.
3. A/A with one report per side: every pair of distinct pool reports; the
   gate must never exit 1 on them.

The floor of the measurement is the A/A arm: the same decision on runs that
differ only by noise.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time


def run(pp, out, data, extra, ini):
    t0 = time.monotonic()
    cmd = [pp, "run", "--quick", "--no-color", "--config", ini, "--data", data, "--out", out] + extra
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("bench_gate: %s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    return time.monotonic() - t0


def compare(pp, base, cand, extra=(), rows=False):
    """exit code of `postprof compare`; with rows, also the metrics judged worse"""
    r = subprocess.run([pp, "compare", "--format", "json"] + list(extra) + [base, cand],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):
        sys.exit("bench_gate: compare %s %s: exit %d: %s" % (base, cand, r.returncode, r.stderr))
    if not rows:
        return r.returncode
    import json
    worse = [m["metric"] for m in json.loads(r.stdout)["metrics"] if m["verdict"] == "worse"]
    return r.returncode, worse


def side_dir(root, name, files):
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, f in enumerate(files):
        os.symlink(os.path.abspath(f), os.path.join(d, "run%02d.json" % i))
    return d


def e2e(path, key):
    import json
    p = json.load(open(path))["performance"]
    return statistics.median(p[key])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("postprof")
    ap.add_argument("workdir")
    ap.add_argument("--runs", type=int, default=10, help="runs per side of the recipe")
    ap.add_argument("--pool", type=int, default=22, help="interleaved pairs in the pool")
    ap.add_argument("--trials", type=int, default=100, help="trials per arm (>= 20)")
    ap.add_argument("--slower", default="--batch-size 6", help="the slower setting")
    ap.add_argument("--reuse", action="store_true", help="reuse a pool already in WORKDIR")
    a = ap.parse_args()
    pp = os.path.abspath(a.postprof)
    here = os.path.dirname(os.path.abspath(__file__))
    ini = os.path.join(here, "ci-gate.ini")
    wd = os.path.abspath(a.workdir)
    data, pool = os.path.join(wd, "data"), os.path.join(wd, "pool")
    slower = a.slower.split()
    knob = []
    for f in slower:
        if f.startswith("--"):
            knob += ["--expect-change", f[2:]]
    name = lambda side, i: os.path.join(pool, side, "r%02d" % i, "report.json")
    if a.runs * 2 > a.pool:
        sys.exit("bench_gate: the pool needs at least 2 x --runs pairs for A/A trials")
    with open("/proc/loadavg") as f:
        load0 = float(f.read().split()[0])
    times = {"a": [], "b": []}
    t_recipe = None
    if not a.reuse:
        shutil.rmtree(pool, ignore_errors=True)
        os.makedirs(pool)
        run(pp, os.path.join(wd, "warmup"), data, [], ini)  # makes the data set, warms caches
        t0 = time.monotonic()
        for i in range(a.pool):
            times["a"].append(run(pp, os.path.dirname(name("a", i)), data, [], ini))
            times["b"].append(run(pp, os.path.dirname(name("b", i)), data, slower, ini))
            if i + 1 == a.runs:  # the first RUNS pairs are one recipe run: add its compare
                t1 = time.monotonic()
                compare(pp, side_dir(wd, "recipe_base", [name("a", k) for k in range(a.runs)]),
                        side_dir(wd, "recipe_cand", [name("b", k) for k in range(a.runs)]),
                        knob)
                t_recipe = (t1 - t0) + (time.monotonic() - t1)
    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    A = [name("a", i) for i in range(a.pool)]
    B = [name("b", i) for i in range(a.pool)]
    rnd = random.Random(20261205)
    trials = os.path.join(wd, "trials")
    aa = ab = ab_e2e = 0
    aa_rows = {}
    for t in range(a.trials):
        pick = rnd.sample(A, 2 * a.runs)
        rc, worse = compare(pp, side_dir(trials, "base", pick[:a.runs]),
                            side_dir(trials, "cand", pick[a.runs:]), rows=True)
        aa += rc == 1
        for m in worse:
            aa_rows[m] = aa_rows.get(m, 0) + 1
        rc, worse = compare(pp, side_dir(trials, "base", rnd.sample(A, a.runs)),
                            side_dir(trials, "cand", rnd.sample(B, a.runs)), knob, rows=True)
        ab += rc == 1
        # caught as what it is: an end-to-end row (wall or CPU time per pass) worse
        ab_e2e += rc == 1 and any(m.startswith("end_to_end") for m in worse)
    single = 0
    npairs = 0
    for i in range(a.pool):
        for j in range(a.pool):
            if i != j and npairs < 100:
                single += compare(pp, A[i], A[j]) == 1
                npairs += 1
    wall = [e2e(B[i], "pass_s") / e2e(A[i], "pass_s") for i in range(a.pool)]
    cpu = [e2e(B[i], "pass_cpu_s") / e2e(A[i], "pass_cpu_s") for i in range(a.pool)]
    print("gate_runs_per_side: %d" % a.runs)
    print("gate_pool_pairs: %d" % a.pool)
    print("gate_trials_per_arm: %d" % a.trials)
    print("gate_aa_false_alarm_rate: %.3f" % (aa / a.trials))
    print("gate_aa_false_alarm_rows: %s" % (",".join("%s=%d" % kv for kv in sorted(aa_rows.items())) or "none"))
    print("gate_ab_exit1_rate: %.3f" % (ab / a.trials))
    print("gate_ab_end_to_end_caught_rate: %.3f" % (ab_e2e / a.trials))
    print("gate_single_report_aa_pairs: %d" % npairs)
    print("gate_single_report_aa_exit1: %d" % single)
    print("gate_slowdown_wall_ratio: %.3f" % statistics.median(wall))
    print("gate_slowdown_cpu_ratio: %.3f" % statistics.median(cpu))
    if times["a"]:
        print("gate_run_seconds_median: %.1f" % statistics.median(times["a"] + times["b"]))
    if t_recipe is not None:
        print("gate_recipe_seconds: %.1f" % t_recipe)
    print("gate_load_average_1min: %.1f -> %.1f" % (load0, load1))


if __name__ == "__main__":
    main()
