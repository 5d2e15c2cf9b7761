#!/usr/bin/env bash
# `postprof run --cache redis://...` against a real redis-server started here
# on a free loopback port: the in-process LRU and Redis are measured side by
# side, and the report says a Redis round trip costs more than a local lookup.
set -uo pipefail
pp=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
if ! command -v redis-server >/dev/null; then
  echo "FAIL: redis-server is not installed (scripts/deps.sh installs it)"
  exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$work" --logfile "$work/redis.log" --daemonize yes --pidfile "$work/redis.pid"
trap 'kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null; sleep 0.2' EXIT
# no deadline of its own: a hang is ctest's timeout to catch
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
fail=0
"$pp" run --quick --no-color --posts 3000 --data "$work/data" --out "$work/out" \
  --cache "redis://127.0.0.1:$port" > "$work/console.txt" 2> "$work/stderr.txt"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: run exited $rc"; cat "$work/stderr.txt"; exit 1; }
grep -q "Backend redis (current)" "$work/console.txt" || { echo "FAIL: no Redis backend line"; fail=1; }
grep -q "Backend in-process" "$work/console.txt" || { echo "FAIL: no in-process backend line"; fail=1; }
grep -q "redis against in-process, the same trace in [0-9]* interleaved pairs: replay .* the time, 95% .*: a shared remote cache pays only when" "$work/console.txt" \
  || { echo "FAIL: the report does not say when Redis pays"; fail=1; }
python3 - "$work/out/report.json" <<'PY' || fail=1
import json, sys
b = {x["name"]: x for x in json.load(open(sys.argv[1]))["cache_performance"]["backends"]}
assert set(b) == {"in-process", "redis"}, b
assert b["redis"]["current"] and not b["in-process"]["current"], b
# a network round trip against an in-memory lookup: Redis costs more, on the
# whole replay of the same trace and per request. The direction only: the
# ratio moves with the load (8x idle, 4.4x per request at load 20, where a
# few preempted in-process requests weigh in the mean)
assert b["redis"]["replay_s"] > b["in-process"]["replay_s"], b
assert b["redis"]["avg_time"] > b["in-process"]["avg_time"], b
# the current backend (Redis) against the other, replays interleaved, with its interval
assert b["redis"]["against_current"] is None, b
ac = b["in-process"]["against_current"]
assert ac["pairs"] >= 6 and ac["significant"] and ac["speedup_low"] > 1, ac
assert abs(ac["current_replay_s"] / ac["replay_s"] - ac["speedup"]) < 1e-6 * ac["speedup"], ac
print("replay: redis %.1f ms vs in-process %.2f ms (%.1fx); per request %.1f us vs %.2f us" % (
    b["redis"]["replay_s"] * 1e3, b["in-process"]["replay_s"] * 1e3,
    b["redis"]["replay_s"] / b["in-process"]["replay_s"], b["redis"]["avg_time"] * 1e6,
    b["in-process"]["avg_time"] * 1e6))
PY
[ $fail -eq 0 ] && echo "run redis test passed"
exit $fail
