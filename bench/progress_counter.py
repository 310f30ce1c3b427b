#!/usr/bin/env python3
"""The progress counter's cost: record and replay with and without
--progress-counter, side by side in one run.

Workloads (single-threaded compute, no syscall in the hot loop):
  branchy     bench/programs/branchy.c at -O2: a tight loop with data-dependent
              branches (the counter's worst case: a counted branch every few
              instructions), 100M turns
  sha256sum   of a 64 MiB file (coreutils' own SHA-256, in the executable)
  python3     /usr/bin/python3.11 (Debian's: the interpreter is in the
              executable) running a loop of 2M turns
  xz -T1      -c of a 16 MiB file (the work is in liblzma, which the counter
              does not cover: what uncovered code costs)
Each cell is the median of --runs runs (default 3); the modes of one
workload alternate within a round. Prints a Markdown table: native time,
record and replay ratios to native without and with the counter, and the
counter's extra factor (counter / plain) for each. With --timeslice N the
counter records use that timeslice.

Usage: bench/progress_counter.py [--rr build/rr] [--runs 3] [--timeslice N]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import HERE, arguments, random_blob


def timed(argv):
    """Seconds argv takes, its output thrown away (xz writes binary)."""
    t = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.monotonic() - t
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), r.stderr.decode(errors="replace")[-2000:]))
    return took

PY = "s = 0\nfor i in range(2000000):\n    if i % 3 == 0: s += i\n    elif i % 7 == 1: s ^= i\n    else: s -= 1\nprint(s)\n"


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
        ("python3 loop 2M", ["/usr/bin/python3.11", "-c", PY]),
        ("xz -T1 16 MiB", ["/usr/bin/xz", "-T1", "-c", "-k", small]),
    ]


def main():
    a = arguments(__doc__, timeslice=0)
    counter = ["--progress-counter"] + (["--timeslice", str(a.timeslice)] if a.timeslice else [])
    tmp = tempfile.mkdtemp(prefix="rr-bench-counter-")
    try:
        rows = []
        for name, argv in workloads(tmp):
            times = {k: [] for k in ("native", "record", "replay", "record_c", "replay_c")}
            for _ in range(a.runs):
                times["native"].append(timed(argv))
                for key, extra in (("", []), ("_c", counter)):
                    trace = os.path.join(tmp, "t" + key)
                    shutil.rmtree(trace, ignore_errors=True)
                    times["record" + key].append(timed([a.rr, "record", "-q", "-o", trace] + extra + argv))
                    times["replay" + key].append(timed([a.rr, "replay", "-a", trace]))
            m = {k: statistics.median(v) for k, v in times.items()}
            rows.append((name, m))
            print(name, {k: round(v, 3) for k, v in m.items()}, file=sys.stderr)
        print("| workload | native | record | record, counter | extra | replay | replay, counter | extra |")
        print("|---|---|---|---|---|---|---|---|")
        for name, m in rows:
            n = m["native"]
            print("| %s | %.3f s | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx |" % (
                name, n, m["record"] / n, m["record_c"] / n, m["record_c"] / m["record"],
                m["replay"] / n, m["replay_c"] / n, m["replay_c"] / m["replay"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
