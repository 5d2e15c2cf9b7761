"""metrics_serve_cli.py - `postprof serve`: usage errors exit 2, the address
in use is printed and logged, token auth, /api/snapshot carries system and
GPU sections, a busy port exits 1, SIGINT and SIGTERM exit 0."""
import json
import signal
import subprocess
import sys

from pp_peer import Peer, fail

postprof = sys.argv[1]
PORT_RE = rb"listening on http://127\.0\.0\.1:(\d+)"


def run(args):
    return subprocess.run([postprof, "serve"] + args, capture_output=True, timeout=30)


r = run(["--help"])
if r.returncode != 0 or b"usage: postprof serve" not in r.stdout:
    fail("--help: %d %r" % (r.returncode, r.stdout))
for bad in (["--bogus"], ["--listen", "nope"], ["--listen"], ["--interval", "0"],
            ["--interval", "x"], ["--token", ""], ["--log-level", "loud"]):
    r = run(bad)
    if r.returncode != 2 or b"usage:" not in r.stderr:
        fail("%r: expected exit 2 with usage, got %d %r" % (bad, r.returncode, r.stderr))
    print("usage error %r -> exit 2: %s" % (bad, r.stderr.decode().splitlines()[0]))

for sig in (signal.SIGINT, signal.SIGTERM):
    s = Peer([postprof, "serve", "--listen", "127.0.0.1:0", "--token", "tk", "--interval", "0.1"],
             port_re=PORT_RE)
    st, _, _ = s.get("/healthz")
    if st != 401:
        fail("no token: %d" % st)
    st, hdr, body = s.get("/api/snapshot", {"Authorization": "Bearer tk"})
    if st != 200:
        fail("snapshot: %d" % st)
    doc = json.loads(body)
    if doc["system"]["resident_bytes"] <= 0 or doc["system"]["samples"] < 1:
        fail("system section: %r" % doc["system"])
    if "available" not in doc["gpu"]:
        fail("gpu section: %r" % doc["gpu"])
    if not doc["gpu"]["available"] and not doc["gpu"].get("reason"):
        fail("unavailable GPU without a reason")
    st, _, body = s.get("/metrics", {"Authorization": "Bearer tk"})
    if st != 200 or b"postprof_system_memory_total_bytes " not in body:
        fail("metrics: %d" % st)
    # a second server on the same port fails cleanly
    r = run(["--listen", "127.0.0.1:%d" % s.port])
    if r.returncode != 1 or b"cannot listen" not in r.stderr:
        fail("busy port: %d %r" % (r.returncode, r.stderr))
    code, err = s.stop(sig)
    if code != 0:
        fail("signal %d: exit %d %s" % (sig, code, err))
    if "listen addr=127.0.0.1:%d" % s.port not in err:
        fail("address not logged: %r" % err)
    print("signal %d -> exit 0" % sig)
print("ok")
