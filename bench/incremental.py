#!/usr/bin/env python3
"""Full against incremental checkpoints, side by side.

The checkpoint benchmark's tracee (bench/programs/big_resident.c, about
1 GiB resident) with 1% of its pages changing between checkpoints: ten
checkpoints written by `rr create-checkpoints` with `--full` and without
(incremental: the first full, the others against it). Prints the bytes on
disk and the seconds spent writing for each, and the time to restore the
last checkpoint.

Usage: bench/incremental.py [--rr build/rr] [--mib 1024] [--events 20000]
"""
import os
import re
import shutil
import statistics
import tempfile
import time

from common import arguments, timed


def seek_seconds(rr, trace, event):
    out = timed([rr, "state", "-g", str(event), "--time-seek", trace])[1]
    return float(re.search(r"seek: ([0-9.]+) s", out).group(1))


def main():
    a = arguments(__doc__, mib=1024, events=20000)
    rr = a.rr
    tmp = tempfile.mkdtemp(prefix="rr-incbench-")
    try:
        prog = os.path.join(tmp, "big_resident")
        timed(["cc", "-O2", "-o", prog, os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "big_resident.c")])
        trace = os.path.join(tmp, "trace")
        interval = a.events // 11
        timed([rr, "record", "-q", "-o", trace, prog, str(a.mib), str(a.events), str(interval)])
        rows = []
        for mode in ("full", "incremental"):
            timed([rr, "checkpoints", "rm", "--all", trace])
            os.sync()
            time.sleep(2)
            argv = [rr, "create-checkpoints", "-s", str(interval), "-i", str(interval), "-e", str(interval * 10), trace]
            out = timed(argv + (["--full"] if mode == "full" else []))[1]
            m = re.search(r"wrote (\d+) checkpoints \((\d+) incremental\), (\d+) bytes, .*\(([0-9.]+) s writing", out)
            count, incr, total, secs = int(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4))
            sizes = [int(x) for x in re.findall(r"^\d+\s+(\d+)\s", timed([rr, "checkpoints", trace])[1], re.M)]
            last = int(re.findall(r"^(\d+)\s", timed([rr, "checkpoints", trace])[1], re.M)[-1])
            restore = statistics.median(seek_seconds(rr, trace, last) for _ in range(3))
            rows.append((mode, count, total, total / sizes[0], secs, restore))
            print("%-11s %d checkpoints, %d bytes (%.2fx the first), %.2f s writing, restore of the last %.3f s" % rows[-1],
                  flush=True)
        lines = [
            "Tracee: %d MiB resident (bench/programs/big_resident.c), 1%% of its pages changed every %d events; "
            "10 checkpoints every %d events." % (a.mib, interval, interval),
            "",
            "| checkpoints | files | bytes on disk | x the first | seconds writing | restore of the last |",
            "|---|---|---|---|---|---|",
        ]
        for mode, count, total, ratio, secs, restore in rows:
            lines.append("| %s | %d | %d | %.2f | %.2f s | %.3f s |" % (mode, count, total, ratio, secs, restore))
        text = "\n".join(lines)
        print()
        print(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
