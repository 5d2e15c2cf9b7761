"""fleet_test.py - Three `postprof pipeline --serve` nodes sharing one real
redis-server, scraped by a real Prometheus (file_sd targets, the rules of
deploy/prometheus/rules.yml), all on 127.0.0.1 with ephemeral ports:
  - job:up:sum is 3 and every node's request counter grows;
  - recording rules equal the same expressions evaluated at the rule's own
    timestamp (within 1 %);
  - the shared cache: every node exports the Redis-wide window hit ratio and
    the fleet ratio from the nodes' lookup counters is high;
  - Redis killed: the nodes keep answering requests (misses scored locally)
    and count the failures in postprof_cache_errors_total; Redis restarted:
    hits come back;
  - a node killed: up == 0 for it, job:up:sum 2, the others keep serving;
  - SIGTERM: the other two drain, write service.json, exit 0.
Usage: fleet_test.py POSTPROF RULES_YML WORKDIR"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pp_peer import Peer, fail, require_tool  # noqa: E402

pp, rules, work = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
prometheus = require_tool("prometheus")
redis_server = require_tool("redis-server")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
t_start = time.monotonic()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, cond, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.25)
    fail("timed out (%d s) waiting for %s" % (timeout, what))


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def prom_query(q, at=None):
    args = {"query": q}
    if at is not None:
        args["time"] = repr(at)
    try:
        st, body = http_get(pport, "/api/v1/query?" + urllib.parse.urlencode(args))
    except OSError:
        return None
    if st != 200:
        return None
    doc = json.loads(body)
    return doc["data"]["result"] if doc.get("status") == "success" else None


def node_metrics(n):
    try:
        st, body = http_get(n.port, "/metrics")
    except OSError:
        return {}
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


REQ = 'profiling_duration_seconds_count{operation="posts.serve.request"}'
HITS = 'postprof_cache_lookups_total{result="hit"}'

r = subprocess.run([pp, "datagen", "--posts", "2000", "--out", os.path.join(work, "data"),
                    "--quiet"], capture_output=True, text=True)
if r.returncode != 0:
    fail("datagen exited %d: %s" % (r.returncode, r.stderr[-2000:]))

rport = free_port()


def start_redis():
    return subprocess.Popen([redis_server, "--port", str(rport), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", work,
                             "--logfile", os.path.join(work, "redis.log")])


redis = start_redis()
nodes, prom = [], None
pport = free_port()
try:
    def redis_up():
        try:
            with socket.create_connection(("127.0.0.1", rport), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
    wait_for("redis-server to answer PING", redis_up)
    for i in range(3):
        nodes.append(Peer([pp, "pipeline", "--serve", "--listen", "127.0.0.1:0",
                           "--node", "node-%d" % (i + 1), "--data", os.path.join(work, "data"),
                           "--cache", "redis://127.0.0.1:%d" % rport, "--redis-timeout-ms", "100",
                           "--rate", "40", "--reload", "5", "--window", "2", "--every", "0.5",
                           "--out", os.path.join(work, "out-%d" % (i + 1)), "--log-level", "error"],
                          port_re=rb"listening on http://127\.0\.0\.1:(\d+)", timeout=60))
    for n in nodes:
        wait_for("node :%d ready" % n.port, lambda: http_get(n.port, "/readyz")[0] == 200)
    os.makedirs(os.path.join(work, "targets"))
    with open(os.path.join(work, "targets", "nodes.json"), "w") as f:
        json.dump([{"targets": ["127.0.0.1:%d" % n.port], "labels": {"node": "node-%d" % (i + 1)}}
                   for i, n in enumerate(nodes)], f)
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['%s']
scrape_configs:
  - job_name: postprof
    scrape_interval: 1s
    scrape_timeout: 900ms
    file_sd_configs:
      - files: ['%s/targets/*.json']
""" % (rules, work))
    plog = open(os.path.join(work, "prometheus.log"), "w")
    prom = subprocess.Popen([prometheus, "--config.file=" + cfg,
                             "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
                             "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=warn"],
                            stdout=plog, stderr=plog)

    def up_sum(want):
        res = prom_query('job:up:sum{job="postprof"}')
        return bool(res) and float(res[0]["value"][1]) == want
    wait_for("job:up:sum == 3", lambda: up_sum(3))
    print("prometheus: job:up:sum == 3 (file_sd, rules.yml)")

    # every node's requests grow, as Prometheus sees them
    def per_node(q):
        res = prom_query(q) or []
        return {x["metric"].get("node"): float(x["value"][1]) for x in res}
    first = wait_for("3 nodes' request counters", lambda: (lambda d: d if len(d) == 3 else None)(
        per_node(REQ)))
    wait_for("every node's request counter to grow", lambda: (lambda d: len(d) == 3 and all(
        d[k] > first[k] for k in first))(per_node(REQ)))
    print("live: every node's posts.serve.request counter grows")

    # recording rules against the same expression at the rule's own timestamp
    checks = [
        ("instance:postprof_requests:rate5m",
         'sum by (job, instance, node) (rate(%s[5m]))' % REQ, ("instance",)),
        ("job:postprof_requests:rate5m", 'sum by (job) (rate(%s[5m]))' % REQ, ("job",)),
        ('operation:profiling_duration_seconds:p99_rate5m{operation="posts.serve.request"}',
         'histogram_quantile(0.99, sum by (le, operation) (rate(profiling_duration_seconds_bucket'
         '{operation="posts.serve.request"}[5m])))', ("operation",)),
        ('instance_operation:profiling_duration_seconds:p50_rate5m{operation="posts.serve.request"}',
         'histogram_quantile(0.5, sum by (le, operation, instance, node) (rate('
         'profiling_duration_seconds_bucket{operation="posts.serve.request"}[5m])))',
         ("instance",)),
        ("job:cache_hit_ratio:weighted",
         'sum by (job) (cache_hit_ratio * on (job, instance) instance:postprof_requests:rate5m)'
         ' / sum by (job) (instance:postprof_requests:rate5m and on (job, instance) '
         'cache_hit_ratio)', ("job",)),
        ("job:postprof_cache_hit_ratio:rate5m",
         'sum by (job) (rate(%s[5m])) / sum by (job) (rate(postprof_cache_lookups_total[5m]))'
         % HITS, ("job",)),
    ]
    # A rule's sample at time T is compared with the expression evaluated at T
    # afterwards. A scrape stamped just before T but stored just after the
    # rule ran is seen by the second evaluation only, so a few samples may
    # differ; most must agree within 1 % (a wrong rule agrees at none).
    for rule, expr, key in checks:
        rec = wait_for(rule + " samples", lambda: (lambda r: r if r and sum(
            len(x["values"]) for x in r) >= 3 else None)(prom_query(rule + "[30s]")))
        total = agree = 0
        worst = None
        for x in rec:
            for ts, v in x["values"]:
                raw = prom_query(expr, at=ts) or []
                want = [float(y["value"][1]) for y in raw
                        if all(y["metric"].get(k) == x["metric"].get(k) for k in key)]
                total += 1
                if len(want) == 1 and abs(float(v) - want[0]) <= 0.01 * abs(want[0]):
                    agree += 1
                else:
                    worst = (ts, v, want)
        if agree * 2 < total:
            fail("%s: %d of %d samples equal their recomputation (e.g. %r)"
                 % (rule, agree, total, worst))
        print("rule %s: %d of %d samples equal their recomputation within 1 %%"
              % (rule.split("{")[0], agree, total))

    # the shared cache: Redis-wide ratio on every node, fleet ratio from the counters
    shared = wait_for("postprof_shared_cache_hit_ratio on 3 nodes", lambda: (
        lambda d: d if len(d) == 3 and all(v > 0 for v in d.values()) else None)(
        per_node("postprof_shared_cache_hit_ratio")))
    fleet = wait_for("fleet hit ratio", lambda: prom_query("job:postprof_cache_hit_ratio:rate5m"))
    fr = float(fleet[0]["value"][1])
    if not 0.5 < fr <= 1:
        fail("fleet hit ratio from the lookup counters: %r" % fr)
    print("shared cache: fleet hit ratio %.3f, Redis-wide window ratio per node %s"
          % (fr, {k: round(v, 3) for k, v in shared.items()}))

    # Redis killed: requests keep being answered, failures counted; restarted: hits again
    before = [node_metrics(n) for n in nodes]
    redis.kill()
    redis.wait()
    wait_for("cache errors on every node", lambda: all(
        node_metrics(n).get("postprof_cache_errors_total", 0) > 0 for n in nodes))
    mid = [node_metrics(n) for n in nodes]
    wait_for("requests answered without Redis", lambda: all(
        node_metrics(n).get(REQ, 0) > mid[i].get(REQ, 0) for i, n in enumerate(nodes)))
    for n in nodes:
        st, body = http_get(n.port, "/api/service")
        if st != 200 or json.loads(body)["request_errors"] != 0:
            fail("node :%d failed requests without Redis: %r" % (n.port, body))
    print("redis down: requests answered, postprof_cache_errors_total %s"
          % [int(m.get("postprof_cache_errors_total", 0)) for m in mid])
    redis = start_redis()
    wait_for("redis-server back", redis_up)
    after = [node_metrics(n) for n in nodes]
    wait_for("cache hits after Redis came back", lambda: all(
        node_metrics(n).get(HITS, 0) > after[i].get(HITS, 0) for i, n in enumerate(nodes)),
        timeout=60)
    if any(b.get(HITS, 0) <= 0 for b in before):
        fail("no hits before Redis was killed: %r" % [b.get(HITS) for b in before])
    print("redis restarted: hits again on every node")

    # a node killed: up == 0 for it, the other two keep serving
    dead = nodes.pop()
    dead.proc.kill()
    dead.proc.wait()
    wait_for("up == 0 for node-3", lambda: (lambda r: bool(r) and r[0]["value"][1] == "0")(
        prom_query('up{node="node-3"}')))
    wait_for("job:up:sum == 2", lambda: up_sum(2))
    base = per_node(REQ)
    wait_for("the two others' requests to grow", lambda: (lambda d: all(
        d.get(k, 0) > base.get(k, 0) for k in ("node-1", "node-2")))(per_node(REQ)))
    print("node-3 killed: up == 0, job:up:sum == 2, node-1 and node-2 keep serving")

    for i, n in enumerate(nodes):
        code, err = n.stop(signal.SIGTERM, timeout=60)
        if code != 0:
            fail("node-%d: exit %d after SIGTERM: %s" % (i + 1, code, err[-2000:]))
        with open(os.path.join(work, "out-%d" % (i + 1), "service.json")) as f:
            rep = json.load(f)
        sh = rep["cache"].get("shared")
        if rep["requests"] <= 0 or not sh or sh["hits"] <= 0:
            fail("node-%d service.json: %r" % (i + 1, rep["cache"]))
    print("SIGTERM: node-1 and node-2 drained, wrote service.json, exit 0")
    print("fleet test passed in %.0f s" % (time.monotonic() - t_start))
finally:
    for n in nodes:
        if n.proc.poll() is None:
            n.proc.kill()
            n.proc.wait()
    if prom is not None and prom.poll() is None:
        prom.terminate()
        try:
            prom.wait(timeout=30)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
    if redis.poll() is None:
        redis.kill()
        redis.wait()
