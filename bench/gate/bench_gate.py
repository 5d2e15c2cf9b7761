#!/usr/bin/env python3
"""bench_gate.py POSTPROF WORKDIR [options] - Does the CI recipe of
docs/ci-gate.md hold on this machine? Prints `name: value` lines.

1. The recipe itself, once, timed: PAIRS pairs of `postprof run --quick
   --measure-only --config bench/gate/ci-gate.ini`, each pair the baseline
   and the candidate (the same build with the test knob `--extra-work F`,
   default 0.15: after its own work the pipeline computes on for 15 % of the
   CPU time that work took) run by `postprof take-turns --cpu N` (their timed
   passes alternate, both on CPU N), the pairs in A B / B A order, then
   `postprof compare --paired`: its time and its exit code.
2. A pool of ROUNDS rounds, each round one `postprof take-turns --cpu N` of
   three runs whose passes go round: the baseline (A), the candidate (B) and
   the baseline again (A2). B's passes always sit in the middle; even rounds
   go A B A2, odd rounds A2 B A, so no position favours a side.
3. Trials: each trial draws PAIRS distinct rounds of the pool, which is PAIRS
   pairs of the recipe: A/A compares their A runs with their A2 runs (the
   base side alternating between the first and the last run of the round),
   A/B their A runs with their B runs, each with the real `postprof compare
   --paired`, exit 1 = alarm. The two sides of a trial never share a run, but
   trials share rounds with each other (the pool holds ROUNDS rounds, not
   TRIALS x PAIRS): the rates say how often the gate alarms given the spread
   this machine produced while the pool ran, not TRIALS independent
   executions of the recipe (step 1 is one such execution).
4. The slowdown the extra work really caused: `postprof compare --paired`
   over every round's (A, B) pair, CPU and wall time per pass, with the 95 %
   interval. Then each measure's spread: one pair's log ratio (paired)
   against two runs' of different rounds (unpaired), the correlation of a
   pair's two runs, and the pairs the gate would need for 90 % detection.
   The same trials are also compared unpaired, for the difference pairing
   makes.
5. 100 pairs of single reports (A/A) that must never exit 1.

--mode sequential runs each round's three runs one after the other instead
(the recipe before take-turns), --mode turns without --cpu (--cpu -1) lets
the scheduler spread them over every CPU: the same figures, to see what each
part of the recipe does.

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

Z90 = 1.281552  # the normal's 90 % quantile


def run_cmd(pp, out, data, extra, ini):
    return [pp, "run", "--quick", "--measure-only", "--no-color", "--config", ini, "--data", data,
            "--out", out] + extra


def run_all(pp, cmds, mode, cpu):
    """the runs cmds, taking turns (or one after the other); seconds it took"""
    t0 = time.monotonic()
    if mode == "sequential":
        todo = cmds
    else:
        todo = [[pp, "take-turns"] + (["--cpu", str(cpu)] if cpu >= 0 else [])]
        for i, c in enumerate(cmds):
            todo[0] += (["--"] if i else []) + c
    for cmd in todo:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("bench_gate: %s failed (%d): %s" %
                     (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    return time.monotonic() - t0


def compare(pp, base, cand, extra=(), paired=True):
    """exit code of `postprof compare [--paired] --format json` and its output"""
    r = subprocess.run([pp, "compare", "--format", "json"] + (["--paired"] if paired else []) +
                       list(extra) + [base, cand],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):
        sys.exit("bench_gate: compare %s %s: exit %d: %s" % (base, cand, r.returncode, r.stderr))
    return r.returncode, json.loads(r.stdout)


def side_dir(root, name, files):
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, f in enumerate(files):
        os.symlink(os.path.abspath(f), os.path.join(d, "run%02d.json" % i))
    return d


def row(out, metric):
    for m in out["metrics"]:
        if m["metric"] == metric:
            return m
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("postprof")
    ap.add_argument("workdir")
    ap.add_argument("--pairs", type=int, default=12, help="pairs of runs of the recipe")
    ap.add_argument("--rounds", type=int, default=28, help="rounds (A, B, A2) in the pool")
    ap.add_argument("--trials", type=int, default=60, help="trials per arm (>= 20)")
    ap.add_argument("--extra-work", default="0.15", help="the candidate's --extra-work")
    ap.add_argument("--reuse", action="store_true", help="reuse a pool already in WORKDIR")
    ap.add_argument("--mode", choices=("turns", "sequential"), default="turns",
                    help="runs of a pair or round take turns (the recipe) or run one by one")
    ap.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)),
                    help="take-turns --cpu (default the last CPU; -1: no pinning)")
    a = ap.parse_args()
    if a.trials < 20 or a.rounds < a.pairs:
        sys.exit("bench_gate: needs --trials >= 20 and --rounds >= --pairs")
    pp = os.path.abspath(a.postprof)
    ini = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ci-gate.ini")
    wd = os.path.abspath(a.workdir)
    data, pool = os.path.join(wd, "data"), os.path.join(wd, "pool")
    knob = ["--expect-change", "extra_work"]
    arms = {"a": [], "a2": [], "b": ["--extra-work", a.extra_work]}
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
        # makes the data set, warms caches
        run_all(pp, [run_cmd(pp, os.path.join(wd, "warmup"), data, [], ini)], "sequential", -1)
        # 1. the recipe, as a CI job runs it
        recipe = os.path.join(wd, "recipe")
        shutil.rmtree(recipe, ignore_errors=True)
        t0 = time.monotonic()
        for i in range(a.pairs):
            base = run_cmd(pp, os.path.join(recipe, "base", "%02d" % i), data, [], ini)
            cand = run_cmd(pp, os.path.join(recipe, "cand", "%02d" % i), data, arms["b"], ini)
            run_all(pp, [base, cand] if i % 2 == 0 else [cand, base], a.mode, a.cpu)
        rc, _ = compare(pp, os.path.join(recipe, "base"), os.path.join(recipe, "cand"), knob)
        recipe_s = time.monotonic() - t0
        load_now()
        # 2. the pool
        times = []
        for i in range(a.rounds):
            order = ("a", "b", "a2") if i % 2 == 0 else ("a2", "b", "a")
            times.append(run_all(pp, [run_cmd(pp, os.path.dirname(name(arm, i)), data, arms[arm],
                                              ini) for arm in order], a.mode, a.cpu))
            load_now()
        json.dump({"times": times, "loads": loads, "recipe_s": recipe_s, "recipe_rc": rc},
                  open(times_path, "w"))
    else:
        saved = json.load(open(times_path))
        times, loads = saved["times"], saved["loads"]
        recipe_s, rc = saved["recipe_s"], saved["recipe_rc"]
    recipe_rc = rc
    _, out = compare(pp, side_dir(wd, "recipe_base", [name("a", k) for k in range(a.pairs)]),
                     side_dir(wd, "recipe_cand", [name("b", k) for k in range(a.pairs)]), knob)
    level = out["metric_confidence"]

    # the slowdown as measured: every round's (A, B) pair
    _, whole = compare(pp, side_dir(wd, "all_base", [name("a", i) for i in range(a.rounds)]),
                       side_dir(wd, "all_cand", [name("b", i) for i in range(a.rounds)]), knob)
    rnd = random.Random(20261205)
    trials = os.path.join(wd, "trials")
    aa = ab = ab_e2e = aa_u = ab_u = 0
    aa_rows = {}
    for t in range(a.trials):
        S = sorted(rnd.sample(range(a.rounds), a.pairs))
        # the A/A pair's base: the round's first run in half the rounds, its last in the others
        first = [name("a", i) if i % 2 == 0 else name("a2", i) for i in S]
        last = [name("a2", i) if i % 2 == 0 else name("a", i) for i in S]
        rc, res = compare(pp, side_dir(trials, "base", first), side_dir(trials, "same", last))
        aa += rc == 1
        for m in res["metrics"]:
            if m["verdict"] == "worse":
                aa_rows[m["metric"]] = aa_rows.get(m["metric"], 0) + 1
        aa_u += compare(pp, side_dir(trials, "base", first), side_dir(trials, "same", last),
                        paired=False)[0] == 1
        base = side_dir(trials, "base", [name("a", i) for i in S])
        slow = side_dir(trials, "slow", [name("b", i) for i in S])
        ab_u += compare(pp, base, slow, knob, paired=False)[0] == 1
        rc, res = compare(pp, base, slow, knob)
        ab += rc == 1
        # caught as what it is: an end-to-end row (wall or CPU time per pass) worse
        ab_e2e += rc == 1 and any(m["verdict"] == "worse" and m["metric"].startswith("end_to_end")
                                  for m in res["metrics"])
    single = npairs = 0
    A = [name("a", i) for i in range(a.rounds)]
    for i in range(a.rounds):
        for j in range(a.rounds):
            if i != j and npairs < 100:
                r = subprocess.run([pp, "compare", A[i], A[j]], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                single += r.returncode == 1
                npairs += 1

    med = statistics.median
    P = {arm: [json.load(open(name(arm, i)))["performance"] for i in range(a.rounds)]
         for arm in arms}
    measure = {"cpu": lambda arm, i: med(P[arm][i]["pass_cpu_s"]),
               "wall": lambda arm, i: med(P[arm][i]["pass_s"])}
    T = float(a.trials)
    z = statistics.NormalDist().inv_cdf(1 - (1 - level) / 2)
    print("gate_mode: %s" % (a.mode if a.mode == "sequential" else "take-turns" +
                             (" --cpu %d" % a.cpu if a.cpu >= 0 else " (no --cpu)")))
    print("gate_pairs_per_recipe: %d" % a.pairs)
    print("gate_pool_rounds: %d" % a.rounds)
    print("gate_trials_per_arm: %d" % a.trials)
    print("gate_extra_work: %s" % a.extra_work)
    for key, metric in (("cpu", "end_to_end.cpu"), ("wall", "end_to_end")):
        m = row(whole, metric)
        print("gate_slowdown_%s_ratio: %.3f (interval %.3f to %.3f, %d pairs)" %
              (key, m["ratio"], m["low"], m["high"], m["runs_baseline"]))
    for key in ("cpu", "wall"):
        f = measure[key]
        d = [math.log(f("b", i)) - math.log(f("a", i)) for i in range(a.rounds)]
        s_pair = statistics.stdev(d)
        # unpaired: the spread of one run's log (A and A2 pooled), times sqrt 2
        logs = [math.log(f(arm, i)) for arm in ("a", "a2") for i in range(a.rounds)]
        s_run = statistics.stdev(logs)
        xa = [math.log(f("a", i)) for i in range(a.rounds)]
        xb = [math.log(f("b", i)) for i in range(a.rounds)]
        rho = statistics.correlation(xa, xb)
        print("gate_spread_%s_pair_log: %.3f" % (key, s_pair))
        print("gate_spread_%s_unpaired_log: %.3f" % (key, math.sqrt(2) * s_run))
        print("gate_pair_correlation_%s: %.2f" % (key, rho))
        # pairs for 90 % detection of a 15 % slowdown at this spread, at the level the
        # gate judges each metric (signed-rank efficiency 3/pi)
        dd = math.log(1.15) - math.log(1.05)
        print("gate_pairs_for_90pct_at_15pct_%s: %d" %
              (key, math.ceil(((z + Z90) * s_pair / dd) ** 2 / (3 / math.pi))))
    steady = whole.get("metrics", [])
    e2e = [m for m in steady if m["metric"].startswith("end_to_end") and m["spread"] is not None]
    if e2e:
        print("gate_steadiest_measure: %s" % min(e2e, key=lambda m: m["spread"])["metric"])
    print("gate_aa_false_alarm_rate: %.3f (%d of %d)" % (aa / T, aa, a.trials))
    print("gate_aa_false_alarm_rows: %s" %
          (",".join("%s=%d" % kv for kv in sorted(aa_rows.items())) or "none"))
    print("gate_ab_exit1_rate: %.3f (%d of %d)" % (ab / T, ab, a.trials))
    print("gate_ab_end_to_end_caught_rate: %.3f (%d of %d)" % (ab_e2e / T, ab_e2e, a.trials))
    print("gate_unpaired_aa_false_alarm_rate: %.3f (%d of %d)" % (aa_u / T, aa_u, a.trials))
    print("gate_unpaired_ab_exit1_rate: %.3f (%d of %d)" % (ab_u / T, ab_u, a.trials))
    print("gate_metric_interval_level: %.4f" % level)
    print("gate_single_report_aa_pairs: %d" % npairs)
    print("gate_single_report_aa_exit1: %d" % single)
    print("gate_round_seconds_median: %.1f (3 runs)" % med(times))
    print("gate_recipe_seconds: %.1f" % recipe_s)
    print("gate_recipe_exit: %d" % recipe_rc)
    print("gate_load_average_1min: %.1f min, %.1f median, %.1f max" %
          (min(loads), med(loads), max(loads)))


if __name__ == "__main__":
    main()
