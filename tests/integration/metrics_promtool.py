"""metrics_promtool.py - `promtool check metrics` on live scrapes of the test
peer (label values with quotes, backslashes, newlines, non-ASCII) and of
`postprof serve`: no parse error and no lint finding (empty output)."""
import subprocess
import sys

from pp_peer import Peer, fail, require_tool

peer_bin, postprof_bin = sys.argv[1], sys.argv[2]
promtool = require_tool("promtool")


def check(name, body):
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    out = (r.stdout + r.stderr).decode(errors="replace")
    if r.returncode != 0 or out.strip():
        sys.stderr.write(body.decode(errors="replace")[:4000])
        fail("promtool on %s: rc=%d output=%r" % (name, r.returncode, out))
    print("promtool: %s clean (%d bytes)" % (name, len(body)))


p = Peer([peer_bin, "--weird-labels", "--scopes", "300", "--counter", "5", "--sysstats", "0.2"])
try:
    status, headers, body = p.get("/metrics")
    if status != 200:
        fail("status %d" % status)
    text = body.decode("utf-8")
    for want in ['test_weird_labels{text="quote \\" here"} 0.5',
                 'test_weird_labels{text="back\\\\slash"} 1.5',
                 'test_weird_labels{text="new\\nline"} 2.5',
                 'test_weird_labels{text="caf\u00e9 \u65e5\u672c \U0001f525"} 3.5',
                 'bottleneck_detected_total{operation="peer \\"op\\"\\n",kind="cpu\\\\bound"} 1',
                 'profiling_duration_seconds_count{operation="peer.work"} 300',
                 'profiling_duration_seconds_bucket{operation="peer.scope \\"quoted\\" \\\\ \u00e9",le="+Inf"} 1',
                 "test_events_total 5"]:
        if want not in text:
            fail("missing line: %s" % want)
    check("peer text", body)
    # the same data in OpenMetrics form (promtool reads the classic text format only,
    # so here: the structure; the Prometheus test has Prometheus parse it)
    status, headers, om = p.get("/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    if not headers.get("Content-Type", "").startswith("application/openmetrics-text; version=1.0.0"):
        fail("OpenMetrics not chosen: %r" % headers)
    if not om.endswith(b"# EOF\n") or om.count(b"# EOF") != 1:
        fail("OpenMetrics must end with one # EOF")
    if b"# TYPE test_events counter\ntest_events_total 5\n" not in om:
        fail("OpenMetrics counter family")
    code, err = p.stop()
    if code != 0:
        fail("peer exit %d: %s" % (code, err[-2000:]))
except SystemExit:
    p.proc.kill()
    raise

s = Peer([postprof_bin, "serve", "--listen", "127.0.0.1:0", "--interval", "0.1"],
         port_re=rb"listening on http://127\.0\.0\.1:(\d+)")
status, _, body = s.get("/metrics")
check("postprof serve", body)
code, err = s.stop()
if code != 0:
    fail("serve exit %d: %s" % (code, err))
print("ok")
