#!/usr/bin/env bash
# CLI contract: --version, --help for every subcommand, unknown subcommand or
# flag gives a one-line error plus usage on stderr and exit status 2.
set -uo pipefail
pp=$1
fail=0
check() { # name expected_status actual_status
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
out=$("$pp" --version); check "--version" 0 $?
grep -Eq '^postprof [0-9]+\.[0-9]+\.[0-9]+$' <<<"$out" || { echo "FAIL: version text: $out"; fail=1; }
"$pp" --help >/dev/null; check "--help" 0 $?
cmds=$("$pp" --help | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}')
[ -n "$cmds" ] || { echo "FAIL: no commands listed"; fail=1; }
for c in $cmds; do
  h=$("$pp" "$c" --help 2>&1); check "$c --help" 0 $?
  grep -qi "usage" <<<"$h" || { echo "FAIL: $c --help shows no usage"; fail=1; }
  err=$("$pp" "$c" --no-such-flag 2>&1 >/dev/null); check "$c --no-such-flag" 2 $?
  first=$(printf '%s\n' "$err" | head -1)
  grep -q "no-such-flag" <<<"$first" || { echo "FAIL: $c: first stderr line does not name the flag: $first"; fail=1; }
  grep -qi "usage" <<<"$err" || { echo "FAIL: $c: no usage on stderr"; fail=1; }
done
err=$("$pp" frobnicate 2>&1 >/dev/null); check "unknown command" 2 $?
echo "$err" | head -1 | grep -q "unknown command 'frobnicate'" || { echo "FAIL: unknown command message"; fail=1; }
grep -q "usage:" <<<"$err" || { echo "FAIL: usage not printed"; fail=1; }
"$pp" >/dev/null 2>&1; check "no command" 2 $?
"$pp" --bogus >/dev/null 2>&1; check "unknown global flag" 2 $?
exit $fail
