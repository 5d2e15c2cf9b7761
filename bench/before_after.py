#!/usr/bin/env python3
"""before_after.py - Two builds' benchmarks, run interleaved, compared with
a 95 % interval (docs/benchmarks.md, "Before and after, interleaved").

    bench/before_after.py [--rounds N] [--conf C] [--timeout S] BEFORE AFTER BENCH...

BEFORE and AFTER are build folders (Release) holding bench/BENCH, or the
benchmark programs themselves when one BENCH is named. Round r runs every
BENCH once from each build, before-then-after when r is even and
after-then-before when it is odd (A B, B A, A B, ...): a load that rises or
falls during the session falls on both builds alike, and each round is one
pair of runs made under the same conditions.

For each `name: value` line both builds print (the metric), the pairs of a
round are compared:
  - ratio after/before where every value of both builds is above 0: the
    Hodges-Lehmann estimate (the median of the Walsh averages of the pairs'
    log ratios), with the exact Wilcoxon signed-rank interval over the pairs
    (the same estimate and interval as `postprof compare --paired` and
    src/analyze/stats.c, pp__stats_paired);
  - otherwise (a value can be 0 or negative: overheads in percent, byte
    counts) the same estimate and interval of the difference after - before.
Verdict: "no significant change" when the interval holds 1 (ratio) or 0
(difference), else "better" when after is lower, "worse" when higher (every
metric of bench_scope, bench_metrics and bench_record is a cost: lower is
better). A 95 % interval needs at least 6 rounds; fewer leave it unbounded.

The 1-minute load average is read before every run and printed as a range,
so each figure says the load it was measured under. Exit status 0 unless a
run failed (1) or the arguments were wrong (2)."""
import argparse
import math
import os
import re
import subprocess
import sys
import time

LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): (\S+)\s*$")


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def parse(text):
    """name: value lines of a benchmark's output; non-numeric values kept as text."""
    out = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        try:
            v = float(m.group(2))
            out[m.group(1)] = v if math.isfinite(v) else m.group(2)
        except ValueError:
            out[m.group(1)] = m.group(2)
    return out


def program(build, bench, single):
    if single and os.path.isfile(build) and os.access(build, os.X_OK):
        return build
    for cand in (os.path.join(build, "bench", bench), os.path.join(build, bench)):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    sys.exit("before_after.py: no %s under %s (build it: cmake --build %s --target %s)"
             % (bench, build, build, bench))


def run(prog, timeout):
    t0 = time.monotonic()
    r = subprocess.run([prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (prog, r.returncode, r.stderr[-1000:]))
    return parse(r.stdout), time.monotonic() - t0


def signed_rank_k(n, half_alpha):
    """The rank k of the interval's lower end among the n(n+1)/2 Walsh
    averages: k = w + 1 for the largest w with P(W <= w) <= alpha/2 under the
    exact null distribution of the signed-rank statistic W; 0 when none."""
    total = n * (n + 1) // 2
    c = [0] * (total + 1)  # coefficients of prod_{i=1..n} (1 + q^i)
    c[0] = 1
    deg = 0
    for i in range(1, n + 1):
        deg += i
        for t in range(deg, i - 1, -1):
            c[t] += c[t - i]
    paths, cum, k = 2 ** n, 0, 0
    for w in range(total + 1):
        cum += c[w]
        if cum <= half_alpha * paths:
            k = w + 1
        else:
            break
    return k


def hodges_lehmann(d, conf):
    """Estimate and interval of the centre of d (paired differences): the
    median of the Walsh averages and their order statistics k, T + 1 - k."""
    n = len(d)
    walsh = sorted((d[i] + d[j]) / 2.0 for i in range(n) for j in range(i, n))
    t = len(walsh)
    est = (walsh[(t - 1) // 2] + walsh[t // 2]) / 2.0
    k = signed_rank_k(n, (1.0 - conf) / 2.0)
    if k == 0 or k > t + 1 - k:
        return est, -math.inf, math.inf
    return est, walsh[k - 1], walsh[t - k]


def compare(before, after, conf):
    """One metric over the rounds' pairs: (mode, estimate, low, high, verdict)."""
    if all(a > 0 for a in before) and all(b > 0 for b in after):
        est, lo, hi = hodges_lehmann([math.log(b / a) for a, b in zip(before, after)], conf)
        est, lo, hi, none = math.exp(est), math.exp(lo), math.exp(hi), 1.0
        mode = "ratio"
    else:
        est, lo, hi = hodges_lehmann([b - a for a, b in zip(before, after)], conf)
        none, mode = 0.0, "diff"
    if lo <= none <= hi:
        verdict = "no significant change"
    else:
        verdict = "better" if hi < none else "worse"
    return mode, est, lo, hi, verdict


def median(v):
    s = sorted(v)
    return (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2.0


def fmt(x):
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return "%.4g" % x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8, help="rounds (pairs of runs), default 8")
    ap.add_argument("--conf", type=float, default=0.95, help="confidence, default 0.95")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a run may take")
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("bench", nargs="+")
    a = ap.parse_args()
    if a.rounds < 1 or not 0.5 <= a.conf < 1:
        ap.error("--rounds must be >= 1 and --conf in [0.5, 1)")
    single = len(a.bench) == 1
    progs = {b: (program(a.before, b, single), program(a.after, b, single)) for b in a.bench}
    res = {b: ([], []) for b in a.bench}  # per bench: before runs, after runs
    loads = {b: [] for b in a.bench}
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    for r in range(a.rounds):
        for b in a.bench:
            order = (0, 1) if r % 2 == 0 else (1, 0)
            for side in order:
                loads[b].append(load1())
                try:
                    values, secs = run(progs[b][side], a.timeout)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    print("before_after.py: round %d, %s %s: %s"
                          % (r + 1, b, ("before", "after")[side], e), file=sys.stderr)
                    return 1
                res[b][side].append(values)
                print("round %d/%d %s %s: %.1f s (load %.1f)"
                      % (r + 1, a.rounds, b, ("before", "after")[side], secs, loads[b][-1]),
                      file=sys.stderr, flush=True)
    ended = time.strftime("%H:%M:%S UTC", time.gmtime())
    print("# %s to %s, %d rounds interleaved (before, after / after, before), %g %% "
          "intervals (Hodges-Lehmann, exact Wilcoxon signed-rank over the rounds' pairs)"
          % (started, ended, a.rounds, a.conf * 100))
    print("# before: %s\n# after:  %s" % (os.path.abspath(a.before), os.path.abspath(a.after)))
    for b in a.bench:
        bef, aft = res[b]
        print("%s: load %.1f-%.1f (1-min average before each run)"
              % (b, min(loads[b]), max(loads[b])))
        names = [n for n in bef[0] if all(n in v for v in bef + aft)]
        for n in names:
            xs, ys = [v[n] for v in bef], [v[n] for v in aft]
            if not all(isinstance(x, float) for x in xs + ys):
                same = len(set(map(str, xs + ys))) == 1
                print("  %s: %s" % (n, xs[0] if same else "before %s, after %s" % (
                    sorted(set(map(str, xs))), sorted(set(map(str, ys))))))
                continue
            mode, est, lo, hi, verdict = compare(xs, ys, a.conf)
            what = "after/before" if mode == "ratio" else "after-before"
            print("  %s: %s %s (%g %% CI %s to %s), median before %s, after %s: %s"
                  % (n, what, fmt(est), a.conf * 100, fmt(lo), fmt(hi), fmt(median(xs)),
                     fmt(median(ys)), verdict))
    return 0


if __name__ == "__main__":
    sys.exit(main())
