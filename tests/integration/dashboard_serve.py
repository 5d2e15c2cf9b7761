"""dashboard_serve.py - `postprof serve` serves the live dashboard at / and
/index.html (one self-contained page: no marker left, no outside URL, no
script or style fetched), 404 for other unknown paths, the built-in paths
unchanged, gzip when asked; SIGTERM still exits 0."""
import gzip
import re
import signal
import sys

from pp_peer import Peer, fail

postprof = sys.argv[1]
s = Peer([postprof, "serve", "--listen", "127.0.0.1:0", "--interval", "0.2"],
         port_re=rb"listening on http://127\.0\.0\.1:(\d+)")
for path in ("/", "/index.html"):
    st, hdr, body = s.get(path)
    if st != 200 or not hdr.get("Content-Type", "").startswith("text/html"):
        fail("%s: %d %r" % (path, st, hdr))
    page = body.decode()
    if "<title>postprof live</title>" not in page or "window.PPCharts" not in page:
        fail("%s: not the dashboard page" % path)
    if "<!--@@" in page:
        fail("%s: template marker left in the page" % path)
    if re.search(r'(src|href)\s*=\s*"(https?:)?//', page) or "<script src" in page or "<link" in page:
        fail("%s: the page loads something from elsewhere" % path)
    if "fetch('/metrics'" not in page or "fetch('/api/snapshot'" not in page:
        fail("%s: the page does not poll its own server" % path)
    print("%s: dashboard, %d bytes, self-contained" % (path, len(body)))
st, hdr, body = s.get("/", {"Accept-Encoding": "gzip"})
if st != 200 or hdr.get("Content-Encoding") != "gzip" or b"postprof live" not in gzip.decompress(body):
    fail("gzip: %d %r" % (st, hdr))
st, _, _ = s.get("/no/such/page")
if st != 404:
    fail("/no/such/page: %d" % st)
for path in ("/metrics", "/healthz", "/api/snapshot"):
    st, _, body = s.get(path)
    if st != 200:
        fail("%s: %d beside the dashboard" % (path, st))
st, _, body = s.get("/metrics")
if b"cache_hit_ratio" not in body or b"profiling_duration_seconds" not in body:
    fail("/metrics lacks the seed's metrics")
s.proc.send_signal(signal.SIGTERM)
rc = s.proc.wait(timeout=20)
if rc != 0:
    fail("SIGTERM: exit %d" % rc)
print("dashboard on postprof serve: ok")
