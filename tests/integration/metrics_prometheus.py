"""metrics_prometheus.py - A real Prometheus server (started here on loopback,
generated config, temporary storage) scrapes the test peer with a bearer
token; waits for up == 1, then checks through /api/v1/query that a counter
has exactly the value the peer counted and that histogram_quantile over
profiling_duration_seconds gives a number. Stops both processes."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pp_peer import Peer, fail, free_port, require_tool
from pp_peer import prom_query as query

peer_bin = sys.argv[1]
prometheus = require_tool("prometheus")
COUNT = 123457
TOKEN = "it-token-42"


peer = Peer([peer_bin, "--counter", str(COUNT), "--scopes", "500", "--token", TOKEN,
             "--weird-labels", "--sysstats", "0.5"])
tmp = tempfile.mkdtemp(prefix="pp-prom-")
prom = None
try:
    pport = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: postprof
    scrape_interval: 1s
    scrape_timeout: 900ms
    authorization:
      credentials: %s
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % (TOKEN, peer.port))
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    prom = subprocess.Popen([prometheus, "--config.file=" + cfg,
                             "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                             "--web.listen-address=127.0.0.1:%d" % pport,
                             "--log.level=warn"], stdout=log, stderr=log)
    up = None
    while True:  # no deadline of the test's own: a hang is ctest's timeout to catch
        if prom.poll() is not None:
            break
        res = query(pport, 'up{job="postprof"}')
        if res and res[0]["value"][1] == "1":
            up = True
            break
        time.sleep(0.5)
    if not up:
        log.flush()
        fail("Prometheus never saw up == 1:\n" + open(os.path.join(tmp, "prometheus.log")).read()[-3000:])
    print("prometheus: up == 1")

    # every query reads each series' last sample of the past hour, not the
    # sample at this instant: a scrape that failed since (its timeout passed
    # while the loaded peer answered: under ASan at load ~15, fresh-clone
    # run 63, count(test_weird_labels) was empty) marks every series stale,
    # and a stale series is no answer at "now"
    res = query(pport, "last_over_time(test_events_total[1h])")
    if not res or res[0]["value"][1] != str(COUNT):
        fail("test_events_total: expected %d, got %r" % (COUNT, res))
    print("prometheus: test_events_total == %d" % COUNT)

    q = ('histogram_quantile(0.9, sum by (le) '
         '(last_over_time(profiling_duration_seconds_bucket{operation="peer.work"}[1h])))')
    res = query(pport, q)
    if not res:
        fail("histogram_quantile: no result")
    v = float(res[0]["value"][1])
    if not (v == v) or v <= 0 or v > 10:  # NaN or out of the bucket range
        fail("histogram_quantile gave %r" % res[0]["value"][1])
    print("prometheus: p90 of peer.work = %g s" % v)

    res = query(pport, 'last_over_time(profiling_duration_seconds_count{operation="peer.work"}[1h])')
    if not res or res[0]["value"][1] != "500":
        fail("profiling_duration_seconds_count: expected 500, got %r" % res)
    # Prometheus 2.42 asks for OpenMetrics first, and got it
    res = query(pport, 'last_over_time(postprof_scrapes_total{format="openmetrics"}[1h])')
    if not res or float(res[0]["value"][1]) < 1:
        fail("no OpenMetrics scrape counted: %r" % res)
    res = query(pport, 'last_over_time(postprof_scrapes_total{format="text"}[1h])')
    if not res or float(res[0]["value"][1]) != 0:
        fail("text scrapes counted from Prometheus: %r" % res)
    # label values that needed escaping came through Prometheus's parser intact
    res = query(pport, "count(last_over_time(test_weird_labels[1h]))")
    if not res or res[0]["value"][1] != "7":
        fail("test_weird_labels series: %r" % res)
    for matcher, want in [(r'quote \" here', "0.5"), (r"back\\slash", "1.5"),
                          (r"new\nline", "2.5"), ("caf\u00e9 \u65e5\u672c \U0001f525", "3.5")]:
        res = query(pport, 'last_over_time(test_weird_labels{text="%s"}[1h])' % matcher)
        if not res or res[0]["value"][1] != want:
            fail("test_weird_labels{text=%r}: %r" % (matcher, res))
    res = query(pport, "last_over_time(process_start_time_seconds[1h])")
    if not res or abs(float(res[0]["value"][1]) - time.time()) > 3600:
        fail("process_start_time_seconds: %r" % res)
    code, err = peer.stop()
    if code != 0:
        fail("peer exit %d: %s" % (code, err[-2000:]))
    print("ok")
finally:
    if prom is not None and prom.poll() is None:
        prom.terminate()
        try:
            prom.wait(timeout=30)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
    if peer.proc.poll() is None:
        peer.proc.kill()
        peer.proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
