#!/usr/bin/env python3
"""check_shape.py - The shape rules of docs/ARCHITECTURE.md (issue 11's
"done when"), checked on a source tree and, with --build, on its objects:

  layers   no name defined in a higher layer is used in a lower one:
           common < capture < aggregate < analyze < profilers, export <
           telemetry; profilers and export do not use each other.
           Checked on the #include lines of src/ and, with --build DIR, on
           the symbols: every global a library object (postprof_obj) uses
           (nm -u) is looked up in the objects that define it.
  folders  no source folder (outside tests/) holds more than 14 .c files
  cli      no cli/ .c file is over 400 lines
  magic    the raw-profile magic string is spelled in one source file
  seed     no "seed" in include/

    scripts/check_shape.py [--repo DIR] [--build BUILD_DIR]

Prints one line per rule (ok, or what breaks it); exit 0 when all hold,
1 when one does not, 2 on wrong arguments."""
import argparse
import os
import re
import subprocess
import sys

RANK = {"common": 0, "capture": 1, "aggregate": 2, "analyze": 3, "profilers": 4, "export": 4,
        "telemetry": 5}
MAGIC = "postprof-raw"


def layer_of(path):
    """The layer of a path under src/ (or an object file built from one)."""
    m = re.search(r"(?:^|/)(common|capture|aggregate|analyze|profilers|export|telemetry)/", path)
    return m.group(1) if m else None


def may_use(user, used):
    if user == used:
        return True
    if {user, used} == {"profilers", "export"}:
        return False
    return RANK[used] < RANK[user]


def include_breaks(repo):
    out = []
    src = os.path.join(repo, "src")
    for root, _, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        user = layer_of(rel_root + "/")
        if user is None:
            continue  # the preload and causal shim libraries link only libc
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            with open(os.path.join(root, f), errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m:
                        continue
                    target = os.path.normpath(os.path.join(rel_root, m.group(1))) \
                        if m.group(1).startswith("..") else m.group(1)
                    used = layer_of(target)
                    if used and not may_use(user, used):
                        out.append("src/%s/%s:%d includes %s (%s uses %s)"
                                   % (rel_root, f, n, m.group(1), user, used))
    return out


def nm(args, obj):
    r = subprocess.run(["nm"] + args + [obj], capture_output=True, text=True)
    return r.stdout.splitlines() if r.returncode == 0 else []


def symbol_breaks(build):
    objs = []
    for root, _, files in os.walk(build):
        # the library itself; the interposers built beside it (malloc,
        # -finstrument-functions hooks) define libc's and the compiler's names
        if not root.rstrip("/").endswith("src/CMakeFiles/postprof_obj.dir") and \
                "/src/CMakeFiles/postprof_obj.dir/" not in root + "/":
            continue
        for f in files:
            if f.endswith(".c.o"):
                path = os.path.join(root, f)
                rel = path.split("CMakeFiles/", 1)[1].split("/", 1)[-1]
                if layer_of(rel):
                    objs.append((path, layer_of(rel), rel))
    if not objs:
        return None, 0
    where = {}  # symbol -> set of layers defining it
    for path, layer, _ in objs:
        for line in nm(["--defined-only", "-g"], path):
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRVWGS":
                where.setdefault(parts[2], set()).add(layer)
    out = set()
    for path, layer, rel in objs:
        for line in nm(["-u"], path):
            sym = line.split()[-1]
            for used in where.get(sym, ()):
                if not may_use(layer, used) and layer not in where[sym]:
                    out.add("%s (%s) uses %s, defined in %s" % (rel[:-2], layer, sym, used))
    return sorted(out), len(objs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   ".."))
    ap.add_argument("--build", help="a build folder: check the objects' symbols too")
    a = ap.parse_args()
    repo = os.path.abspath(a.repo)
    bad = 0

    def report(rule, breaks, ok_text):
        nonlocal bad
        if breaks:
            bad += 1
            print("%s: %d break(s)" % (rule, len(breaks)))
            for b in breaks[:40]:
                print("  " + b)
        else:
            print("%s: ok (%s)" % (rule, ok_text))

    report("layers by includes", include_breaks(repo), "every #include under src/")
    if a.build:
        breaks, n = symbol_breaks(os.path.abspath(a.build))
        if breaks is None:
            print("layers by symbols: no library objects under %s" % a.build)
            bad += 1
        else:
            report("layers by symbols", breaks, "%d objects' undefined symbols" % n)

    counts, biggest = [], (0, "")
    for root, dirs, files in os.walk(repo):
        rel = os.path.relpath(root, repo)
        top = rel.split(os.sep)[0]
        if top in ("tests", ".git", "node_modules") or top.startswith("build"):
            dirs[:] = []
            continue
        n = sum(1 for f in files if f.endswith(".c"))
        if n:
            counts.append((n, rel))
    counts.sort(reverse=True)
    report("folders of at most 14 .c", ["%s: %d .c files" % (r, n) for n, r in counts if n > 14],
           "largest: " + ", ".join("%s %d" % (r, n) for n, r in counts[:3]))

    long_cli = []
    for root, _, files in os.walk(os.path.join(repo, "cli")):
        for f in files:
            if f.endswith(".c"):
                p = os.path.join(root, f)
                with open(p, errors="replace") as fh:
                    lines = sum(1 for _ in fh)
                if lines > biggest[0]:
                    biggest = (lines, os.path.relpath(p, repo))
                if lines > 400:
                    long_cli.append("%s: %d lines" % (os.path.relpath(p, repo), lines))
    report("cli/ files of at most 400 lines", long_cli, "largest %s, %d lines" % (biggest[1],
                                                                                  biggest[0]))

    spelled = []
    for d in ("src", "cli", "posts", "include", "bench"):
        for root, _, files in os.walk(os.path.join(repo, d)):
            for f in files:
                if f.endswith((".c", ".h")):
                    p = os.path.join(root, f)
                    with open(p, errors="replace") as fh:
                        if MAGIC in fh.read():
                            spelled.append(os.path.relpath(p, repo))
    report("raw-profile magic in one source file",
           spelled if len(spelled) > 1 else [] if spelled else ["%r is spelled nowhere" % MAGIC],
           spelled[0] if spelled else "")

    seeds = []
    for root, _, files in os.walk(os.path.join(repo, "include")):
        for f in files:
            p = os.path.join(root, f)
            with open(p, errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    if "seed" in line.lower():
                        seeds.append("%s:%d: %s" % (os.path.relpath(p, repo), n, line.strip()))
    report('no "seed" in include/', seeds, "no match")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
