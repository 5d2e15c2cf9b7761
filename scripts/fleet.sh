#!/usr/bin/env bash
# fleet.sh [N] - A local fleet: N `postprof pipeline --serve` nodes (default 3)
# on 127.0.0.11, 127.0.0.12, ... (each its own process and address) sharing one
# redis-server, a Prometheus with deploy/prometheus/rules.yml scraping them
# (file_sd), a federating Prometheus and an Alertmanager. Prints their URLs and
# stops everything it started on Ctrl-C (or SIGTERM). `make fleet N=3` runs it.
#
# Environment: POSTPROF (the binary; default build/release/cli/postprof),
# FLEET_DIR (work directory, default /tmp/postprof-fleet), FLEET_POSTS (posts
# generated, default 20000), FLEET_RATE (requests/s per node, default 50),
# ports FLEET_NODE_PORT (9464), FLEET_REDIS_PORT (6390), FLEET_PROM_PORT (9090),
# FLEET_FED_PORT (9190), FLEET_AM_PORT (9093); FLEET_NO_WAIT=1 returns once
# everything is up instead of waiting for Ctrl-C (the processes keep running;
# kill the pids in FLEET_DIR/pids).
set -euo pipefail
n=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
pp=${POSTPROF:-$root/build/release/cli/postprof}
dir=${FLEET_DIR:-/tmp/postprof-fleet}
node_port=${FLEET_NODE_PORT:-9464}
redis_port=${FLEET_REDIS_PORT:-6390}
prom_port=${FLEET_PROM_PORT:-9090}
fed_port=${FLEET_FED_PORT:-9190}
am_port=${FLEET_AM_PORT:-9093}
rate=${FLEET_RATE:-50}

case $n in '' | *[!0-9]*) echo "fleet.sh: N must be a number of nodes (1..40), got '$n'" >&2; exit 2 ;; esac
if [ "$n" -lt 1 ] || [ "$n" -gt 40 ]; then
  echo "fleet.sh: N must be 1..40, got $n" >&2
  exit 2
fi
[ -x "$pp" ] || { echo "fleet.sh: $pp is not built (make release, or set POSTPROF)" >&2; exit 2; }
for t in redis-server prometheus prometheus-alertmanager; do
  command -v "$t" >/dev/null || { echo "fleet.sh: $t is not installed (scripts/deps.sh)" >&2; exit 2; }
done

mkdir -p "$dir"
: > "$dir/pids"
sleeper=
stop() {
  trap - INT TERM EXIT
  echo "fleet.sh: stopping"
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null || true
  while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done < "$dir/pids"
  while read -r pid; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done < "$dir/pids"
}
trap stop EXIT
trap 'stop; exit 0' INT TERM
start() { # name, then the command; output to DIR/NAME.log
  local name=$1
  shift
  "$@" > "$dir/$name.log" 2>&1 &
  echo $! >> "$dir/pids"
}
wait_http() { # url: up to 60 s
  for _ in $(seq 240); do
    curl -fsS -o /dev/null --noproxy '*' "$1" 2>/dev/null && return 0
    sleep 0.25
  done
  echo "fleet.sh: $1 did not answer; logs in $dir" >&2
  exit 1
}

if [ ! -f "$dir/data/posts.db" ]; then
  echo "fleet.sh: generating ${FLEET_POSTS:-20000} posts into $dir/data"
  "$pp" datagen --posts "${FLEET_POSTS:-20000}" --out "$dir/data" --quiet
fi
start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir"

# the configurations of deploy/prometheus, pointed at this fleet's ports
mkdir -p "$dir/prom/targets"
cp "$root/deploy/prometheus/rules.yml" "$root/deploy/prometheus/alertmanager.yml" "$dir/prom/"
sed "s/127\.0\.0\.1:9093/127.0.0.1:$am_port/" "$root/deploy/prometheus/prometheus.yml" > "$dir/prom/prometheus.yml"
sed -e "s/127\.0\.0\.1:9090/127.0.0.1:$prom_port/" -e '/127\.0\.0\.1:9091/,+1d' \
  "$root/deploy/prometheus/federation.yml" > "$dir/prom/federation.yml"
{
  echo "["
  for i in $(seq "$n"); do
    sep=","
    [ "$i" -eq "$n" ] && sep=""
    echo "  {\"targets\": [\"127.0.0.$((10 + i)):$node_port\"], \"labels\": {\"node\": \"node-$i\"}}$sep"
  done
  echo "]"
} > "$dir/prom/targets/nodes.json"

for i in $(seq "$n"); do
  start "node-$i" "$pp" pipeline --serve --listen "127.0.0.$((10 + i)):$node_port" --node "node-$i" \
    --data "$dir/data" --cache "redis://127.0.0.1:$redis_port" --rate "$rate" \
    --out "$dir/out-$i" --log-level warn
done
start alertmanager prometheus-alertmanager --config.file="$dir/prom/alertmanager.yml" \
  --web.listen-address="127.0.0.1:$am_port" --storage.path="$dir/am" \
  --cluster.listen-address= --log.level=warn
start prometheus prometheus --config.file="$dir/prom/prometheus.yml" \
  --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.path="$dir/tsdb" --log.level=warn
start federation prometheus --config.file="$dir/prom/federation.yml" \
  --web.listen-address="127.0.0.1:$fed_port" --storage.tsdb.path="$dir/tsdb-global" --log.level=warn

for i in $(seq "$n"); do wait_http "http://127.0.0.$((10 + i)):$node_port/readyz"; done
wait_http "http://127.0.0.1:$prom_port/-/ready"
wait_http "http://127.0.0.1:$fed_port/-/ready"
wait_http "http://127.0.0.1:$am_port/-/ready"

echo "fleet.sh: $n nodes serving, sharing redis://127.0.0.1:$redis_port"
for i in $(seq "$n"); do
  echo "  node-$i        http://127.0.0.$((10 + i)):$node_port/  (dashboard; /metrics /readyz /api/service)"
done
echo "  prometheus    http://127.0.0.1:$prom_port/  (rules: /rules, alerts: /alerts)"
echo "  federation    http://127.0.0.1:$fed_port/"
echo "  alertmanager  http://127.0.0.1:$am_port/"
echo "  logs and final reports (out-N/service.json) in $dir"
if [ "${FLEET_NO_WAIT:-0}" = 1 ]; then
  trap - INT TERM EXIT
  exit 0
fi
echo "fleet.sh: Ctrl-C stops everything"
while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper" || true
done
