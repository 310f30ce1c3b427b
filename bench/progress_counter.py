#!/usr/bin/env python3
"""The progress counter's cost: record and replay with and without
--progress-counter, side by side in one run.

Workloads (single-threaded compute, no syscall in the hot loop):
  branchy     bench/programs/branchy.c at -O2: a tight loop with data-dependent
              branches (the counter's worst case: a counted branch every few
              instructions), 100M turns
  sha256sum   of a 64 MiB file (coreutils' own SHA-256, in the executable)
  python3     /usr/bin/python3.11 (Debian's: the interpreter is in the
              executable, which the counter rewrites; a pyenv python3.11 on
              PATH would be another program): start-up alone (-c pass), and
              a loop of 2M and of 10M turns
  xz -T1      -c of a 16 MiB file (the work is in liblzma)
Each cell is the median of --runs runs (default 3); the modes of one
workload alternate within a round. Prints a Markdown table: native time,
record and replay ratios to native without and with the counter, the
counter's extra factor (counter / plain) and its extra seconds (counter -
plain) for each. The counter's recordings use a plan store of their own
(RR_PLAN_CACHE, core/plan_store.h), filled by one recording of each
workload before the rounds, as a user's store holds the plans of the
programs recorded before; "first" records with no store (RR_PLAN_CACHE=off):
every plan made anew, the cost of a program's first recording. Then the
counter's cost on python3 split in two: the fixed
part (rewriting the code at start: the start-up row's extra seconds) and
the part that grows with the work (the two loops' difference: how much
slower each extra turn runs with the counter than without). With
--timeslice N the counter records use that timeslice; --only WORD runs the
workloads whose name holds WORD; --clock cpu measures CPU time (user and
system, of rr and of every process it ran) instead of wall-clock time.

Usage: bench/progress_counter.py [--rr build/rr] [--runs 3] [--timeslice N] [--only WORD] [--clock wall|cpu]
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import HERE, arguments, random_blob


CPU = False  # --clock cpu


def timed(argv, env=None):
    """Seconds argv takes, its output thrown away (xz writes binary): wall
    clock, or with --clock cpu the CPU time (user and system) of it and of
    every process it waited for, which a machine loaded by other work
    disturbs far less."""
    t = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       env=dict(os.environ, **env) if env else None)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    took = time.monotonic() - t
    if CPU:
        took = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), r.stderr.decode(errors="replace")[-2000:]))
    return took

def python_loop(turns):
    return ("s = 0\nfor i in range(%d):\n    if i %% 3 == 0: s += i\n"
            "    elif i %% 7 == 1: s ^= i\n    else: s -= 1\nprint(s)\n" % turns)


PYTHON = "/usr/bin/python3.11"
START, SHORT, LONG = "python3 start-up", "python3 loop 2M", "python3 loop 10M"


def workloads(tmp):
    branchy = os.path.join(tmp, "branchy")
    subprocess.run(["cc", "-O2", "-o", branchy, os.path.join(HERE, "programs", "branchy.c")], check=True)
    blob = os.path.join(tmp, "blob.bin")
    random_blob(blob, 64, 17)
    small = os.path.join(tmp, "small.bin")
    with open(blob, "rb") as f, open(small, "wb") as g:
        g.write(f.read(16 << 20))
    return [
        ("branchy (100M turns)", [branchy, "100000000"]),
        ("sha256sum 64 MiB", ["/usr/bin/sha256sum", blob]),
        (START, [PYTHON, "-c", "pass"]),
        (SHORT, [PYTHON, "-c", python_loop(2000000)]),
        (LONG, [PYTHON, "-c", python_loop(10000000)]),
        ("xz -T1 16 MiB", ["/usr/bin/xz", "-T1", "-c", "-k", small]),
    ]


def split_python_cost(rows):
    """The counter's cost on python3: fixed (at start) and per loop turn."""
    m = dict(rows)
    if not all(k in m for k in (START, SHORT, LONG)):
        return
    turns = 8e6  # LONG - SHORT
    print()
    print("| python3 | fixed: start-up extra | per extra loop turn, plain | with counter | counter / plain |")
    print("|---|---|---|---|---|")
    for mode, c in (("record", "_c"), ("record, first", "_f"), ("replay", "_c")):
        base = mode.split(",")[0]
        fixed = m[START][base + c] - m[START][base]
        plain = (m[LONG][base] - m[SHORT][base]) / turns
        counted = (m[LONG][base + c] - m[SHORT][base + c]) / turns
        print("| %s | %.3f s | %.0f ns | %.0f ns | %.2fx |" % (mode, fixed, plain * 1e9, counted * 1e9, counted / plain))


def main():
    global CPU
    a = arguments(__doc__, timeslice=0, only="", clock="wall")
    if a.clock not in ("wall", "cpu"):
        sys.exit("--clock is wall or cpu, not " + a.clock)
    CPU = a.clock == "cpu"
    counter = ["--progress-counter"] + (["--timeslice", str(a.timeslice)] if a.timeslice else [])
    tmp = tempfile.mkdtemp(prefix="rr-bench-counter-")
    stored = {"RR_PLAN_CACHE": os.path.join(tmp, "plans")}
    try:
        rows = []
        for name, argv in workloads(tmp):
            if a.only not in name:
                continue
            trace = os.path.join(tmp, "warm")
            timed([a.rr, "record", "-q", "-o", trace] + counter + argv, stored)  # fills the plan store
            shutil.rmtree(trace, ignore_errors=True)
            times = {k: [] for k in ("native", "record", "replay", "record_c", "replay_c", "record_f")}
            for _ in range(a.runs):
                times["native"].append(timed(argv))
                for key, extra, env in (("", ["--no-progress-counter"], None), ("_c", counter, stored),
                                        ("_f", counter, {"RR_PLAN_CACHE": "off"})):
                    trace = os.path.join(tmp, "t" + key)
                    shutil.rmtree(trace, ignore_errors=True)
                    times["record" + key].append(timed([a.rr, "record", "-q", "-o", trace] + extra + argv, env))
                    if key != "_f":  # the same plans as _c's: replay does not plan
                        times["replay" + key].append(timed([a.rr, "replay", "-a", trace]))
            m = {k: statistics.median(v) for k, v in times.items()}
            rows.append((name, m))
            print(name, {k: round(v, 3) for k, v in m.items()}, file=sys.stderr)
        print("| workload | native | record | record, counter | extra | extra s | extra, first | replay | replay, counter | extra | extra s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, m in rows:
            n = m["native"]
            print("| %s | %.3f s | %.2fx | %.2fx | %.2fx | %+.3f | %.2fx | %.2fx | %.2fx | %.2fx | %+.3f |" % (
                name, n, m["record"] / n, m["record_c"] / n, m["record_c"] / m["record"],
                m["record_c"] - m["record"], m["record_f"] / m["record"], m["replay"] / n, m["replay_c"] / n,
                m["replay_c"] / m["replay"], m["replay_c"] - m["replay"]))
        split_python_cost(rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
