#!/usr/bin/env python3
"""record_scopes: run `postprof record --format chrome` on a program that
links libpostprof; its instrumented scopes must appear as X events (pid 2,
cat "scope") with the exact call counts, beside the CPU samples."""
import collections
import json
import os
import subprocess
import sys
import tempfile

postprof, target = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "trace.json")
    r = subprocess.run([postprof, "record", "-F", "499", "--format", "chrome", "-o", out, "--",
                        target], capture_output=True, text=True)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout == "done\n", r.stdout
    trace = json.load(open(out))
events = trace["traceEvents"]
scopes = [e for e in events if e.get("ph") == "X" and e.get("cat") == "scope"]
samples = [e for e in events if e.get("ph") == "X" and e.get("cat") == "cpu"]
counts = collections.Counter(e["name"] for e in scopes)
expect = {"work.outer": 50, "work.inner": 520, "work.thread_outer": 20}
for name, n in expect.items():
    assert counts[name] == n, "%s: %d events, want %d (%r)" % (name, counts[name], n, counts)
assert samples, "no CPU sample events beside the scopes"
assert all(e["pid"] == 2 and e["dur"] >= 0 and e["ts"] >= 0 for e in scopes)
tids = {e["tid"] for e in scopes}
assert len(tids) == 2, "scopes of both threads: %r" % tids
# nesting holds on the time line: every inner of the main thread lies in an outer
main_tid = next(e["tid"] for e in scopes if e["name"] == "work.outer")
outers = sorted((e["ts"], e["ts"] + e["dur"]) for e in scopes if e["name"] == "work.outer")
for e in scopes:
    if e["name"] == "work.inner" and e["tid"] == main_tid:
        assert any(a - 1 <= e["ts"] and e["ts"] + e["dur"] <= b + 1 for a, b in outers), e
names = [e for e in events if e.get("ph") == "M" and e.get("pid") == 2]
assert names, "no process name for the scopes"
print("scopes beside samples: %d scope events, %d sample events" % (len(scopes), len(samples)))
