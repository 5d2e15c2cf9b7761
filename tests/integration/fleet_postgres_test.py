"""fleet_postgres_test.py - Three `postprof pipeline --serve` nodes whose one
source is the same real PostgreSQL (initdb in a temporary directory, started
on 127.0.0.1 with a free port and stopped here, run as an unprivileged user
when the test runs as root, as tests/posts/postgres_test.sh does):
  - every node loads every post of the database and serves requests;
  - posts added to the database reach every node at its next reload;
  - the database stopped: reloads fail and are counted
    (postprof_service_reloads_total{result="failed"}), requests are still
    answered from the posts already loaded;
  - SIGTERM: each node writes service.json with the posts it served and exits 0.
Exit 77 (skipped) when the PostgreSQL server binaries are missing, except
under CI=true where that fails.
Usage: fleet_postgres_test.py POSTPROF WORKDIR"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pp_peer import Peer, datagen, elapsed, fail, free_port, fresh_dir  # noqa: E402
from pp_peer import peers_alive, say  # noqa: E402
from pp_peer import wait_for as wait_bounded  # noqa: E402

pp, work = sys.argv[1], sys.argv[2]
POSTS, ADDED = 400, 40

pgbin = None
for d in sorted(glob.glob("/usr/lib/postgresql/*/bin")):
    if os.access(os.path.join(d, "initdb"), os.X_OK):
        pgbin = d
if not pgbin:
    if os.environ.get("CI") == "true":
        fail("PostgreSQL server binaries (initdb) not found (CI=true: not skipping)")
    print("SKIP: PostgreSQL server binaries (initdb) not found (scripts/deps.sh)")
    sys.exit(77)
psql = os.path.join(pgbin, "psql") if os.access(os.path.join(pgbin, "psql"), os.X_OK) \
    else shutil.which("psql")
fresh_dir(work)
# The database lives outside the build tree: as root, it belongs to nobody.
pg = tempfile.mkdtemp(prefix="fleet_pg_")
run_as = []
if os.getuid() == 0:
    os.chown(pg, 65534, -1)
    os.chmod(pg, 0o755)
    run_as = (["runuser", "-u", "nobody", "--"] if shutil.which("runuser") else
              ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])

pgport = free_port()
url = "postgresql://postgres@127.0.0.1:%d/postgres" % pgport
db = os.path.join(pg, "db")
nodes = []
pg_started = False


def pg_ctl(*args):
    return subprocess.run(run_as + [os.path.join(pgbin, "pg_ctl"), "-D", db] + list(args),
                          capture_output=True, text=True)


def wait_for(what, cond, timeout=None):
    return wait_bounded(what, cond, timeout, check=peers_alive(nodes, what))


REQ = 'profiling_duration_seconds_count{operation="posts.serve.request"}'
FAILED = 'postprof_service_reloads_total{result="failed"}'
OK = 'postprof_service_reloads_total{result="ok"}'
try:
    r = subprocess.run(run_as + [os.path.join(pgbin, "initdb"), "-D", db, "-A", "trust",
                                 "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("initdb: %s" % (r.stdout + r.stderr)[-2000:])
    r = pg_ctl("-w", "-t", "60", "-l", os.path.join(db, "server.log"), "-o",
               "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" % (pgport, db), "start")
    if r.returncode != 0:
        fail("pg_ctl start: %s" % (r.stdout + r.stderr)[-2000:])
    pg_started = True
    data = datagen(pp, os.path.join(work, "data"), POSTS, "--seed", "7", "--postgres", url)
    say("PostgreSQL on 127.0.0.1:%d holds %d posts" % (pgport, POSTS))
    for i in range(3):
        nodes.append(Peer([pp, "pipeline", "--serve", "--listen", "127.0.0.1:0",
                           "--node", "pg-%d" % (i + 1), "--data", data, "--sources", "database",
                           "--postgres", url, "--rate", "30", "--reload", "2",
                           "--window", "2", "--every", "1",
                           "--out", os.path.join(work, "out-%d" % (i + 1)),
                           "--log-level", "error"],
                          port_re=rb"listening on http://127\.0\.0\.1:(\d+)"))
    for n in nodes:
        wait_for("node :%d ready" % n.port, lambda: n.get("/readyz")[0] == 200)
        m = n.metrics()
        if m.get("postprof_service_posts") != POSTS:
            fail("node :%d serves %r posts, the database holds %d"
                 % (n.port, m.get("postprof_service_posts"), POSTS))
    first = [n.metrics().get(REQ, 0) for n in nodes]
    wait_for("every node's requests to grow", lambda: all(
        n.metrics().get(REQ, 0) > first[i] for i, n in enumerate(nodes)))
    say("3 nodes loaded all %d posts from the one PostgreSQL and serve requests" % POSTS)

    # new posts in the shared source reach every node at its next reload
    r = subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                        "INSERT INTO posts SELECT id + 1000000, author_id, author_followers, "
                        "created_at, lang, text, media, reactions, comments, shares FROM posts "
                        "ORDER BY id LIMIT %d" % ADDED], capture_output=True, text=True)
    if r.returncode != 0:
        fail("psql INSERT: %s" % r.stderr[-2000:])
    wait_for("every node to serve %d posts" % (POSTS + ADDED), lambda: all(
        n.metrics().get("postprof_service_posts") == POSTS + ADDED for n in nodes))
    say("%d posts added to PostgreSQL: every node serves %d after its reload"
        % (ADDED, POSTS + ADDED))

    # the database gone: reloads fail (counted), requests still answered
    r = pg_ctl("-m", "immediate", "-w", "stop")
    if r.returncode != 0:
        fail("pg_ctl stop: %s" % (r.stdout + r.stderr)[-2000:])
    pg_started = False
    wait_for("failed reloads counted on every node", lambda: all(
        n.metrics().get(FAILED, 0) > 0 for n in nodes))
    mid = [n.metrics() for n in nodes]
    wait_for("requests answered without the database", lambda: all(
        n.metrics().get(REQ, 0) > mid[i].get(REQ, 0) for i, n in enumerate(nodes)))
    for i, n in enumerate(nodes):
        m = n.metrics()
        if m.get("postprof_service_posts") != POSTS + ADDED:
            fail("node :%d lost its posts when the database went away: %r"
                 % (n.port, m.get("postprof_service_posts")))
        st, _, body = n.get("/api/service")
        if st != 200 or json.loads(body)["request_errors"] != 0:
            fail("node :%d failed requests without the database: %r" % (n.port, body))
    say("PostgreSQL stopped: reloads failed and counted %s, requests still answered"
        % [int(m.get(FAILED, 0)) for m in mid])

    for n in nodes:  # every node drains at once
        n.proc.send_signal(signal.SIGTERM)
    for i, n in enumerate(nodes):
        code, err = n.stop(None)
        if code != 0:
            fail("pg-%d: exit %d after SIGTERM: %s" % (i + 1, code, err[-2000:]))
        with open(os.path.join(work, "out-%d" % (i + 1), "service.json")) as f:
            rep = json.load(f)
        if rep["posts"] != POSTS + ADDED or rep["requests"] <= 0 or rep["reloads"] <= 0 or \
                rep["reload_errors"] <= 0:
            fail("pg-%d service.json: posts %r, requests %r, reloads %r, reload errors %r"
                 % (i + 1, rep["posts"], rep["requests"], rep["reloads"], rep["reload_errors"]))
    say("SIGTERM: every node wrote service.json (%d posts, reloads ok and failed counted), exit 0"
        % (POSTS + ADDED))
    print("fleet postgres test passed in %.0f s" % elapsed())
finally:
    for n in nodes:
        if n.proc.poll() is None:
            n.proc.kill()
            n.proc.wait()
    if pg_started:
        pg_ctl("-m", "immediate", "stop")
    shutil.rmtree(pg, ignore_errors=True)
