"""metrics_limits.py - The HTTP server's connection limits against hostile
clients (issue 16, defect 3), on the test peer:
  1. a request head trickled one byte at a time is cut at the head deadline
     (the idle timeout alone never would: every byte resets it), and so is a
     connection that sends nothing;
  2. 5 000 connections from one address, each trickling one byte a second:
     every scrape meanwhile is answered, and the server counts the
     connections it refused or closed (reason address_limit);
  3. 1 000 idle connections from 1 000 loopback addresses (127.0.0.0/8 is one
     client): the same;
  4. the same with a server-wide limit below 1 000 and no per-client one:
     reason server_full.
Once the server has dealt with each flood of connections (its counter says
so), every scrape must be answered. A flood is opened in waves smaller than
the server's listen backlog (1024), each once the server has dealt with the
one before: opened all at once on a loaded machine, it overflows the backlog
and the kernel drops connection attempts (retried 1, 3, 7 ... 63 s later), so
the count would lag for a minute for a reason outside the server. A held
connection that reaches the head deadline (10 s) is closed as head_timeout
and frees its slot for the next, so both reasons count as dealt with.
Latency is not asserted here (a loaded 2-core machine cannot promise it);
the figures come from bench/bench_http. A scrape must not stall (5 s): the
slots kept for scrapers serve it at once, whatever the load."""
import re
import resource
import socket
import sys
import threading
import time

from pp_peer import Peer, fail, raw_scrape, wait_for

peer_bin = sys.argv[1]
TRICKLE = 5000
IDLE = 1000
PER_CLIENT = 64
WAVE = 400

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
need = TRICKLE + IDLE + 200
if hard != resource.RLIM_INFINITY and hard < need:
    fail("need %d file descriptors, the hard limit is %d" % (need, hard))
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def scrape(peer):
    """One scrape on a fresh connection: the whole answer, or fail."""
    try:
        data = raw_scrape(peer.port, timeout=5)
    except OSError as e:
        fail("scrape failed: %r" % e)
    if not data.startswith(b"HTTP/1.1 200") or b"test_events_total" not in data:
        fail("scrape answered %r" % data[:200])
    return data.decode(errors="replace")


def refused_sum(text, reasons):
    return sum(refused(text, r) for r in reasons)


def refused(text, reason):
    m = re.search(r'^postprof_http_connections_refused_total\{reason="%s"\} (\d+)' % reason,
                  text, re.M)
    if not m:
        fail("no refused counter for %s in:\n%s" % (reason, text[:3000]))
    return int(m.group(1))


def closed_by_server(s):
    """1 when the server closed s (EOF or reset), 0 while it is open."""
    try:
        return 1 if s.recv(4096) == b"" else 0
    except BlockingIOError:
        return 0
    except OSError:
        return 1


def try_scrape(peer):
    """A scrape while connections are still pouring in: the text, or None."""
    try:
        data = raw_scrape(peer.port, timeout=5)
    except OSError:
        return None
    return data.decode(errors="replace") if data.startswith(b"HTTP/1.1 200") else None


def wait_counted(peer, reasons, want, what):
    """Wait until the server has counted want connections refused or closed
    for reasons: it then holds what it keeps of the flood just opened. A scrape
    during the flood itself may lose its slot (it is as new as the flood); the
    scrapes that must be answered come after."""
    got = [0]

    def counted():
        text = try_scrape(peer)
        if text is not None:
            got[0] = refused_sum(text, reasons)
        return got[0] >= want
    wait_for("%s: the server to count %d %s" % (what, want, "+".join(reasons)), counted,
             every=0.1, detail=lambda: "counted %d" % got[0])
    return got[0]


def open_in_waves(peer, n, make, reasons, before, slack, what):
    """Open n connections (make(i) returns a socket connecting), WAVE at a
    time; after each wave wait until the server has counted all but slack of
    those opened so far as refused or closed for reasons."""
    first = refused(scrape(peer), reasons[0])
    out = []
    for start in range(0, n, WAVE):
        for i in range(start, min(start + WAVE, n)):
            out.append(make(i))
        wait_counted(peer, reasons, before + len(out) - slack, what)
    # the limit did the refusing: a head deadline frees at most slack slots
    # per 10 s, so without the limit nearly all would be head_timeout
    got = refused(scrape(peer), reasons[0]) - first
    if got < (n - slack) // 2:
        fail("%s: only %d of %d counted as %s" % (what, got, n, reasons[0]))
    return out


def scrapes_during(peer, n, what):
    for _ in range(n):
        scrape(peer)
        time.sleep(0.05)
    print("%s: %d scrapes answered" % (what, n))


# 1. the head deadline (2 s here), however slowly the head trickles
peer = Peer([peer_bin, "--counter", "1", "--head-timeout", "2"])
slow = socket.create_connection(("127.0.0.1", peer.port))
silent = socket.create_connection(("127.0.0.1", peer.port))
slow.setblocking(False)
silent.setblocking(False)
head = b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Pad: " + b"a" * 200
t0 = time.monotonic()
cut_after = None
for i, b in enumerate(head):
    if closed_by_server(slow):
        cut_after = time.monotonic() - t0
        break
    try:
        slow.send(bytes([b]))
    except OSError:
        cut_after = time.monotonic() - t0
        break
    time.sleep(0.1)  # paces the client; nothing waits on the server here
if cut_after is None:
    fail("a head trickled for %.0f s was not cut (deadline 2 s)" % (time.monotonic() - t0))
deadline = time.monotonic() + 10
while not closed_by_server(silent) and time.monotonic() < deadline:
    time.sleep(0.1)
if not closed_by_server(silent):
    fail("a connection that sent nothing was still open 10 s after the 2 s deadline")
text = scrape(peer)
if refused(text, "head_timeout") < 2:
    fail("head_timeout counted %d, want >= 2" % refused(text, "head_timeout"))
print("head deadline: trickled head cut after %.1f s (deadline 2 s), silent one too; "
      "head_timeout %d" % (cut_after, refused(text, "head_timeout")))
slow.close()
silent.close()
code, err = peer.stop()
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))

# 2. 5 000 trickling connections from one address
def connect_from(addr):
    s = socket.socket()
    if addr:
        s.bind((addr, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", peer.port))
    except BlockingIOError:
        pass
    return s


HELD = ("address_limit", "head_timeout")
peer = Peer([peer_bin, "--counter", "1"])
before = refused_sum(scrape(peer), HELD)
# the server holds at most PER_CLIENT of them (plus one per server thread
# accepting at the same time): all the others are refused or closed
socks = open_in_waves(peer, TRICKLE, lambda i: connect_from(None), HELD, before,
                      PER_CLIENT + 8, "trickle")
stop = threading.Event()
sent = {"bytes": 0}


def trickle():
    k = 0
    while not stop.wait(1.0):
        for s in socks:
            try:
                sent["bytes"] += s.send(head[k % len(head):k % len(head) + 1])
            except OSError:
                pass
        k += 1


th = threading.Thread(target=trickle)
th.start()
try:
    scrapes_during(peer, 40, "trickle from one address")
finally:
    stop.set()
    th.join()
got = refused_sum(scrape(peer), HELD) - before
print("trickle: %d connections, %d bytes trickled, address_limit+head_timeout +%d" %
      (TRICKLE, sent["bytes"], got))
for s in socks:
    s.close()
code, err = peer.stop()
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))


def many_addr(i):
    return "127.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, 1 + i % 250)


# 3. 1 000 idle connections from 1 000 loopback addresses
peer = Peer([peer_bin, "--counter", "1"])
before = refused_sum(scrape(peer), HELD)
socks = open_in_waves(peer, IDLE, lambda i: connect_from(many_addr(i)), HELD, before,
                      PER_CLIENT + 8, "idle from many addresses")
scrapes_during(peer, 20, "idle from %d addresses" % IDLE)
got = refused_sum(scrape(peer), HELD) - before
print("idle from many addresses: address_limit+head_timeout +%d" % got)
for s in socks:
    s.close()
code, err = peer.stop()
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))

# 4. the server-wide limit: 200 connections, no per-client limit to speak of
peer = Peer([peer_bin, "--counter", "1", "--max-connections", "200", "--per-client", "100000"])
FULL = ("server_full", "head_timeout")
before = refused_sum(scrape(peer), FULL)
socks = open_in_waves(peer, IDLE, lambda i: connect_from(many_addr(i)), FULL, before, 200 + 8,
                      "server-wide limit")
scrapes_during(peer, 20, "idle over the server-wide limit")
got = refused_sum(scrape(peer), FULL) - before
print("server-wide limit: server_full+head_timeout +%d" % got)
for s in socks:
    s.close()
code, err = peer.stop()
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))
print("ok")
