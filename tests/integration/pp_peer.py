"""pp_peer.py - Shared by the metrics integration tests: start the test peer
(or `postprof serve`) on 127.0.0.1 with an ephemeral port, fetch over HTTP
without any proxy, and stop the process it started (by its pid)."""
import http.client
import os
import re
import select
import signal
import subprocess
import sys
import time


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Peer:
    def __init__(self, argv, env=None, port_re=rb"PORT (\d+)", timeout=30):
        e = dict(os.environ)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.port = None
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline and self.port is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = re.search(port_re, buf)
                if m:
                    self.port = int(m.group(1))
            if self.proc.poll() is not None:
                break
        if self.port is None:
            self.proc.kill()
            out, err = self.proc.communicate()
            fail("peer did not start: %r %r" % (buf + out, err[-2000:]))

    def get(self, path, headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", path, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal the peer (sig None: it was signalled already); returns (exit code, stderr)."""
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
