#!/usr/bin/env python3
"""Full against incremental checkpoints, side by side.

The checkpoint benchmark's tracee (bench/programs/big_resident.c, about
1 GiB resident) with 1% of its pages changing between checkpoints: ten
checkpoints written by `rr create-checkpoints` with `--full`, and without
(incremental: the first full, the others against the one before) both
with write tracking (the default: pages unwritten since the checkpoint
before are not read) and without it (RR_WRITE_TRACKING=0: every populated
page read and hashed). The three modes run in turn, --runs rounds; prints
per mode the bytes on disk, the medians of the seconds spent writing and
of the command's CPU time (rr and its tracees, the replay included), and
the time to restore the last checkpoint (in the last round).

Usage: bench/incremental.py [--rr build/rr] [--mib 1024] [--events 20000] [--runs 3]
"""
import os
import re
import resource
import shutil
import statistics
import tempfile
import time

from common import arguments, timed


def seek_seconds(rr, trace, event):
    out = timed([rr, "state", "-g", str(event), "--time-seek", trace])[1]
    return float(re.search(r"seek: ([0-9.]+) s", out).group(1))


MODES = (("full", ["--full"], {}),
         ("incremental, every page read", [], {"RR_WRITE_TRACKING": "0"}),
         ("incremental, write tracking", [], {}))


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
        results = {name: [] for name, _, _ in MODES}
        rows = []
        for rnd in range(a.runs):
            for name, flags, extra in MODES:
                timed([rr, "checkpoints", "rm", "--all", trace])
                os.sync()
                time.sleep(2)
                env = dict(os.environ, **extra)
                env.pop("RR_VERIFY_WRITE_TRACKING", None)
                argv = [rr, "create-checkpoints", "-s", str(interval), "-i", str(interval), "-e", str(interval * 10), trace]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                out = timed(argv + flags, env=env)[1]
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                m = re.search(r"wrote (\d+) checkpoints \((\d+) incremental\), (\d+) bytes, .*\(([0-9.]+) s writing", out)
                count, total, secs = int(m.group(1)), int(m.group(3)), float(m.group(4))
                u = re.search(r"write tracking: (\d+) of the (\d+) resident bytes", out)
                unread = int(u.group(1)) / int(u.group(2)) if u else 0.0
                listing = timed([rr, "checkpoints", trace])[1]
                sizes = [int(x) for x in re.findall(r"^\d+\s+(\d+)\s", listing, re.M)]
                restore = None
                if rnd == a.runs - 1:
                    last = int(re.findall(r"^(\d+)\s", listing, re.M)[-1])
                    restore = statistics.median(seek_seconds(rr, trace, last) for _ in range(3))
                results[name].append((count, total, total / sizes[0], secs, cpu, unread, restore))
                print("round %d, %-29s %d checkpoints, %d bytes (%.2fx the first), %.2f s writing, %.2f s CPU, "
                      "%.0f%% of resident bytes not read%s" % (rnd + 1, name, count, total, total / sizes[0], secs, cpu, unread * 100,
                                                               ", restore of the last %.3f s" % restore if restore else ""),
                      flush=True)
        lines = [
            "Tracee: %d MiB resident (bench/programs/big_resident.c), 1%% of its pages changed every %d events; "
            "10 checkpoints every %d events; median of %d rounds." % (a.mib, interval, interval, a.runs),
            "",
            "| checkpoints | files | bytes on disk | x the first | seconds writing | command CPU | resident bytes not read | restore of the last |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, _, _ in MODES:
            r = results[name]
            lines.append("| %s | %d | %d | %.2f | %.2f s | %.2f s | %.0f%% | %.3f s |" % (
                name, r[-1][0], r[-1][1], r[-1][2], statistics.median(x[3] for x in r), statistics.median(x[4] for x in r),
                100 * r[-1][5], r[-1][6]))
        text = "\n".join(lines)
        print()
        print(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
