"""crash_sentry_cli.py - `postprof crash-report` on a real crash report
(tests/helpers/crasher.c): --event-json prints the Sentry event, --sentry DSN
POSTs it to a store endpoint on loopback (this script's HTTP server, which
keeps what it receives), a refusal and a bad DSN are clear errors; a truncated
report is shown and sent as far as it goes, tagged, exit 1; escape sequences
in a report or in the server's answer reach the terminal as \\xNN."""
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
        body = b'{"id":"x"}' if Store.answer == 200 else b'{"detail":"project disabled\x1b[2J"}'
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
                       text=True)
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
                       text=True)
    if r.returncode != 1 or "HTTP 500" not in r.stderr or "project disabled" not in r.stderr:
        fail("refused: exit %d %r" % (r.returncode, r.stderr))
    if "\x1b" in r.stderr or "\\x1b[2J" not in r.stderr:
        fail("the server's escape sequence reached the terminal: %r" % r.stderr)
    # a truncated report: shown and sent as far as it goes, tagged, exit 1
    Store.answer = 200
    with open(report, "rb") as f:
        whole = f.read()
    cut = os.path.join(tmp, "cut.txt")
    with open(cut, "wb") as f:
        f.write(whole[:whole.index(b"\nlog:\n") - 7])  # inside the memory map, mid-line
    r = subprocess.run([postprof, "crash-report", "--sentry", dsn, cut], capture_output=True,
                       text=True)
    if r.returncode != 1 or "truncated: the report stops at line" not in r.stderr \
            or "in its memory map" not in r.stderr or "crasher_fault" not in r.stdout \
            or "\ntruncated: " not in r.stdout:
        fail("truncated: exit %d %r %r" % (r.returncode, r.stdout, r.stderr))
    ev = json.loads(Store.got[-1][2])
    if ev["tags"].get("report_truncated") != "yes" or "memory map" not in ev["extra"]["report_stops_in"]:
        fail("truncated event: %r %r" % (ev["tags"], ev["extra"]))
    r = subprocess.run([postprof, "crash-report", "--sentry", "http://nokey.example/1", report],
                       capture_output=True, text=True)
    if r.returncode != 2 or "not a DSN" not in r.stderr:
        fail("bad DSN: exit %d %r" % (r.returncode, r.stderr))
finally:
    srv.shutdown()

# a report holding escape sequences: every byte a terminal acts on is printed as \xNN
evil = whole.replace(b"\nbacktrace:\n", b"\nnote\x1b[2J: \x1b]0;owned\x07 \x9b31m \xc2\x9b1m \x7f\nbacktrace:\n")
evil = evil.replace(b"\nend\n", b"\nlog line \x1b[31mred\x08\x00\nend\n")
hostile = os.path.join(tmp, "hostile.txt")
with open(hostile, "wb") as f:
    f.write(evil)
for args in ([], ["--event-json"]):
    r = subprocess.run([postprof, "crash-report"] + args + [hostile], capture_output=True)
    if r.returncode != 0:
        fail("hostile %r: exit %d %r" % (args, r.returncode, r.stderr))
    text = r.stdout.decode("utf-8")  # valid UTF-8 throughout
    if any((ord(c) < 0x20 and c not in "\t\n") or 0x7f <= ord(c) <= 0x9f for c in text):
        fail("hostile %r: control characters printed: %r" % (args, text))
    if args:  # the event carries the escaped text
        ev = json.loads(text)
        note = ev["extra"].get("note\\x1b[2J")
        logs = [b["message"] for b in ev["breadcrumbs"]["values"]]
        if note != "\\x1b]0;owned\\x07 \\x9b31m \\xc2\\x9b1m \\x7f" or \
                "log line \\x1b[31mred\\x08\\x00" not in logs:
            fail("event: %r %r" % (ev["extra"], logs))
    elif "note\\x1b[2J: \\x1b]0;owned\\x07 \\x9b31m \\xc2\\x9b1m \\x7f\n" not in text:
        fail("hostile text: %r" % text)
print("hostile and truncated reports: ok")
shutil.rmtree(tmp, ignore_errors=True)
print("crash-report --sentry: ok")
