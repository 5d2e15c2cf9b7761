"""crash_sentry_cli.py - `postprof crash-report` on a real crash report
(tests/helpers/crasher.c): --event-json prints the Sentry event, --sentry DSN
POSTs it to a store endpoint on loopback (this script's HTTP server, which
keeps what it receives), a refusal and a bad DSN are clear errors."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

postprof, crasher = sys.argv[1:3]
tmp = tempfile.mkdtemp(prefix="pp-crash-cli-")


def fail(msg):
    print("FAIL: " + msg)
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1)


class Store(BaseHTTPRequestHandler):
    answer = 200
    got = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Store.got.append((self.path, dict(self.headers), self.rfile.read(n)))
        body = b'{"id":"x"}' if Store.answer == 200 else b'{"detail":"project disabled"}'
        self.send_response(Store.answer)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


r = subprocess.run([crasher, tmp], capture_output=True)
if r.returncode != -11:
    fail("crasher should die of SIGSEGV, got %d" % r.returncode)
reports = glob.glob(os.path.join(tmp, "crash-*.txt"))
if len(reports) != 1:
    fail("expected one crash report, found %s" % reports)
report = reports[0]

r = subprocess.run([postprof, "crash-report", "--event-json", report], capture_output=True, text=True)
if r.returncode != 0:
    fail("--event-json: exit %d %s" % (r.returncode, r.stderr))
ev = json.loads(r.stdout)
exc = ev["exception"]["values"][0]
if exc["type"] != "SIGSEGV" or exc["mechanism"]["meta"]["signal"]["number"] != 11:
    fail("event exception: %r" % exc)
frames = exc["stacktrace"]["frames"]
if frames[-1].get("function") != "crasher_fault" or frames[-2].get("function") != "main":
    fail("frames, oldest first: %r" % [f.get("function") for f in frames])
crumb = [b for b in ev["breadcrumbs"]["values"] if "plugh-42" in b["message"]]
if not crumb or crumb[0].get("level") != "warning" or not crumb[0].get("timestamp", "").endswith("Z"):
    fail("the WARN log line is not a warning breadcrumb with its time: %r" % ev["breadcrumbs"])
print("event:", exc["value"], [f.get("function") for f in frames])

srv = ThreadingHTTPServer(("127.0.0.1", 0), Store)
threading.Thread(target=srv.serve_forever, daemon=True).start()
dsn = "http://k1pub@127.0.0.1:%d/5" % srv.server_address[1]
try:
    r = subprocess.run([postprof, "crash-report", "--sentry", dsn, report], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        fail("--sentry: exit %d %s" % (r.returncode, r.stderr))
    if "crasher_fault" not in r.stdout:
        fail("--sentry should still print the symbolized report")
    m = re.search(r"sent to Sentry as event ([0-9a-f]{32})", r.stderr)
    if not m or len(Store.got) != 1:
        fail("no event id reported or not one request: %r %d" % (r.stderr, len(Store.got)))
    path, headers, body = Store.got[0]
    auth = headers.get("X-Sentry-Auth", "")
    if path != "/api/5/store/" or "sentry_key=k1pub" not in auth or "sentry_version=7" not in auth:
        fail("request: %s %r" % (path, auth))
    if json.loads(body)["event_id"] != m.group(1):
        fail("the event sent is not the one reported")
    Store.answer = 500
    r = subprocess.run([postprof, "crash-report", "--sentry", dsn, report], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 1 or "HTTP 500" not in r.stderr or "project disabled" not in r.stderr:
        fail("refused: exit %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([postprof, "crash-report", "--sentry", "http://nokey.example/1", report],
                       capture_output=True, text=True)
    if r.returncode != 2 or "not a DSN" not in r.stderr:
        fail("bad DSN: exit %d %r" % (r.returncode, r.stderr))
finally:
    srv.shutdown()
shutil.rmtree(tmp, ignore_errors=True)
print("crash-report --sentry: ok")
