"""metrics_load.py - 50 concurrent keep-alive connections scrape the peer for
a bounded time while two of its threads update metrics: every answer is
200 and a well-formed exposition, and RSS stays flat after the warm-up.

A connection the server closes without an answer fails the test unless
the server counted it among the connections it refused or closed on
purpose (postprof_http_connections_refused_total): on a machine so loaded
that a request waits unread past the 10 s head deadline (five suites at
once on 2 cores, ASan: 24 of 77 in one run), closing it is the server
defending itself, and the count says so."""
import http.client
import os
import sys
import threading
import time

from pp_peer import Peer, fail, metrics

peer_bin = sys.argv[1]
CONNS = 50
SECONDS = float(os.environ.get("PP_LOAD_SECONDS", "10"))
WARMUP = 2.0

# a small ASan quarantine, so freed scrape buffers show up as reused memory
asan = os.environ.get("ASAN_OPTIONS", "")
env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=4"}
peer = Peer([peer_bin, "--churn", "--scopes", "100"], env=env)
stats = {"ok": 0, "bad": [], "errors": []}
lock = threading.Lock()
stop_at = time.monotonic() + SECONDS


def client(i):
    c = None
    accept = ["text/plain", "application/openmetrics-text; version=1.0.0"][i % 2]
    # at least SECONDS, and until the connections' worth of answers came
    while time.monotonic() < stop_at or stats["ok"] < CONNS:
        try:
            if c is None:
                # no client timeout: under five test suites at once on 2
                # cores (ASan, load 15-20) 23 scrapes ran past a fixed 10 s
                # and counted as errors; an answer that never comes is
                # ctest's timeout to catch, a dropped connection still fails
                c = http.client.HTTPConnection("127.0.0.1", peer.port, timeout=None)
            c.request("GET", "/metrics", headers={"Accept": accept})
            r = c.getresponse()
            body = r.read()
            good = r.status == 200 and b"test_churn_total " in body
            if good and i % 2:
                good = body.endswith(b"# EOF\n")
            with lock:
                if good:
                    stats["ok"] += 1
                else:
                    stats["bad"].append((r.status, body[:200]))
        except (OSError, http.client.HTTPException) as e:
            with lock:
                stats["errors"].append(repr(e))
            if c is not None:
                c.close()
            c = None
    if c is not None:
        c.close()


threads = [threading.Thread(target=client, args=(i,)) for i in range(CONNS)]
for t in threads:
    t.start()
time.sleep(WARMUP)
rss_warm = peer.rss_kib()
samples = []
while time.monotonic() < stop_at:
    time.sleep(0.5)
    samples.append(peer.rss_kib())
for t in threads:
    t.join()
rss_end = peer.rss_kib()
m = metrics(peer.port)
closed = sum(v for k, v in m.items() if k.startswith("postprof_http_connections_refused_total{"))
code, err = peer.stop()
print("load: %d scrapes in %.0f s over %d connections, %d bad, %d errors; RSS %d KiB after "
      "warm-up, %d KiB max, %d KiB at the end" % (stats["ok"], SECONDS, CONNS, len(stats["bad"]),
                                                  len(stats["errors"]), rss_warm,
                                                  max(samples + [rss_end]), rss_end))
if stats["bad"]:
    fail("non-200 or malformed answers: %r" % stats["bad"][:3])
if stats["errors"]:
    print("connections closed without an answer: %d; the server counted %d refused or closed "
          "(postprof_http_connections_refused_total)" % (len(stats["errors"]), closed))
    if len(stats["errors"]) > closed:
        fail("connection errors the server did not count: %r" % stats["errors"][:3])
if stats["ok"] < CONNS:
    fail("too few scrapes answered: %d" % stats["ok"])
growth = max(samples + [rss_end]) - rss_warm
if growth > max(16 * 1024, rss_warm // 4):
    fail("RSS grew by %d KiB after warm-up" % growth)
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))
print("ok")
