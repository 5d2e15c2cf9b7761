#!/usr/bin/env python3
"""Every metric the Grafana dashboard queries is one the exporter produces.

Starts `postprof serve` on a free loopback port, scrapes /metrics, and checks
each metric name found in the dashboard's PromQL expressions against the
scrape's `# TYPE` lines (histogram series names map to their family).
"""
import json
import re
import subprocess
import sys
import time
import urllib.request

postprof, dashboard = sys.argv[1], sys.argv[2]
FUNCS = {"histogram_quantile", "sum", "by", "rate", "increase", "time", "le", "without",
         "avg", "max", "min", "count", "irate", "on", "ignoring", "topk"}

exprs = []
for panel in json.load(open(dashboard))["panels"]:
    for t in panel.get("targets", []):
        exprs.append(t["expr"])
names = set()
for e in exprs:
    e = re.sub(r"\{[^}]*\}", "", e)          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)         # ranges
    e = re.sub(r"\([^()]*\bby\b[^()]*\)", "", e)
    for tok in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if tok not in FUNCS and not re.fullmatch(r"operation|kind|instance|job", tok):
            names.add(tok)
assert names, "no metric names found in the dashboard"

proc = subprocess.Popen([postprof, "serve", "--listen", "127.0.0.1:0", "--interval", "0.2"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
try:
    url = None
    deadline = time.time() + 20
    while time.time() < deadline and url is None:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if m:
            url = "http://127.0.0.1:%s/metrics" % m.group(1)
    assert url, "postprof serve did not print its address"
    body = ""
    for _ in range(50):
        try:
            body = urllib.request.urlopen(url, timeout=5).read().decode()
            if "process_cpu_seconds_total" in body:
                break
        except OSError:
            pass
        time.sleep(0.1)
    families = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
    missing = []
    for n in sorted(names):
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        if n not in families and base not in families:
            missing.append(n)
    if missing:
        print("dashboard queries metrics the exporter does not produce:", missing)
        sys.exit(1)
    print("dashboard metrics all exported: %d names (%s)" % (len(names), ", ".join(sorted(names))))
finally:
    proc.terminate()
    proc.wait(timeout=10)
