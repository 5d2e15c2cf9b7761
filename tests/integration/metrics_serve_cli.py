"""metrics_serve_cli.py - `postprof serve`: usage errors exit 2, the address
in use is printed and logged, token auth, /api/snapshot carries system and
GPU sections, a busy port exits 1 saying so, SIGINT and SIGTERM exit 0; the
token from --token-file or POSTPROF_TOKEN (never on the command line)."""
import json
import os
import re
import shutil
import signal
import socket
import threading
import subprocess
import sys
import tempfile

from pp_peer import Peer, fail

postprof = sys.argv[1]
PORT_RE = rb"listening on http://127\.0\.0\.1:(\d+)"


def run(args, env=None):
    e = dict(os.environ)
    e.pop("POSTPROF_TOKEN", None)
    e.update(env or {})
    return subprocess.run([postprof, "serve"] + args, capture_output=True, env=e)


r = run(["--help"])
if r.returncode != 0 or b"usage: postprof serve" not in r.stdout:
    fail("--help: %d %r" % (r.returncode, r.stdout))
for bad in (["--bogus"], ["--listen", "nope"], ["--listen"], ["--interval", "0"],
            ["--interval", "x"], ["--token", ""], ["--log-level", "loud"],
            ["--max-connections", "0"], ["--max-per-client", "x"], ["--request-timeout", "-1"],
            ["--request-timeout", "3601"], ["--max-per-client"]):
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
    want = b"cannot listen on 127.0.0.1:%d: the port is already in use" % s.port
    if r.returncode != 1 or want not in r.stderr:
        fail("busy port: %d %r" % (r.returncode, r.stderr))
    code, err = s.stop(sig)
    if code != 0:
        fail("signal %d: exit %d %s" % (sig, code, err))
    if "listen addr=127.0.0.1:%d" % s.port not in err:
        fail("address not logged: %r" % err)
    print("signal %d -> exit 0" % sig)

# the token from a file or the environment, so that the process list does not show it
tmp = tempfile.mkdtemp()
tf = os.path.join(tmp, "token")
with open(tf, "w") as f:
    f.write("file-tk\n")
os.chmod(tf, 0o600)
empty = os.path.join(tmp, "empty")
open(empty, "w").close()
spaced = os.path.join(tmp, "spaced")
with open(spaced, "w") as f:
    f.write("two words\n")
fifo = os.path.join(tmp, "fifo")
os.mkfifo(fifo)
for args, env, token in ((["--token-file", tf], {}, "file-tk"),
                         (["--token-file", fifo], {}, "fifo-tk"),
                         ([], {"POSTPROF_TOKEN": "env-tk"}, "env-tk"),
                         (["--token-file", tf], {"POSTPROF_TOKEN": "env-tk"}, "file-tk")):
    e = dict(os.environ)
    e.pop("POSTPROF_TOKEN", None)
    e.update(env)
    proc_args = [postprof, "serve", "--listen", "127.0.0.1:0"] + args
    if fifo in args:  # a pipe, as --token-file <(pass show x) gives: written once
        writer = threading.Thread(target=lambda: open(fifo, "w").write("fifo-tk\n"), daemon=True)
        writer.start()
    s = Peer(proc_args, env=e, port_re=PORT_RE)
    if fifo in args:
        writer.join()
    with open("/proc/%d/cmdline" % s.proc.pid, "rb") as f:
        if token.encode() in f.read():
            fail("the token is on the command line")
    for sent, want in ((None, 401), ("wrong", 401), (token, 200)):
        st, _, _ = s.get("/metrics", {"Authorization": "Bearer " + sent} if sent else {})
        if st != want:
            fail("%r %r: token %r answered %d, want %d" % (args, env, sent, st, want))
    code, err = s.stop()
    if code != 0:
        fail("exit %d %s" % (code, err))
    print("token from %s -> required" % (args[1] if args else "environment"))
for args, env, what in ((["--token", "a", "--token-file", tf], {}, b"give one"),
                        (["--token-file", os.path.join(tmp, "missing")], {}, b"missing"),
                        (["--token-file", empty], {}, b"empty"),
                        (["--token-file", spaced], {}, b"without spaces"),
                        (["--token-file", tmp], {}, b"directory"),
                        (["--token-file", "/dev/zero"], {}, b"not a token"),
                        ([], {"POSTPROF_TOKEN": ""}, b"POSTPROF_TOKEN")):
    r = run(args, env)
    if r.returncode != 2 or what not in r.stderr:
        fail("%r %r: expected exit 2 naming %r, got %d %r" % (args, env, what, r.returncode,
                                                            r.stderr))
    print("token error %r -> exit 2: %s" % (args or env, r.stderr.decode().splitlines()[0]))
shutil.rmtree(tmp)

# the limits from the command line: 2 connections per client, 1 s for a request
s = Peer([postprof, "serve", "--listen", "127.0.0.1:0", "--max-per-client", "2",
          "--request-timeout", "1"], port_re=PORT_RE)
idle = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(3)]
for c in idle:
    c.settimeout(10)
# the third closed the first (the oldest waiting), the other two meet the deadline
for i, c in enumerate(idle):
    try:
        if c.recv(1) != b"":
            fail("idle connection %d got data" % i)
    except ConnectionResetError:
        pass
    except socket.timeout:
        fail("idle connection %d still open 10 s after a 1 s request deadline" % i)
    c.close()
st, _, body = s.get("/metrics")
text = body.decode()
for reason, least in (("address_limit", 1), ("head_timeout", 2)):
    m = re.search(r'refused_total\{reason="%s"\} (\d+)' % reason, text)
    if st != 200 or not m or int(m.group(1)) < least:
        fail("serve limits: %s counted %s, want >= %d" % (reason, m and m.group(1), least))
code, err = s.stop()
if code != 0:
    fail("exit %d %s" % (code, err))
print("serve --max-per-client 2 --request-timeout 1: enforced")
print("ok")
