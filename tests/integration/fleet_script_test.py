"""fleet_script_test.py - scripts/fleet.sh (make fleet) with 2 nodes on
127.0.0.11 and 127.0.0.12 and free ports: it prints the URLs; Prometheus
(deploy/prometheus/prometheus.yml) scrapes both nodes; the federating
Prometheus (federation.yml) sees both through /federate; Alertmanager answers;
Ctrl-C (SIGINT) stops every process it started and the nodes write their
reports.
Usage: fleet_script_test.py POSTPROF SCRIPT WORKDIR"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pp_peer import fail, free_port, fresh_dir, require_tool  # noqa: E402
from pp_peer import prom_query as query, wait_for as wait_bounded  # noqa: E402

pp, script, work = sys.argv[1], sys.argv[2], sys.argv[3]
for t in ("prometheus", "prometheus-alertmanager", "redis-server", "curl"):
    require_tool(t)
fresh_dir(work)


def wait_for(what, cond, timeout=None):
    return wait_bounded(what, cond, timeout, every=0.5)


env = dict(os.environ, POSTPROF=pp, FLEET_DIR=work, FLEET_POSTS="2000", FLEET_RATE="20",
           FLEET_NODE_PORT=str(free_port(("127.0.0.11", "127.0.0.12"))),
           FLEET_REDIS_PORT=str(free_port()), FLEET_PROM_PORT=str(free_port()),
           FLEET_FED_PORT=str(free_port()), FLEET_AM_PORT=str(free_port()))
for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
    env.pop(k, None)
proc = subprocess.Popen(["bash", script, "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        env=env)
out = b""
ok = False
try:
    while b"Ctrl-C stops everything" not in out:  # a hang is ctest's timeout to catch
        if proc.poll() is not None:
            fail("fleet.sh did not come up: %r" % out[-3000:])
        r, _, _ = select.select([proc.stdout], [], [], 1)
        if r:
            out += os.read(proc.stdout.fileno(), 4096)
    text = out.decode()
    for want in ("http://127.0.0.11:%s/" % env["FLEET_NODE_PORT"],
                 "http://127.0.0.12:%s/" % env["FLEET_NODE_PORT"],
                 "http://127.0.0.1:%s/" % env["FLEET_PROM_PORT"],
                 "http://127.0.0.1:%s/" % env["FLEET_FED_PORT"],
                 "http://127.0.0.1:%s/" % env["FLEET_AM_PORT"]):
        if want not in text:
            fail("fleet.sh did not print %s:\n%s" % (want, text))
    prom, fed = int(env["FLEET_PROM_PORT"]), int(env["FLEET_FED_PORT"])
    wait_for("Prometheus: 2 nodes up", lambda: (lambda r: r and float(r[0]["value"][1]) == 2)(
        query(prom, 'sum(up{job="postprof"})')))
    wait_for("federation: both nodes", lambda: (lambda r: r and len(r) == 2)(
        query(fed, 'up{job="postprof"} == 1')))
    print("fleet.sh: Prometheus scrapes 2 nodes, the federating Prometheus sees both")
    with open(os.path.join(work, "pids")) as f:
        pids = [int(x) for x in f.read().split()]
    if len(pids) != 6:  # redis, 2 nodes, alertmanager, 2 Prometheus
        fail("pids: %r" % pids)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate()
    if proc.returncode != 0:
        fail("fleet.sh exit %d: %r" % (proc.returncode, rest[-2000:]))
    alive = []
    for p in pids:
        try:
            os.kill(p, 0)
            alive.append(p)
        except ProcessLookupError:
            pass
    if alive:
        fail("still running after Ctrl-C: %r" % alive)
    for i in (1, 2):
        with open(os.path.join(work, "out-%d" % i, "service.json")) as f:
            if json.load(f)["requests"] <= 0:
                fail("node-%d served nothing" % i)
    if not re.search(rb"stopping", rest):
        fail("no 'stopping' line: %r" % rest)
    print("Ctrl-C: every process stopped, both nodes wrote service.json")
    ok = True
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    try:
        if ok:
            raise OSError("nothing left to stop")
        with open(os.path.join(work, "pids")) as f:
            for p in f.read().split():
                try:
                    os.kill(int(p), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
    except OSError:
        pass
print("fleet script test passed")
