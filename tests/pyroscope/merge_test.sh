#!/usr/bin/env bash
# merge_test.sh POSTPROF WORK_SHARES DIR - `postprof merge`: two recorded
# profiles (pprof) and a folded one merged, node names from NAME=FILE, --node
# and the file name; pprof-format (merge_check.cjs) finds each sample's node
# label and per-function totals equal to the sums of the inputs; a merged
# profile merged again keeps its nodes; `postprof diff` of two merged
# profiles puts the function injected on one node first; a broken input is
# named and left out while the others are written; nothing readable writes
# nothing (an existing output is left as it was); usage errors exit 2.
# Needs PP_PYROSCOPE_DEPS (pprof-format) and POSTPROF_PRELOAD.
set -u
pp=$1 work=$2 dir=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir" && mkdir -p "$dir/in" && cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$pp" record -q -o in/a.pb.gz -- "$work" 1 150 > /dev/null || fail "record a"
"$pp" record -q -o in/b.pb.gz -- "$work" 2 100 > /dev/null || fail "record b"
printf 'main;load;read 30\nmain;infer;matmul 70\n' > in/c.folded

"$pp" merge -o fleet.pb.gz web-1=in/a.pb.gz --node web-2 in/b.pb.gz in/c.folded 2> err.txt; rc=$?
[ $rc -eq 0 ] || fail "merge: exit $rc: $(cat err.txt)"
grep -q "3 of 3 profiles, 3 nodes -> fleet.pb.gz" err.txt || fail "summary: $(cat err.txt)"
node "$here/merge_check.cjs" fleet.pb.gz web-1=in/a.pb.gz web-2=in/b.pb.gz c=in/c.folded || fail "merge_check"

# a merged profile merged again keeps its node labels
printf 'main;load;parse 11\n' > in/d.folded
"$pp" merge -q -o fleet2.pb.gz fleet.pb.gz in/d.folded || fail "merge of a merged profile"
node "$here/merge_check.cjs" fleet2.pb.gz web-1=in/a.pb.gz web-2=in/b.pb.gz c=in/c.folded \
  d=in/d.folded || fail "merge_check of a merged profile merged again"

# diff on merged profiles: slow_path, on one node of the candidate, comes first
printf 'main;load;read 300\nmain;load;parse 200\nmain;infer;matmul 400\nmain;infer;softmax 100\n' > in/base.folded
cp in/base.folded in/n2.folded
{ cat in/base.folded; printf 'main;infer;slow_path 500\n'; } > in/cand.folded
"$pp" merge -q -o base.pb.gz n1=in/base.folded n2=in/n2.folded || fail "merge base"
"$pp" merge -q -o cand.pb.gz n1=in/cand.folded n2=in/n2.folded || fail "merge cand"
"$pp" diff -n 3 base.pb.gz cand.pb.gz > diff.txt 2> err.txt || fail "diff: $(cat err.txt)"
first=$(sed -n 5p diff.txt)
echo "$first" | grep -q "slow_path$" || fail "diff's top change is not slow_path: $first"
# 500 of 2500 in the candidate, nothing in the baseline
echo "$first" | grep -q "0.00%  *20.00%  *+20.00pp" || fail "slow_path's shares: $first"
grep -q "baseline base.pb.gz: 2000 samples; candidate cand.pb.gz: 2500 samples" diff.txt ||
  fail "diff totals: $(head -1 diff.txt)"

# a broken input is named and left out; the others are written
printf '\x1f\x8b\x08\x00garbage' > in/broken.pb.gz
"$pp" merge -o part.pb.gz in/a.pb.gz in/broken.pb.gz in/c.folded 2> err.txt; rc=$?
[ $rc -eq 1 ] || fail "broken input: exit $rc"
grep -q "in/broken.pb.gz: .*left out" err.txt || fail "broken input not named: $(cat err.txt)"
grep -q "2 of 3 profiles" err.txt || fail "broken input: summary: $(cat err.txt)"
node "$here/merge_check.cjs" part.pb.gz a=in/a.pb.gz c=in/c.folded || fail "merge_check without the broken input"
"$pp" merge -o part.pb.gz in/missing.pb.gz 2> err.txt; rc=$?
[ $rc -eq 2 ] || fail "nothing readable: exit $rc"
grep -q "in/missing.pb.gz" err.txt || fail "missing input not named: $(cat err.txt)"
node "$here/merge_check.cjs" part.pb.gz a=in/a.pb.gz c=in/c.folded || fail "nothing readable replaced the output"

# usage
"$pp" merge -o x.pb.gz 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "no input: exit $rc"
"$pp" merge --bogus in/c.folded 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc"
"$pp" merge -o /nonexistent-dir/x.pb.gz in/c.folded 2> err.txt; rc=$?
[ $rc -eq 125 ] || fail "unwritable output: exit $rc"
"$pp" merge --help | grep -q "node name from the file name" || fail "--help"
# the output is never written over an input (the input stays as it was)
cp in/c.folded in/keep.folded
"$pp" merge -o in/keep.folded in/a.pb.gz in/keep.folded 2> err.txt; rc=$?
[ $rc -eq 2 ] || fail "output = input: exit $rc"
grep -q "is the input" err.txt || fail "output = input: $(cat err.txt)"
cmp -s in/c.folded in/keep.folded || fail "output = input: the input was overwritten"
[ ! -e x.pb.gz ] || fail "a failed merge left x.pb.gz"
echo "merge: ok"
