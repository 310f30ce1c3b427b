#!/usr/bin/env python3
"""Native vs record vs replay, measured side by side in one run.

Workloads:
sha256sum of a 200 MB file, 20 python3 start-ups, sort of a large file,
make -j2 of a small C project (8 files, make + gcc driver + cc1 + as + ld),
python3 with four threads, 100,000 getppid syscalls (bench/programs/
syscall_loop.c: the per-event cost alone), and the syscall-heavy work the
syscall buffer is for (docs/syscall-buffer.md): sqlite3 with a file
database, grep -r over /usr/include, and a python3 loop of stat calls and
clock reads. Each cell is the median of
--runs runs (default 5); the three modes of one workload alternate within
each round so that machine noise hits them alike. Prints a Markdown table.
With --base OTHER_RR (an earlier build), each round also records and
replays with that build, and the table gives both and their ratios. With
--syscall-buffer, each round records both with `rr record
--no-syscall-buffer` (the first columns) and with `--syscall-buffer`
(docs/syscall-buffer.md), whatever the default, and replays both traces,
and the table gives both ways side by side.

--record-option OPT gives every recording OPT, the base build's too (so
--base OLD/rr --record-option=--syscall-buffer compares two builds'
buffers).

Usage: bench/record_replay.py [--rr build/rr] [--base OLD/rr | --syscall-buffer] [--record-option OPT] [--runs 5] [--out docs/benchmarks.md]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from common import random_blob


def timed(argv, stdin=None):
    t0 = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
        r = subprocess.run(argv, stdin=inp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit("%s failed: %s" % (argv[:4], r.stderr.decode()[-400:]))
    return dt


def make_inputs(d):
    blob = os.path.join(d, "blob.bin")
    rnd = random_blob(blob, 200, 7)
    lines = os.path.join(d, "lines.txt")
    with open(lines, "w") as f:
        for _ in range(1_000_000):
            f.write("%08x %s\n" % (rnd.getrandbits(32), "".join(rnd.choice("abcdefghij") for _ in range(10))))
    proj = os.path.join(d, "proj")
    os.mkdir(proj)
    names = ["f%d" % i for i in range(8)]
    with open(os.path.join(proj, "Makefile"), "w") as f:
        f.write("OBJS = %s\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n%%.o: %%.c\n\t$(CC) -O2 -c -o $@ $<\n"
                % " ".join(n + ".o" for n in names))
    for i, n in enumerate(names):
        with open(os.path.join(proj, n + ".c"), "w") as f:
            if i == 0:
                f.write("#include <stdio.h>\n" + "".join("int f%d(int);\n" % k for k in range(1, 8)) +
                        "int main(void) { int s = 0;" + "".join(" s += f%d(%d);" % (k, k) for k in range(1, 8)) +
                        " printf(\"%d\\n\", s); return 0; }\n")
            else:
                f.write("int %s(int x) { int s = 0; for (int i = 0; i < x * 100; ++i) s += i %% 7; return s; }\n" % n)
    syscalls = os.path.join(d, "syscall_loop")
    subprocess.run(["cc", "-O1", "-o", syscalls, os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs",
                                                                 "syscall_loop.c")], check=True)
    sql = os.path.join(d, "bench.sql")
    with open(sql, "w") as f:
        f.write(SQLITE_SQL)
    return blob, lines, proj, syscalls, sql


SQLITE_SQL = """
DROP TABLE IF EXISTS t;
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, n INTEGER);
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO t(name, n) SELECT printf('row%05d', i), i * 7 % 1000 FROM c;
COMMIT;
CREATE INDEX t_n ON t(n);
""" + "".join("INSERT INTO t(name, n) VALUES ('single%d', %d);\n" % (i, i) for i in range(50)) + """
SELECT n, count(*) FROM t GROUP BY n ORDER BY count(*) DESC, n LIMIT 3;
SELECT sum(length(name)) FROM t WHERE n BETWEEN 100 AND 200;
"""

# 20,000 turns of a stat, a wall-clock read and a monotonic-clock read.
PYTHON_STAT_CLOCK = r"""
import os, sys, time
paths = [sys.executable, "/etc/passwd", "/usr/include/stdio.h", "/nonexistent"]
found = 0
t0 = time.monotonic()
for i in range(20000):
    try:
        found += os.stat(paths[i % 4]).st_size > 0
    except FileNotFoundError:
        pass
    time.time()
print(found, time.monotonic() >= t0)
"""

PYTHON_THREADS = r"""
import threading
lock = threading.Lock()
total = [0]
def work(n):
    s = 0
    for i in range(200000):
        s += i % (n + 3)
        if i % 1000 == 0:
            with lock:
                total[0] += 1
threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(total[0])
"""


def main():
    p = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--rr", default=os.path.join(here, "..", "build", "rr"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out")
    p.add_argument("--only", action="append", help="run the workloads whose name contains this (repeatable)")
    p.add_argument("--base", help="an earlier rr to measure in the same rounds")
    p.add_argument("--syscall-buffer", action="store_true",
                   help="record with and without the syscall buffer in the same rounds (the first columns without)")
    p.add_argument("--record-option", action="append", default=[],
                   help="an option every recording gets, with --base too (repeatable; --record-option=--syscall-buffer)")
    a = p.parse_args()
    if a.base and a.syscall_buffer:
        p.error("--base and --syscall-buffer do not go together (--record-option=--syscall-buffer records with both builds)")
    rr = os.path.abspath(a.rr)
    # (rr, extra record options) per way of recording measured.
    opts = a.record_option
    if a.syscall_buffer:
        builds = [(rr, opts + ["--no-syscall-buffer"]), (rr, opts + ["--syscall-buffer"])]
    else:
        builds = [(rr, opts)] + ([(os.path.abspath(a.base), opts)] if a.base else [])
    load_start = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="rr-bench-")
    try:
        blob, lines, proj, syscalls, sql = make_inputs(tmp)
        python = "/usr/bin/python3"
        workloads = [
            ("sha256sum 200 MB", ["sha256sum", blob], 1),
            ("python3 start-up x20", [python, "-c", "pass"], 20),
            ("sort 1M lines (14 MB)", ["sort", lines], 1),
            ("make -j2, 8 C files", ["make", "-s", "-B", "-j2", "-C", proj], 1),
            ("python3, 4 threads", [python, "-c", PYTHON_THREADS], 1),
            ("100k getppid syscalls", [syscalls], 1),
            ("sqlite3, file database", ["sqlite3", os.path.join(tmp, "bench.db"), ".read " + sql], 1),
            ("grep -r -c include /usr/include", ["grep", "-r", "-c", "include", "/usr/include"], 1),
            ("python3 stat + clock loop", [python, "-c", PYTHON_STAT_CLOCK], 1),
        ]
        if a.only:
            workloads = [w for w in workloads if any(o in w[0] for o in a.only)]
        rows = []
        for name, argv, repeat in workloads:
            native, trace_mb = [], []
            record, replay = [[] for _ in builds], [[] for _ in builds]
            for run in range(a.runs):
                n = 0.0
                r, p_ = [0.0] * len(builds), [0.0] * len(builds)
                for i in range(repeat):
                    n += timed(argv)
                    for b, (build, extra) in enumerate(builds):
                        trace = os.path.join(tmp, "trace-%d-%d-%d" % (run, i, b))
                        r[b] += timed([build, "record", "-q", "-o", trace] + extra + argv)
                        p_[b] += timed([build, "replay", "-a", trace])
                        if b == 0:
                            size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(trace) for f in fs)
                            trace_mb.append(size / 1e6)
                        shutil.rmtree(trace)
                native.append(n)
                for b in range(len(builds)):
                    record[b].append(r[b])
                    replay[b].append(p_[b])
            mn = statistics.median(native)
            mr = [statistics.median(x) for x in record]
            mp = [statistics.median(x) for x in replay]
            rows.append((name, mn, mr, mp, statistics.median(trace_mb)))
            print("%-24s native %.3fs record %.3fs replay %.3fs" % (name, mn, mr[0], mp[0]) +
                  ("  (%s: record %.3fs replay %.3fs)" % ("base" if a.base else "buffer", mr[1], mp[1])
                   if len(builds) > 1 else ""), flush=True)
        if a.syscall_buffer:
            table = ["| workload | native | record | replay | record / native | replay / native | "
                     "record, buffer | replay, buffer | record / native, buffer | replay / native, buffer | trace size |",
                     "|---|---|---|---|---|---|---|---|---|---|---|"]
        elif a.base:
            table = ["| workload | native | record | replay | record / native | replay / native | "
                     "base record | base replay | record / base | replay / base | trace size |",
                     "|---|---|---|---|---|---|---|---|---|---|---|"]
        else:
            table = ["| workload | native | record | replay | record / native | replay / native | trace size |",
                     "|---|---|---|---|---|---|---|"]
        for name, mn, mr, mp, mb in rows:
            cells = "| %s | %.3f s | %.3f s | %.3f s | %.1fx | %.1fx |" % (name, mn, mr[0], mp[0], mr[0] / mn, mp[0] / mn)
            if a.base:
                cells += " %.3f s | %.3f s | %.2f | %.2f |" % (mr[1], mp[1], mr[0] / mr[1], mp[0] / mp[1])
            if a.syscall_buffer:
                cells += " %.3f s | %.3f s | %.1fx | %.1fx |" % (mr[1], mp[1], mr[1] / mn, mp[1] / mn)
            table.append(cells + " %.1f MB |" % mb)
        # Which engine each column records with: the build's defaults (the
        # syscall buffer and the progress counter are on unless an option
        # turns them off) plus the options named.
        labels = (["", "buffer"] if a.syscall_buffer else ["", "base"])[:len(builds)]
        engines = ["%s: `%s record%s`" % ("record" + (", " + l if l else ""), b,
                                          "".join(" " + o for o in extra)) for l, (b, extra) in zip(labels, builds)]
        plans = os.environ.get("RR_PLAN_CACHE", "~/.cache/rr/plans (the default)")
        text = "\n".join(["Engines: " + "; ".join(engines) + "; progress counter plans kept in " + plans +
                          ". Load average %.1f at the start, %.1f at the end." % (load_start, os.getloadavg()[0]),
                          ""] + table)
        print()
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write("<!-- generated by bench/record_replay.py; median of %d runs -->\n%s\n" % (a.runs, text))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
