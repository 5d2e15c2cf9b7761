"""dashboard_serve.py - `postprof serve` serves the live dashboard at / and
/index.html (one self-contained page: no marker left, no outside URL, no
script or style fetched), 404 for other unknown paths, the built-in paths
unchanged, gzip when asked; SIGTERM still exits 0. With --token the page
itself (GET/HEAD of / only) is public, since a browser cannot send a bearer
token on navigation; its data paths, /index.html, other methods and unknown
paths need the token."""
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
    fail("/metrics lacks the design's metrics")
s.proc.send_signal(signal.SIGTERM)
rc = s.proc.wait()
if rc != 0:
    fail("SIGTERM: exit %d" % rc)

# the port is read once the browser address line is out too
t = Peer([postprof, "serve", "--listen", "127.0.0.1:0", "--token", "pg-7", "--interval", "0.2"],
         port_re=rb"listening on http://127\.0\.0\.1:(\d+).*\n.*open http://127\.0\.0\.1:\d+/#token=<token>")
st, hdr, body = t.get("/")
if st != 200 or b"postprof live" not in body:
    fail("--token: the dashboard page should be public: %d" % st)
for path in ("/metrics", "/api/snapshot", "/healthz", "/index.html", "/no/such/page"):
    st, _, _ = t.get(path)
    if st != 401:
        fail("--token: %s without the token: %d, expected 401" % (path, st))
    st, _, _ = t.get(path, {"Authorization": "Bearer pg-7"})
    if st != (404 if path == "/no/such/page" else 200):
        fail("--token: %s with the token: %d" % (path, st))
st, _, _ = t.get("/metrics", {"Authorization": "Bearer wrong"})
if st != 401:
    fail("--token: a wrong token got %d" % st)
t.proc.send_signal(signal.SIGTERM)
if t.proc.wait() != 0:
    fail("--token server: SIGTERM exit")
print("dashboard on postprof serve: ok")
