#!/usr/bin/env bash
# `postprof causal` end to end (any build): usage errors, an output that
# cannot be written refused before anything runs, a program without a
# progress point, and a short run of causal_truth giving a causal.json with
# the sites asked for. Accuracy is judged by causal_truth.py (Release only).
# usage: causal_cli_test.sh POSTPROF CAUSAL_TRUTH WORKDIR
set -euo pipefail
pp=$1 prog=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
expect_code() { # CODE CMD...: run CMD, its exit status must be CODE
  local want=$1; shift
  set +e; "$@" >"$work/out" 2>"$work/err"; local got=$?; set -e
  [ "$got" = "$want" ] || { cat "$work/out" "$work/err"; fail "$* exited $got, expected $want"; }
}
expect_code 2 "$pp" causal
grep -q "needs a command" "$work/err" || fail "no command: $(cat "$work/err")"
expect_code 2 "$pp" causal --speedups 0,abc -- "$prog"
grep -q "speedups" "$work/err" || fail "bad speedups: $(cat "$work/err")"
expect_code 2 "$pp" causal --speedups 0 -- "$prog"
expect_code 2 "$pp" causal --duration 0 -- "$prog"
expect_code 2 "$pp" causal --frobnicate -- "$prog"
expect_code 0 "$pp" causal --help
# preload mode names its progress point: the program has no PP_PROGRESS
expect_code 2 "$pp" causal --preload -- "$prog"
grep -q "needs --progress FUNCTION" "$work/err" || fail "--preload alone: $(cat "$work/err")"
# the output is checked before the program runs
expect_code 125 "$pp" causal -o "$work/no/such/dir/causal.json" --duration 1 -- "$prog"
[ ! -e "$work/no" ] || fail "a directory was made for the output"
# a program that never reaches a progress point: no result, a message that says why
expect_code 1 "$pp" causal -o "$work/none.json" --duration 2 -- true
grep -q "no usable experiment" "$work/err" || fail "no progress point: $(cat "$work/err")"
[ ! -e "$work/none.json" ] || fail "a causal.json without experiments was written"
expect_code 1 "$pp" causal -o "$work/none.json" --duration 2 -- "$work/does-not-exist"
# a short real run, two sites only
CAUSAL_TRUTH_ITERS=100000000 expect_code 0 "$pp" causal -o "$work/causal.json" \
  --sites critical,offpath --speedups 0,50 --experiment-ms 40 --duration 10 -- "$prog"
grep -q "slope" "$work/out" || fail "no ranking printed: $(cat "$work/out")"
python3 - "$work/causal.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "postprof-causal" and d["version"] == 1, d
assert d["progress"] == "iteration", d["progress"]
names = sorted(s["name"] for s in d["sites"])
assert names and set(names) <= {"critical", "offpath"}, names
for s in d["sites"]:
    for p in s["points"]:
        assert p["speedup"] == 0.5 and p["experiments"] >= 1, p
print("causal.json:", names, "baselines", d["baselines"])
PY
# --keep-cpus-awake: one thread per CPU at the idle scheduling class while
# the program runs (waits for them as long as the run lasts, no deadline of
# its own), none left after
CAUSAL_TRUTH_ITERS=100000000 "$pp" causal -o "$work/awake.json" --keep-cpus-awake \
  --sites critical --speedups 0,50 --experiment-ms 40 --duration 6 -- "$prog" \
  >"$work/awake.out" 2>"$work/awake.err" &
cpid=$!
want=$(getconf _NPROCESSORS_ONLN) idle=0
while kill -0 "$cpid" 2>/dev/null; do
  idle=$(ps -L -o cls= -p "$cpid" | grep -c IDL || true)
  [ "$idle" -lt "$want" ] || break
done
wait "$cpid" || { cat "$work/awake.err"; fail "causal --keep-cpus-awake failed"; }
[ "$idle" = "$want" ] || fail "--keep-cpus-awake: $idle idle-class threads seen, expected $want"
grep -q "keep-cpus-awake" "$work/awake.err" && fail "--keep-cpus-awake: $(cat "$work/awake.err")"
[ -s "$work/awake.json" ] || fail "--keep-cpus-awake wrote no causal.json"
echo "causal cli: ok"
