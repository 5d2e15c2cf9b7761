"""pipeline_serve_signals.py - `postprof pipeline --serve` stopped by more than
one signal (issue 16):
  - SIGTERM, then a second SIGTERM while it drains: the second is noted on
    stderr and changes nothing: the node still writes its whole report and
    exits 0 (before, a thread OpenBLAS starts ahead of main took the second
    signal and its default action ended the process without a report);
  - SIGTERM, SIGTERM, then SIGINT: the third exits at once with 128 + 2,
    without the report.
The drain is held open without any timing: OUT/service.json is a FIFO (an
output written in place, docs/fleet.md), so the node cannot finish its
report until this test opens the FIFO; each signal is sent only after the
node said it took the one before (the "stopping" line on stdout, the note
on stderr).
Usage: pipeline_serve_signals.py POSTPROF WORKDIR"""
import json
import os
import re
import select
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pp_peer import Peer, datagen, fail, fresh_dir, wait_for  # noqa: E402

pp, work = sys.argv[1], sys.argv[2]
fresh_dir(work)
data = datagen(pp, os.path.join(work, "data"), 300)


def start(name):
    """A node whose report goes into a FIFO: it waits there until read."""
    out = os.path.join(work, name)
    os.makedirs(out)
    fifo = os.path.join(out, "service.json")
    os.mkfifo(fifo)
    node = Peer([pp, "pipeline", "--serve", "--listen", "127.0.0.1:0", "--node", name,
                 "--data", data, "--rate", "200", "--reload", "0", "--out", out,
                 "--log-level", "warn"],
                port_re=rb"listening on http://127\.0\.0\.1:(\d+)")
    # serving: requests counted before the stop, so the report must count them
    wait_for("%s to serve requests" % name, lambda: node.metrics().get(
        'profiling_duration_seconds_count{operation="posts.serve.request"}', 0) > 0)
    return node, out, fifo


def read_fifo(fifo, node):
    """The whole of what the node writes into the FIFO (until it closes it).
    No deadline of its own: a hang is ctest's timeout to catch."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    buf = b""
    try:
        while True:
            r, _, _ = select.select([fd], [], [], 1.0)
            if not r:  # no writer has come and gone yet, no data
                if node.proc.poll() is not None:
                    fail("the node exited (%d) without writing its report"
                         % node.proc.returncode)
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:  # the writer closed the FIFO
                return buf
            buf += chunk
    finally:
        os.close(fd)


def signal_and_see(node, sig, stream, pattern):
    node.proc.send_signal(sig)
    return node.read_until(stream, pattern)


def drain_twice(node):
    """SIGTERM, and once the node says it drains, SIGTERM again: its note."""
    signal_and_see(node, signal.SIGTERM, node.proc.stdout, rb"stopping \(SIGTERM\): finishing")
    note = signal_and_see(node, signal.SIGTERM, node.proc.stderr, rb"still stopping[^\n]*\n")
    return note.decode(errors="replace")


# A second SIGTERM while draining: noted, the report still written, exit 0.
node, out, fifo = start("twice")
try:
    note = drain_twice(node)
    rep = json.loads(read_fifo(fifo, node))
    code, stdout, err = node.finish("writing the report")
finally:
    if node.proc.poll() is None:
        node.proc.kill()
        node.proc.wait()
if code != 0:
    fail("exit %d after two SIGTERMs: %s" % (code, err[-2000:]))
if not re.search(r"postprof pipeline: SIGTERM again: still stopping: finishing the requests in "
                 r"flight, then writing \S*service\.json \(a third signal exits at once", note):
    fail("the second SIGTERM's note: %r" % note)
if rep.get("node") != "twice" or not rep.get("requests", 0) > 0 or rep.get("posts") != 300:
    fail("service.json after two SIGTERMs: %r" % {k: rep.get(k) for k in ("node", "requests",
                                                                          "posts")})
m = re.search(r"^requests: (\d+)$", stdout, re.M)
if "stopped_by: SIGTERM" not in stdout or not m or int(m.group(1)) != rep["requests"]:
    fail("stdout after two SIGTERMs: %r" % stdout)
if sorted(os.listdir(out)) != ["service.json"]:
    fail("%s holds %r" % (out, sorted(os.listdir(out))))
print("second SIGTERM while draining: noted (%r), report written (%d requests), exit 0"
      % (note.strip()[-80:], rep["requests"]))

# A third signal: out at once, 128 + SIGINT, no report.
node, out, fifo = start("thrice")
try:
    drain_twice(node)
    node.proc.send_signal(signal.SIGINT)
    code, stdout, err = node.finish("the third signal")
finally:
    if node.proc.poll() is None:
        node.proc.kill()
        node.proc.wait()
if code != 128 + signal.SIGINT or \
        "postprof pipeline: SIGINT a third time: exiting at once, without finishing" not in err:
    fail("third signal: exit %d, stderr %r" % (code, err[-2000:]))
if "report:" in stdout or sorted(os.listdir(out)) != ["service.json"]:
    fail("third signal: a report after all? stdout %r, %s holds %r"
         % (stdout, out, sorted(os.listdir(out))))
print("third signal: exit %d at once, no report" % node.proc.returncode)
shutil.rmtree(work, ignore_errors=True)
print("pipeline serve signals test passed")
