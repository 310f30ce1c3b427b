#!/usr/bin/env python3
"""Benchmark of gdb's `checkpoint`, `restart N` and reverse-continue on a
tracee with a large heap (--mib, half random), side by side in one run:

- in memory: snapshots are copies of the replay made by forking its
  tracees, and starting from one copies it again (the default);
- in files (RR_GDB_CLONES=0): snapshots are files in /dev/shm (zstd, not
  synced), and starting from one rebuilds the tracee from it.

Each cost is the difference of two gdb sessions that differ only by the
commands measured: `checkpoint` once; `next` + `restart 1`, --repeat
times; `reverse-continue` to the previous breakpoint hit, --repeat times
after a first one (which replays from the start on both roads).

Usage: python3 bench/gdb_checkpoints.py [--rr build/rr] [--mib 256] [--repeat 5] [--runs 3]"""
import os
import re
import shutil
import statistics
import tempfile

from common import arguments, build_and_record, timed


def main():
    a = arguments(__doc__, mib=256, repeat=5)
    rr = a.rr
    tmp = tempfile.mkdtemp(prefix="rr-bench-gdbck-")
    try:
        trace = build_and_record(rr, tmp, "gdb_big.c", [str(a.mib)])
        start = ["break round_done if i == 50", "continue"]
        back = ["delete", "break round_done", "reverse-continue"]
        scripts = {
            "none": start,
            "checkpoint": start + ["checkpoint"],
            "restarts": start + ["checkpoint"] + ["next", "restart 1"] * a.repeat + ["print i"],
            "back once": start + back + ["print i"],
            "back": start + back + ["reverse-continue"] * a.repeat + ["print i"],
        }
        expected = {"restarts": 50, "back once": 49, "back": 49 - a.repeat}

        def session(kind, env):
            path = os.path.join(tmp, kind.replace(" ", "_") + ".gdb")
            with open(path, "w") as f:
                f.write("\n".join(scripts[kind]) + "\n")
            took, out = timed([rr, "replay", trace, "--", "-batch", "-nx", "-x", path], dict(os.environ, **env))
            if kind in expected and not re.search(r"^\$1 = %d$" % expected[kind], out, re.M):
                raise SystemExit("%s: i is not %d at the end:\n%s" % (kind, expected[kind], out[-2000:]))
            return took

        roads = [("in memory (forked tracees)", {}), ("in files (RR_GDB_CLONES=0)", {"RR_GDB_CLONES": "0"})]
        times = {(name, kind): [] for name, _ in roads for kind in scripts}
        for _ in range(a.runs):
            for name, env in roads:  # interleaved: the machine is noisy
                for kind in scripts:
                    times[(name, kind)].append(session(kind, env))
        med = {k: statistics.median(v) for k, v in times.items()}
        rows = []
        for name, _ in roads:
            ck = med[(name, "checkpoint")] - med[(name, "none")]
            rs = (med[(name, "restarts")] - med[(name, "checkpoint")]) / a.repeat
            rc = (med[(name, "back")] - med[(name, "back once")]) / a.repeat
            rows.append((name, ck, rs, rc))
        base = rows[0]
        print("gdb on a tracee with a %d MiB heap (median of %d)\n" % (a.mib, a.runs))
        print("| snapshots kept | `checkpoint` | `next` + `restart 1` | `reverse-continue` |")
        print("|---|---|---|---|")
        for row in rows:
            cells = ["%.3f s (%.1fx)" % (v, v / b if b > 0 else 0) for v, b in zip(row[1:], base[1:])]
            print("| %s | %s |" % (row[0], " | ".join(cells)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
