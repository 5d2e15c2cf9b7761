#!/bin/sh
# take_turns_test.sh POSTPROF SOURCE_DIR WORKDIR - `postprof take-turns`: the
# commands' turns go round strictly in the order given (children that log in
# their turns: the log's order is fixed, whatever the scheduler does), one that
# ends early leaves the others going, every exit status, `postprof run` taking
# one turn per timed pass (warm-up included) under --cpu, and a PP_TAKE_TURNS
# that names no socket refused.
set -u
pp=$1 src=$2 dir=$3
child="python3 $src/tests/scripts/turns_child.py"
rm -rf "$dir"
mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
order() { tr '\n' ' ' < "$1" | sed 's/ $//'; }

# strict rounds, three commands
# shellcheck disable=SC2086
"$pp" take-turns $child A 3 "$dir/l1" -- $child B 3 "$dir/l1" -- $child C 3 "$dir/l1" 2> "$dir/e1" ||
  fail "three children: exit $? ($(cat "$dir/e1"))"
[ "$(order "$dir/l1")" = "A0 B0 C0 A1 B1 C1 A2 B2 C2" ] || fail "three children took turns as: $(order "$dir/l1")"
grep -q "turns taken: 3 3 3" "$dir/e1" || fail "turns not counted: $(cat "$dir/e1")"

# one that ends early: the other goes on alone, turns in order until then
# shellcheck disable=SC2086
"$pp" take-turns -- $child B 4 "$dir/l2" -- $child A 1 "$dir/l2" 2> "$dir/e2" || fail "early end: exit $?"
[ "$(order "$dir/l2")" = "B0 A0 B1 B2 B3" ] || fail "early end took turns as: $(order "$dir/l2")"

# a command that never waits for its turn: exit 2, named; the other still finishes
# shellcheck disable=SC2086
"$pp" take-turns true -- $child B 2 "$dir/l3" 2> "$dir/e3"
rc=$?
[ $rc -eq 2 ] || fail "a command that never waited: exit $rc, want 2"
grep -q "true (command 1) never waited for its turn" "$dir/e3" || fail "not named: $(cat "$dir/e3")"
[ "$(order "$dir/l3")" = "B0 B1" ] || fail "the other did not finish alone: $(order "$dir/l3")"

# a command that fails: exit 2 with its status
# shellcheck disable=SC2086
"$pp" take-turns sh -c 'exit 3' -- $child B 1 "$dir/l4" 2> "$dir/e4"
rc=$?
[ $rc -eq 2 ] || fail "a failing command: exit $rc, want 2"
grep -q "(command 1) exited with status 3" "$dir/e4" || fail "status not said: $(cat "$dir/e4")"
"$pp" take-turns /nonexistent/cmd -- true 2> "$dir/e5"
[ $? -eq 2 ] || fail "a command that cannot run: want exit 2"
grep -q "cannot run /nonexistent/cmd" "$dir/e5" || fail "not said: $(cat "$dir/e5")"

# usage errors
for args in "true" "true --" "-- true" "true -- -- true" "--cpu" "--cpu x true -- true" "--cpu 100000 true -- true" "--nope true -- true"; do
  # shellcheck disable=SC2086
  "$pp" take-turns $args > /dev/null 2> "$dir/e6"
  rc=$?
  [ $rc -eq 2 ] || fail "take-turns $args: exit $rc, want 2"
  grep -q "postprof take-turns: " "$dir/e6" || fail "take-turns $args: no message"
done
"$pp" take-turns --help | grep -q "usage: postprof take-turns" || fail "--help"

# postprof run speaks the protocol: one turn per timed pass and one for the
# warm-up, both runs on one CPU, both reports written
"$pp" datagen --quiet --posts 1500 --out "$dir/data" > /dev/null || fail "datagen"
printf '[profile]\npasses = 2\nload_batches = 3\nsweep_batches = 2\nsweep_max = 2\nrepeats = 1\n' > "$dir/tiny.ini"
cpu=$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')
run() { echo "$pp" run --quick --measure-only --no-color --config "$dir/tiny.ini" --data "$dir/data" --out "$dir/$1"; }
# shellcheck disable=SC2046
"$pp" take-turns --cpu "$cpu" $(run base) -- $(run cand) --extra-work 0.15 > /dev/null 2> "$dir/e7" ||
  fail "two runs taking turns: exit $? ($(tail -5 "$dir/e7"))"
grep -q "turns taken: 3 3" "$dir/e7" || fail "runs did not take a turn per pass: $(grep take-turns "$dir/e7")"
for side in base cand; do
  [ -s "$dir/$side/report.json" ] || fail "$side/report.json missing"
done

# a PP_TAKE_TURNS that is not take-turns' socket: exit 2 before any work
PP_TAKE_TURNS=0 "$pp" run --quick --measure-only --data "$dir/none" --out "$dir/o8" > /dev/null 2> "$dir/e8" < /dev/null
rc=$?
[ $rc -eq 2 ] || fail "PP_TAKE_TURNS=0: exit $rc, want 2"
grep -q "not a socket from postprof take-turns" "$dir/e8" || fail "PP_TAKE_TURNS=0: $(cat "$dir/e8")"
[ ! -e "$dir/none" ] || fail "PP_TAKE_TURNS=0 generated data before refusing"
echo "take-turns: all checks passed"
