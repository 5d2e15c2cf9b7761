#!/usr/bin/env bash
# output_paths_test.sh POSTPROF TOY_REPORT WORK_SHARES CRASH_REPORT - what the
# commands do with special output paths and failed writes (docs/reports.md,
# "Where output goes"): `record -o` and `report --html` write devices, FIFOs
# and '-' in place and never replace them, keep a 0600 file's mode, follow
# symbolic links, refuse output = input, clean up stale temporary files; every
# command exits 125 with a message when standard output is /dev/full; record
# -o says "does not exist", "read-only file system" or "disk is full" and
# exits 125, not the target's status. Env: POSTPROF_PRELOAD.
# Device nodes need root (as the test runs in CI); the read-only and full file
# systems are tmpfs mounts in a private mount namespace (unshare -m), so
# nothing is left mounted if the test dies.
set -euo pipefail
pp=$1 toy=$2 work=$3 crash=$4
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
kind() { stat -c %F "$1"; }
only() { # DIR NAMES... : DIR holds exactly these names (no temporary files)
  local dir=$1; shift
  local want got
  want=$(printf '%s\n' "$@" | sort)
  got=$(ls -A "$dir" | sort)
  [ "$want" = "$got" ] || fail "$dir holds [$got], expected [$want]"
}
# run a command; its exit status in $rc and its stderr in $err
run() { set +e; err=$("$@" 2>&1 >/dev/null); rc=$?; set -e; }
record() { "$pp" record -q -F 499 "$@"; }

"$toy" "$d/run.json" >/dev/null

# ---- record -o: a character device is written, never replaced ----
mkdir "$d/dev"
if mknod "$d/dev/null" c 1 3 2>/dev/null; then nul=$d/dev/null; else nul=/dev/null; fi
record --format folded -o "$nul" -- "$work" 1 100 >/dev/null
[ "$(kind "$nul")" = "character special file" ] || fail "record -o $nul replaced the device"
[ "$(stat -c %t,%T "$nul")" = "1,3" ] || fail "record -o $nul: device numbers changed"
[ "$nul" = /dev/null ] || only "$d/dev" null

# ---- record -o FIFO: the profile goes through it ----
mkfifo "$d/dev/fifo"
cat "$d/dev/fifo" >"$d/fifo.out" &
reader=$!
record --format folded -o "$d/dev/fifo" -- "$work" 1 100 >/dev/null
wait $reader
grep -q burn_sixty "$d/fifo.out" || fail "record -o FIFO: no profile came through"
[ "$(kind "$d/dev/fifo")" = "fifo" ] || fail "record -o FIFO replaced the FIFO"

# ---- record -o -: standard output ----
record --format folded -o - -- "$work" 1 100 >"$d/stdout.folded"
grep -q burn_sixty "$d/stdout.folded" || fail "record -o -: no profile on stdout"
[ ! -e ./- ] || fail "record -o - created a file named '-'"

# ---- record -o an existing 0600 file, and through a symbolic link ----
mkdir "$d/keep"
: >"$d/keep/p.folded"
chmod 600 "$d/keep/p.folded"
ln -s p.folded "$d/keep/link.folded"
record -o "$d/keep/link.folded" -- "$work" 1 100 >/dev/null
[ -L "$d/keep/link.folded" ] || fail "record -o LINK replaced the link"
[ "$(stat -c %a "$d/keep/p.folded")" = 600 ] || fail "record -o widened a 0600 file"
grep -q burn_sixty "$d/keep/p.folded" || fail "record -o LINK: the file behind it was not written"
only "$d/keep" p.folded link.folded

# ---- record --follow-forks needs a file name to derive the others from ----
run "$pp" record --follow-forks -o - -- true
[ $rc -eq 2 ] && grep -q "follow-forks" <<<"$err" || fail "--follow-forks -o -: exit $rc: $err"

# ---- record -o into a missing directory: said before the target runs ----
run "$pp" record -o "$d/no/such/dir/p.pb.gz" -- sh -c "touch '$d/ran'"
[ $rc -eq 125 ] || fail "record -o missing dir: exit $rc"
grep -q "the directory $d/no/such/dir does not exist" <<<"$err" || fail "missing dir: $err"
[ ! -e "$d/ran" ] || fail "record ran the target with an unwritable output"

# ---- read-only mount, full disk: in a private mount namespace ----
mkdir "$d/ro" "$d/full"
fs_test=$(
  cat <<'EOS'
set -euo pipefail
pp=$1 work=$2 d=$3
mount -t tmpfs -o size=1m tmpfs "$d/ro"
mount -o remount,ro "$d/ro"
set +e
err=$("$pp" record -q -o "$d/ro/p.pb.gz" -- true 2>&1); rc=$?
set -e
[ $rc -eq 125 ] || { echo "read-only: exit $rc: $err"; exit 1; }
grep -q "$d/ro is on a read-only file system" <<<"$err" || { echo "read-only: $err"; exit 1; }
mount -t tmpfs -o size=64k tmpfs "$d/full"
dd if=/dev/zero of="$d/full/filler" bs=4k 2>/dev/null || true
# the target exits 3; the output cannot be written: 125, not 3
set +e
err=$("$pp" record -q -F 499 -o "$d/full/p.pb.gz" -- sh -c "'$work' 1 50 >/dev/null; exit 3" 2>&1); rc=$?
set -e
[ $rc -eq 125 ] || { echo "full disk: exit $rc (the target's is 3): $err"; exit 1; }
grep -q "no space left on the device (the disk is full)" <<<"$err" || { echo "full: $err"; exit 1; }
[ "$(ls -A "$d/full")" = filler ] || { echo "full disk: left $(ls -A "$d/full")"; exit 1; }
# standard output on the full disk
set +e
err=$("$pp" top "$4" 2>&1 >"$d/full/top.txt"); rc=$?
set -e
[ $rc -eq 125 ] && grep -q "cannot write to standard output: no space left" <<<"$err" ||
  { echo "top > full disk: exit $rc: $err"; exit 1; }
EOS
)
if [ "$(id -u)" = 0 ]; then ns=(unshare -m --propagation private); else ns=(unshare -r -m); fi
"${ns[@]}" bash -c "$fs_test" fs_test "$pp" "$work" "$d" "$d/keep/p.folded" ||
  fail "read-only or full file system (above)"

# ---- report --html: output = input is refused, directly or through a link ----
before=$(sha256sum <"$d/run.json")
run "$pp" report "$d/run.json" --html "$d/run.json"
[ $rc -eq 2 ] && grep -q "is the input" <<<"$err" || fail "report X --html X: exit $rc: $err"
ln -s run.json "$d/alias.html"
run "$pp" report "$d/run.json" --html "$d/alias.html"
[ $rc -eq 2 ] || fail "report X --html LINK-TO-X: exit $rc: $err"
run "$pp" report "$d/run.json" --html "$d/stdout.folded" --profile "$d/stdout.folded"
[ $rc -eq 2 ] || fail "report --html = --profile: exit $rc: $err"
[ "$(sha256sum <"$d/run.json")" = "$before" ] || fail "the input report changed"
[ -L "$d/alias.html" ] || fail "the link was replaced"

# ---- report --html: device, FIFO, '-', a 0600 page ----
"$pp" report "$d/run.json" --html "$nul" >/dev/null
[ "$(kind "$nul")" = "character special file" ] || fail "report --html $nul replaced the device"
cat "$d/dev/fifo" >"$d/fifo.html" &
reader=$!
"$pp" report "$d/run.json" --html "$d/dev/fifo" >/dev/null
wait $reader
grep -q '<!DOCTYPE html>' "$d/fifo.html" || fail "report --html FIFO: no page came through"
"$pp" report "$d/run.json" --html - >"$d/stdout.html" 2>"$d/stderr.txt"
grep -q '<!DOCTYPE html>' "$d/stdout.html" || fail "report --html -: no page on stdout"
grep -q "wrote -" "$d/stderr.txt" || fail "report --html -: the note is not on stderr"
: >"$d/page.html"
chmod 600 "$d/page.html"
# a temporary file that a killed run left an hour ago, its writer gone
dead=$(sh -c 'echo $$')
stale="$d/page.html.postprof-tmp.$dead.Ab12Cd"
fresh="$d/page.html.postprof-tmp.$dead.Fresh1"
echo partial >"$stale"
echo partial >"$fresh"
touch -d '2 hours ago' "$stale"
"$pp" report "$d/run.json" --html "$d/page.html" >/dev/null
[ "$(stat -c %a "$d/page.html")" = 600 ] || fail "report --html widened a 0600 page"
[ ! -e "$stale" ] || fail "a stale temporary file was left"
[ -e "$fresh" ] || fail "a recent temporary file (its writer may be elsewhere) was removed"
run "$pp" report "$d/run.json" --html "$d/no/dir/page.html"
[ $rc -eq 125 ] && grep -q "does not exist" <<<"$err" || fail "report --html missing dir: $rc: $err"

# ---- standard output on /dev/full: every command says so and exits 125 ----
full() { # what... : the command fails with 125 and says why
  set +e
  err=$("$@" 2>&1 >/dev/full)
  rc=$?
  set -e
  [ $rc -eq 125 ] || fail "$* >/dev/full: exit $rc"
  grep -Eq "cannot write (to )?standard output: no space left on the device" <<<"$err" ||
    fail "$* >/dev/full: $err"
}
full "$pp" --version
full "$pp" --help
cmds=$("$pp" --help | awk '/^commands:/{f=1;next} f&&/^  [a-z]/{print $1}')
for c in $cmds; do full "$pp" "$c" --help; done
full "$pp" top "$d/keep/p.folded"
full "$pp" compare "$d/run.json" "$d/run.json"
full "$pp" crash-report "$crash"
full "$pp" report "$d/run.json" --html "$d/page2.html"
full "$pp" report "$d/run.json" --html -
full "$pp" record -q --format folded -o - -- "$work" 1 50
echo "output paths: ok"
