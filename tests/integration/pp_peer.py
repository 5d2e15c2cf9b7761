"""pp_peer.py - Shared by the integration tests that talk to servers: start
the test peer (or `postprof serve`, `postprof pipeline --serve`) on 127.0.0.1
with an ephemeral port, fetch over HTTP without any proxy, read /metrics and
Prometheus's query API, wait for a condition, pick free ports, and stop the
process it started (by its pid).

Waits have no deadline of their own unless a caller gives one (timeout=N,
for a deadline the product promises): at load 15-20 under a sanitizer, work
of 1-3 s took 10-20 times longer and fixed deadlines failed tests that were
right. A hang is ctest's TIMEOUT to catch (1500 s at least); meanwhile a
wait says on stderr every 30 s what it is still waiting for."""
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

_T0 = time.monotonic()


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def elapsed():
    """Seconds since the test started (this module was imported)."""
    return time.monotonic() - _T0


class _Waiting:
    """Tracks one wait: over() once a deadline given passes (never without
    one); says every 30 s on stderr what is still awaited."""

    def __init__(self, what, timeout):
        self.what, self.t0 = what, time.monotonic()
        self.deadline = None if timeout is None else self.t0 + timeout
        self.next_note = self.t0 + 30

    def left(self, most):
        """Seconds to wait at most in one step: most, or less near the deadline."""
        if self.deadline is None:
            return most
        return max(0.0, min(most, self.deadline - time.monotonic()))

    def over(self):
        now = time.monotonic()
        if now >= self.next_note:
            print("[%5.1f s] still waiting (%.0f s) for %s" % (elapsed(), now - self.t0, self.what),
                  file=sys.stderr, flush=True)
            self.next_note = now + 30
        return self.deadline is not None and now >= self.deadline


def say(msg):
    """A progress line stamped with the seconds since the test started."""
    print("[%5.1f s] %s" % (elapsed(), msg), flush=True)


def free_port(hosts=("127.0.0.1",)):
    """A TCP port free on every host given (the first picks it)."""
    for _ in range(50):
        socks = []
        try:
            s = socket.socket()
            socks.append(s)
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
            for h in hosts[1:]:
                t = socket.socket()
                socks.append(t)
                t.bind((h, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    fail("no free port on %r" % (hosts,))


def http_get(port, path, headers=None, timeout=None):
    """GET 127.0.0.1:port path on a fresh connection: (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def raw_scrape(port, timeout=None):
    """GET /metrics written by hand on a fresh connection (HTTP/1.1,
    Connection: close), read to the end: the whole answer, status line and
    headers included. Raises OSError as the socket does."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    finally:
        s.close()


def parse_metrics(body):
    """Prometheus text exposition as {series (name and labels): value}."""
    out = {}
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        series, _, value = line.rpartition(" ")
        out[series] = float(value)
    return out


def metrics(port, strict=True):
    """The /metrics of 127.0.0.1:port parsed; a failed scrape fails the test
    (strict) or gives {} (for a node that may be down or busy)."""
    try:
        st, _, body = http_get(port, "/metrics")
    except OSError as e:
        if strict:
            fail("127.0.0.1:%d /metrics: %r" % (port, e))
        return {}
    if st != 200:
        if strict:
            fail("127.0.0.1:%d /metrics answered %d" % (port, st))
        return {}
    return parse_metrics(body)


def prom_query(port, q, at=None):
    """An instant query to the Prometheus on 127.0.0.1:port: its result list,
    or None when it cannot answer (not up yet, an error)."""
    args = {"query": q}
    if at is not None:
        args["time"] = repr(at)
    return _prom(port, "/api/v1/query?" + urllib.parse.urlencode(args))


def prom_range(port, q, start, end, step=1):
    """q evaluated at start, start + step, ... end: [(labels, {t: value})], or None."""
    args = {"query": q, "start": repr(start), "end": repr(end), "step": str(step)}
    res = _prom(port, "/api/v1/query_range?" + urllib.parse.urlencode(args))
    if res is None:
        return None
    return [(x["metric"], {round(float(t), 3): float(v) for t, v in x["values"]}) for x in res]


def _prom(port, path):
    try:
        st, _, body = http_get(port, path)
        doc = json.loads(body) if st == 200 else {}
    except (OSError, ValueError):
        return None
    return doc["data"]["result"] if doc.get("status") == "success" else None


def wait_for(what, cond, timeout=None, every=0.25, check=None, detail=None):
    """Poll cond() until it returns something true (returned), or timeout
    seconds pass when one is given (the test fails). check(), if given, runs
    between polls and fails the test itself (e.g. a process it needs has
    exited); detail() adds to the failure message."""
    w = _Waiting(what, timeout)
    while not w.over():
        v = cond()
        if v:
            return v
        if check:
            check()
        time.sleep(every)
    fail("timed out (%d s) waiting for %s%s" % (timeout, what,
                                                "; " + str(detail()) if detail else ""))


def peers_alive(peers, what=""):
    """A check for wait_for(): fail when one of peers (Peer objects) has exited."""
    def check():
        for p in peers:
            if p.proc.poll() is not None:
                fail("127.0.0.1:%d exited (%d)%s" % (p.port, p.proc.returncode,
                                                     " while waiting for " + what if what
                                                     else ""))
    return check


def fresh_dir(path):
    """path as an empty folder (what a test left there before removed)."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def datagen(pp, out, posts, *more):
    """`postprof datagen --posts N --out DIR` (and more of its flags) into out, or fail."""
    r = subprocess.run([pp, "datagen", "--posts", str(posts), "--out", out, "--quiet"] +
                       list(more), capture_output=True, text=True)
    if r.returncode != 0:
        fail("datagen %s exited %d: %s" % (" ".join(more), r.returncode, r.stderr[-2000:]))
    return out


class Peer:
    def __init__(self, argv, env=None, port_re=rb"PORT (\d+)", timeout=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.port = None
        self.out = b""  # what the peer printed on stdout up to its port line
        w = _Waiting("%s to print its port" % os.path.basename(argv[0]), timeout)
        while not w.over() and self.port is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                self.out += chunk
                m = re.search(port_re, self.out)
                if m:
                    self.port = int(m.group(1))
            if self.proc.poll() is not None:
                break
        if self.port is None:
            self.proc.kill()
            out, err = self.proc.communicate()
            fail("peer did not start: %r %r" % (self.out + out, err[-2000:]))

    def get(self, path, headers=None, timeout=None):
        return http_get(self.port, path, headers, timeout)

    def metrics(self, strict=True):
        return metrics(self.port, strict)

    def read_until(self, stream, pattern, timeout=None):
        """Read the peer's stdout or stderr (self.proc.stdout/.stderr) until
        pattern (bytes regex) appears: what was read; the test fails if the
        peer ends first, or timeout seconds pass when one is given."""
        buf = b""
        w = _Waiting("%r from the peer" % pattern, timeout)
        while not re.search(pattern, buf):
            if w.over():
                fail("no %r from the peer within %d s: %r" % (pattern, timeout, buf[-2000:]))
            r, _, _ = select.select([stream], [], [], w.left(0.5))
            if r:
                chunk = os.read(stream.fileno(), 4096)
                if not chunk:
                    fail("the peer closed its output before %r: %r" % (pattern, buf[-2000:]))
                buf += chunk
        return buf

    def finish(self, what, timeout=None):
        """Wait for the peer to exit by itself: (exit code, stdout, stderr) as
        text; the test fails (the peer killed) if it is not gone within
        timeout seconds, when one is given."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            fail("no exit within %d s of %s" % (timeout, what))
        return (self.proc.returncode, out.decode(errors="replace"),
                err.decode(errors="replace"))

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Signal the peer (sig None: it was signalled already); returns (exit
        code, stderr). With timeout, the test fails if it has not exited by then."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            fail("peer did not exit within %d s of signal %s" % (timeout, sig))
        return self.proc.returncode, err.decode(errors="replace")


def require_tool(name):
    from shutil import which
    path = which(name)
    if not path:
        fail("%s not found: install it (scripts/deps.sh installs it on Debian)" % name)
    return path
