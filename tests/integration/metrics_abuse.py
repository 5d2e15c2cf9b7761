"""metrics_abuse.py - Abuse the peer's HTTP server: malformed request lines,
a 64 KiB header, 1 000 idle connections, a client sending one byte a second.
Meanwhile every fresh scrape must be answered in full (each one gets 10 s
before the test fails on it), and the server must not crash (clean exit 0 on
SIGTERM afterwards). The latencies are printed; the < 100 ms claim is
measured by bench/bench_http against its own unloaded floor, not here, where
a sanitizer's runtime and a shared machine decide the time."""
import os
import resource
import socket
import sys
import threading
import time

from pp_peer import Peer, fail, raw_scrape

peer_bin = sys.argv[1]
IDLE = 1000

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < IDLE + 200:
    fail("need %d file descriptors, the hard limit is %d" % (IDLE + 200, hard))
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

peer = Peer([peer_bin, "--scopes", "50"])


def raw(payload, read=True, timeout=2):
    """Send payload on a fresh connection; the status line, '' if closed,
    'no answer' when the server waits for more (the idle timeout ends it)."""
    s = socket.create_connection(("127.0.0.1", peer.port), timeout=timeout)
    try:
        s.sendall(payload)
        if not read:
            return ""
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n")[0].decode(errors="replace")
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except socket.timeout:
        return "no answer"
    finally:
        s.close()


def timed_scrape():
    t0 = time.monotonic()
    data = raw_scrape(peer.port)  # answered in full; how fast is bench_http's
    ms = (time.monotonic() - t0) * 1000
    if not data.startswith(b"HTTP/1.1 200") or b"profiling_duration_seconds_count" not in data:
        fail("scrape under abuse answered %r" % data[:200])
    return ms


# 1. malformed request lines: each gets an error status or a closed connection
for payload in [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET /metrics HTTP/9.9\r\n\r\n",
                b"\x00\xff\xfe binary \x01\r\n\r\n", b"GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
                b"GET " + b"/" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]:
    line = raw(payload)
    if line.startswith("HTTP/1.1 2"):
        fail("malformed request %r answered %s" % (payload[:40], line))
    print("malformed %r -> %s" % (payload[:30], line or "closed"))

# 2. a 64 KiB header
line = raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
if line.startswith("HTTP/1.1 2"):
    fail("64 KiB header answered %s" % line)
print("64 KiB header -> %s" % (line or "closed"))

# 3. idle connections, and 4. a slow client, while scrapes are timed
idle = []
for i in range(IDLE):
    idle.append(socket.create_connection(("127.0.0.1", peer.port)))
stop = threading.Event()


def slow_client():
    s = socket.create_connection(("127.0.0.1", peer.port), timeout=30)
    req = b"GET /metrics HTTP/1.1\r\nHost: slow\r\n\r\n"
    try:
        for b in req:
            if stop.wait(1.0):
                break
            s.send(bytes([b]))
    except OSError:
        pass
    s.close()


slow = threading.Thread(target=slow_client)
slow.start()
time.sleep(0.5)
times = [timed_scrape() for _ in range(30)]
for i in range(10):  # the idle ones are still open and do not block others
    time.sleep(0.2)
    times.append(timed_scrape())
stop.set()
slow.join()
for s in idle:
    s.close()
times.sort()
p90 = times[len(times) * 9 // 10]
# every scrape was answered in full (timed_scrape fails otherwise); the
# figures are for the log, bench_http judges them
print("scrapes under abuse: %d, all answered; median %.1f ms, p90 %.1f ms, max %.1f ms" %
      (len(times), times[len(times) // 2], p90, times[-1]))
code, err = peer.stop()
if code != 0:
    fail("peer exit %d (crashed?): %s" % (code, err[-3000:]))
print("ok")
