#!/usr/bin/env python3
"""Every metric the Grafana dashboard queries is one the exporter produces.

Starts `postprof serve` on a free loopback port, scrapes /metrics, and checks
each metric name found in the dashboard's PromQL expressions against the
scrape's `# TYPE` lines (histogram series names map to their family).
Names with a colon are recording rules: each must be recorded by
deploy/prometheus/rules.yml (the fleet panels), and the dashboard must have
fleet panels and the `instance` and `node` variables they filter on.
"""
import json
import re
import subprocess
import sys
import time
import urllib.request

postprof, dashboard, rules = sys.argv[1], sys.argv[2], sys.argv[3]
FUNCS = {"histogram_quantile", "sum", "by", "rate", "increase", "time", "le", "without",
         "avg", "max", "min", "count", "irate", "on", "ignoring", "topk"}

board = json.load(open(dashboard))
exprs = []
for panel in board["panels"]:
    for t in panel.get("targets", []):
        exprs.append(t["expr"])
names = set()
for e in exprs:
    e = re.sub(r"\{[^}]*\}", "", e)          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)         # ranges
    e = re.sub(r"\([^()]*\bby\b[^()]*\)", "", e)
    for tok in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if tok not in FUNCS and not re.fullmatch(r"operation|kind|instance|job|node", tok):
            names.add(tok)
assert names, "no metric names found in the dashboard"

# Recording rules (level:metric:operations names) come from rules.yml, not the exporter.
recorded = set(re.findall(r"^\s*-\s*record:\s*(\S+)\s*$", open(rules).read(), re.M))
assert recorded, "no recording rules found in %s" % rules
used_rules = {n for n in names if ":" in n}
unknown = sorted(used_rules - recorded)
if unknown:
    print("dashboard queries recording rules that %s does not record: %s" % (rules, unknown))
    sys.exit(1)
assert len(used_rules) >= 5, "fleet panels use too few recording rules: %s" % sorted(used_rules)
variables = {v["name"] for v in board["templating"]["list"]}
assert {"instance", "node"} <= variables, "missing instance/node variables: %s" % sorted(variables)
names -= used_rules
# Series Prometheus makes itself for every target.
names -= {"up"}
print("fleet panels use %d recording rules of %d (%s)" % (len(used_rules), len(recorded),
                                                        ", ".join(sorted(used_rules))))

proc = subprocess.Popen([postprof, "serve", "--listen", "127.0.0.1:0", "--interval", "0.2"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
try:
    url = None
    while url is None:  # a hang is ctest's timeout to catch
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if m:
            url = "http://127.0.0.1:%s/metrics" % m.group(1)
    assert url, "postprof serve did not print its address"
    body = ""
    while True:  # until the first sample is in (a hang is ctest's timeout to catch)
        try:
            body = urllib.request.urlopen(url).read().decode()
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
    proc.wait()
