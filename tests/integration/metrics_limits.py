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
so), every scrape must be answered. Latency is not asserted here (a loaded
2-core machine cannot promise it); the figures come from bench/bench_http.
A scrape must not stall (5 s)."""
import re
import resource
import socket
import sys
import threading
import time

from pp_peer import Peer, fail

peer_bin = sys.argv[1]
TRICKLE = 5000
IDLE = 1000
PER_CLIENT = 64

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
need = TRICKLE + IDLE + 200
if hard != resource.RLIM_INFINITY and hard < need:
    fail("need %d file descriptors, the hard limit is %d" % (need, hard))
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def scrape(peer):
    """One scrape on a fresh connection: the whole answer, or fail."""
    s = socket.create_connection(("127.0.0.1", peer.port), timeout=5)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        fail("scrape failed: %r" % e)
    finally:
        s.close()
    if not data.startswith(b"HTTP/1.1 200") or b"test_events_total" not in data:
        fail("scrape answered %r" % data[:200])
    return data.decode(errors="replace")


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
        s = socket.create_connection(("127.0.0.1", peer.port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError:
        return None
    return data.decode(errors="replace") if data.startswith(b"HTTP/1.1 200") else None


def wait_counted(peer, reason, want, what):
    """Wait until the server has counted want connections refused or closed
    for reason: it then holds what it keeps of the flood just opened. A scrape
    during the flood itself may lose its slot (it is as new as the flood); the
    scrapes that must be answered come after."""
    deadline = time.monotonic() + 60
    got = 0
    while time.monotonic() < deadline:
        text = try_scrape(peer)
        if text is not None:
            got = refused(text, reason)
            if got >= want:
                return got
        time.sleep(0.1)
    fail("%s: the server counted %d %s, want >= %d" % (what, got, reason, want))


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
peer = Peer([peer_bin, "--counter", "1"])
before = refused(scrape(peer), "address_limit")
socks = []
for i in range(TRICKLE):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", peer.port))
    except BlockingIOError:
        pass
    socks.append(s)
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
    # the server holds at most PER_CLIENT of them (plus one per server
    # thread accepting at the same time): all the others are refused or closed
    wait_counted(peer, "address_limit", before + TRICKLE - PER_CLIENT - 8, "trickle")
    scrapes_during(peer, 40, "trickle from one address")
finally:
    stop.set()
    th.join()
got = refused(scrape(peer), "address_limit") - before
print("trickle: %d connections, %d bytes trickled, address_limit +%d" % (TRICKLE, sent["bytes"],
                                                                         got))
for s in socks:
    s.close()
code, err = peer.stop()
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))


def idle_from_many(peer):
    out = []
    for i in range(IDLE):
        s = socket.socket()
        s.bind(("127.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, 1 + i % 250), 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", peer.port))
        except BlockingIOError:
            pass
        out.append(s)
    return out


# 3. 1 000 idle connections from 1 000 loopback addresses
peer = Peer([peer_bin, "--counter", "1"])
before = refused(scrape(peer), "address_limit")
socks = idle_from_many(peer)
wait_counted(peer, "address_limit", before + IDLE - PER_CLIENT - 8, "idle from many addresses")
scrapes_during(peer, 20, "idle from %d addresses" % IDLE)
got = refused(scrape(peer), "address_limit") - before
print("idle from many addresses: address_limit +%d" % got)
for s in socks:
    s.close()
code, err = peer.stop()
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))

# 4. the server-wide limit: 200 connections, no per-client limit to speak of
peer = Peer([peer_bin, "--counter", "1", "--max-connections", "200", "--per-client", "100000"])
socks = idle_from_many(peer)
wait_counted(peer, "server_full", IDLE - 200 - 8, "server-wide limit")
scrapes_during(peer, 20, "idle over the server-wide limit")
got = refused(scrape(peer), "server_full")
print("server-wide limit: server_full %d" % got)
for s in socks:
    s.close()
code, err = peer.stop()
if code != 0:
    fail("peer exit %d: %s" % (code, err[-3000:]))
print("ok")
