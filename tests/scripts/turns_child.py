#!/usr/bin/env python3
"""turns_child.py NAME N LOG - a command for `postprof take-turns` that speaks
its protocol as `postprof run` does: N times, say it is waiting (one byte on
the socket named by PP_TAKE_TURNS), wait for the go (one byte), then append
NAMEk to LOG. Under take-turns the lines of all children interleave in the
order of the turns, whatever the scheduler does."""
import os
import socket
import sys

name, n, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(fileno=int(os.environ["PP_TAKE_TURNS"]))
for k in range(n):
    s.sendall(b"w")
    if s.recv(1) != b"g":
        sys.exit("turns_child %s: take-turns went away before turn %d" % (name, k))
    with open(log, "a") as f:
        f.write("%s%d\n" % (name, k))
