#!/bin/sh
# diff_test.sh POSTPROF WORKDIR - `postprof diff`: a function injected into the
# candidate is the first row of the text top-N; --html writes the page, never
# over an input; bad input exits 2 naming the file; an output that cannot be
# written exits 125.
set -u
pp=$1 dir=$2
mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
printf 'main;load;read 300\nmain;load;parse 200\nmain;infer;matmul 400\nmain;infer;softmax 100\n' > "$dir/base.folded"
printf 'main;load;read 610\nmain;load;parse 390\nmain;infer;matmul 805\nmain;infer;softmax 195\nmain;infer;slow_path 500\n' > "$dir/cand.folded"
"$pp" diff -n 3 --html "$dir/diff.html" "$dir/base.folded" "$dir/cand.folded" > "$dir/out.txt" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 0 ] || fail "diff: exit $rc: $(cat "$dir/err.txt")"
# header (3 lines) then rows: the injected function first, with 0 before and 20 % after
first=$(sed -n 5p "$dir/out.txt")
echo "$first" | grep -q "slow_path$" || fail "top change is not slow_path: $first"
echo "$first" | grep -q "0.00%  *20.00%  *+20.00pp" || fail "slow_path shares: $first"
[ "$(grep -c 'pp  ' "$dir/out.txt")" -eq 3 ] || fail "-n 3 did not give 3 rows"
grep -q '"function":"slow_path"' "$dir/diff.html" || fail "page lacks the top change"
"$pp" diff "$dir/base.folded" "$dir/base.folded" | sed -n 5p | grep -q "+0.00pp" || fail "self diff not 0"
"$pp" diff "$dir/base.folded" "$dir/missing.folded" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "missing file: exit $rc"
grep -q "missing.folded" "$dir/err.txt" || fail "missing file: message does not name it"
printf 'main;a 1\nmain;b x\n' > "$dir/bad.folded"
"$pp" diff "$dir/base.folded" "$dir/bad.folded" 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "bad profile: exit $rc"
grep -q "bad.folded" "$dir/err.txt" || fail "bad profile: message does not name it"
"$pp" diff "$dir/base.folded" 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "one profile: exit $rc"
"$pp" diff --bogus "$dir/base.folded" "$dir/base.folded" 2> /dev/null; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc"
"$pp" diff --help | grep -q "normalized by its own total" || fail "--help"
# the page is never written over an input (the profile stays as it was)
cp "$dir/cand.folded" "$dir/keep.folded"
"$pp" diff --html "$dir/keep.folded" "$dir/base.folded" "$dir/keep.folded" > /dev/null 2> "$dir/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "output = input: exit $rc"
grep -q "is the input" "$dir/err.txt" || fail "output = input: $(cat "$dir/err.txt")"
cmp -s "$dir/cand.folded" "$dir/keep.folded" || fail "output = input: the profile was overwritten"
# a page or a table that cannot be written: its own exit code (125), saying why
if [ -w /dev/full ]; then
  "$pp" diff --html /dev/full "$dir/base.folded" "$dir/cand.folded" > /dev/null 2> "$dir/err.txt"; rc=$?
  [ $rc -eq 125 ] || fail "--html /dev/full: exit $rc"
  grep -q "no space left" "$dir/err.txt" || fail "--html /dev/full: $(cat "$dir/err.txt")"
  "$pp" diff "$dir/base.folded" "$dir/cand.folded" > /dev/full 2> "$dir/err.txt"; rc=$?
  [ $rc -eq 125 ] || fail "stdout /dev/full: exit $rc"
  grep -q "no space left" "$dir/err.txt" || fail "stdout /dev/full: $(cat "$dir/err.txt")"
fi
echo "diff: ok"
