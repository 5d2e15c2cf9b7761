"""pipeline_serve_test.py - `postprof pipeline --serve` as a service: ready on
/readyz once the sources are loaded; the six standard metrics carry live
samples (each stage's profiling_duration_seconds grows between scrapes,
gpu_usage_percent has a series exactly when NVML sees a GPU, and a node with a
10-entry cache gets cache_hit findings from the online detector in
bottleneck_detected_total); SIGTERM under full load drains, writes a complete
service.json (no temporary file left) and exits 0; --duration stops it by
itself; bad window options are refused with exit 2.
Usage: pipeline_serve_test.py POSTPROF WORKDIR"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pp_peer import Peer, datagen, fail, fresh_dir  # noqa: E402
from pp_peer import wait_for as wait_bounded  # noqa: E402

pp, work = sys.argv[1], sys.argv[2]
fresh_dir(work)
data = datagen(pp, os.path.join(work, "data"), 2000)

PORT_RE = rb"listening on http://127\.0\.0\.1:(\d+)"


def count(m, op):
    return m.get('profiling_duration_seconds_count{operation="%s"}' % op, 0.0)


def wait_for(what, cond, timeout=None):
    return wait_bounded(what, cond, timeout, every=0.2)


# Bad options: refused before anything starts.
for bad, why in [(["--window", "1", "--every", "2"], "shorter than --every"),
                 (["--rate", "-1"], "--rate"), (["--every", "0"], "--every")]:
    r = subprocess.run([pp, "pipeline", "--serve", "--listen", "127.0.0.1:0", "--data", data] + bad,
                       capture_output=True, text=True)
    if r.returncode != 2 or why not in r.stderr:
        fail("%s: exit %d, stderr %r" % (bad, r.returncode, r.stderr))
print("bad options refused (exit 2)")

out = os.path.join(work, "out")
node = Peer([pp, "pipeline", "--serve", "--listen", "127.0.0.1:0", "--node", "t1", "--data", data,
             "--cache-entries", "10", "--reload", "0.5", "--window", "1", "--every", "0.25",
             "--out", out, "--log-level", "warn"], port_re=PORT_RE)
try:
    wait_for("/readyz 200", lambda: node.get("/readyz")[0] == 200)
    st, _, body = node.get("/api/service")
    if st != 200 or not json.loads(body)["ready"]:
        fail("/api/service: %d %r" % (st, body))
    m1 = node.metrics()
    stages = ["posts.load.batch", "posts.preprocess.batch", "posts.infer.batch",
              "posts.serve.request", "posts.serve.infer_misses", "posts.cache.get_many"]
    # every stage keeps running: requests continuously, loading at each reload
    m2 = wait_for("every stage to grow between scrapes",
                  lambda: (lambda m: m if all(count(m, s) > count(m1, s) for s in stages)
                           else None)(node.metrics()))
    for s in stages:
        print("%s: %d -> %d calls" % (s, count(m1, s), count(m2, s)))
    if not m2.get("memory_usage_bytes", 0) > 0:
        fail("memory_usage_bytes: %r" % m2.get("memory_usage_bytes"))
    wait_for("cpu_usage_percent > 0", lambda: node.metrics().get("cpu_usage_percent", 0) > 0)
    # online detection: the 10-entry cache misses most lookups in every window
    key = 'bottleneck_detected_total{operation="cache",kind="cache_hit"}'
    c1 = wait_for("a cache_hit finding", lambda: node.metrics().get(key, 0))
    c2 = wait_for("more cache_hit findings", lambda: (lambda v: v if v > c1 else None)(
        node.metrics().get(key, 0)))
    ratio = node.metrics()["cache_hit_ratio"]
    if not 0 <= ratio < 0.8:
        fail("cache_hit_ratio %r with a 10-entry cache" % ratio)
    print("cache_hit findings %d -> %d, window hit ratio %.3f" % (c1, c2, ratio))
    st, _, body = node.get("/api/snapshot")
    gpu = json.loads(body)["gpu"]
    series = [k for k in node.metrics() if k.startswith("gpu_usage_percent{")]
    if gpu["available"] and gpu["devices"] and not series:
        fail("NVML sees %d GPU(s) but gpu_usage_percent has no series" % len(gpu["devices"]))
    if not gpu["available"] and series:
        fail("gpu_usage_percent has series without NVML: %r" % series)
    print("gpu_usage_percent: %s" % (series if series else "no series (%s)" % gpu["reason"]))

    # a reload finished (a stage's calls growing only says one began): the
    # report must count it
    wait_for("a finished reload", lambda: json.loads(node.get("/api/service")[2])["reloads"] >= 1)

    # SIGTERM under load (requests as fast as one worker can)
    node.proc.send_signal(signal.SIGTERM)
    stdout, err = node.proc.communicate()  # a hang is ctest's timeout to catch
    stdout, err, code = stdout.decode(), err.decode(errors="replace"), node.proc.returncode
    if code != 0:
        fail("exit %d after SIGTERM: %s" % (code, err[-2000:]))
finally:
    if node.proc.poll() is None:
        node.proc.kill()
        node.proc.wait()

left = sorted(os.listdir(out))
if left != ["service.json"]:
    fail("out/ holds %r, expected only service.json" % left)
with open(os.path.join(out, "service.json")) as f:
    rep = json.load(f)
for k in ["node", "uptime_s", "requests", "requests_per_s", "reloads", "posts", "settings",
          "cache", "bottlenecks", "operations"]:
    if k not in rep:
        fail("service.json lacks %r" % k)
if rep["node"] != "t1" or rep["requests"] <= 0 or rep["posts"] != 2000 or rep["reloads"] < 1:
    fail("service.json: %r" % {k: rep[k] for k in ("node", "requests", "posts", "reloads")})
ops = {o["operation"]: o for o in rep["operations"]}
# the last window was judged after the worker stopped: every request is in it
if ops.get("posts.serve.request", {}).get("count") != rep["requests"]:
    fail("posts.serve.request count %r != requests %d" % (ops.get("posts.serve.request"),
                                                         rep["requests"]))
kinds = {(x["operation"], x["kind"]) for x in rep["bottlenecks"]["found"]}
if ("cache", "cache_hit") not in kinds:
    fail("no cache_hit finding in the report: %r" % kinds)
m = re.search(r"^requests: (\d+)$", stdout, re.M)
if not m or int(m.group(1)) != rep["requests"] or "stopped_by: SIGTERM" not in stdout:
    fail("stdout after SIGTERM: %r" % stdout)
print("SIGTERM: exit 0, %d requests, %d reloads, %d windows judged, service.json complete"
      % (rep["requests"], rep["reloads"], rep["bottlenecks"]["windows"]))

# --duration: stops by itself, exit 0
r = subprocess.run([pp, "pipeline", "--serve", "--listen", "127.0.0.1:0", "--data", data,
                    "--duration", "1", "--rate", "50", "--out", os.path.join(work, "out2")],
                   capture_output=True, text=True)
if r.returncode != 0 or "stopped_by: duration" not in r.stdout:
    fail("--duration: exit %d, %r %r" % (r.returncode, r.stdout, r.stderr[-1000:]))
with open(os.path.join(work, "out2", "service.json")) as f:
    rep = json.load(f)
if not 0 < rep["requests"] <= 50 * rep["uptime_s"] + 2:
    fail("--rate 50 for %.2f s served %d requests" % (rep["uptime_s"], rep["requests"]))
print("--duration 1 --rate 50: exit 0, %d requests in %.2f s" % (rep["requests"], rep["uptime_s"]))
shutil.rmtree(work, ignore_errors=True)
print("pipeline serve test passed")
