#!/usr/bin/env python3
"""Seek, restore and checkpoint creation on a real program, side by side.

python3 with an 80 MB heap of random bytes that then makes 85,000 syscalls
(bench/programs/python_heap.py). Checkpoints every 10,000 events; then:
- seek to the last checkpoint's event (`rr state -g --time-seek`) through
  it and from the start, with the restore's phases (RR_LOG);
- `rr create-checkpoints -i 2500` over the trace with those checkpoints,
  serially and with -j 2 (on copies of the trace, alternating).

Usage: bench/real_seek.py [--rr build/rr] [--runs 5] [--base OLD/rr]
(--base: another build whose restore is measured alongside, same trace)
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile

from common import HERE, timed


def seek(rr, trace, event, *extra):
    out = timed([rr, "state", "-g", str(event), "--time-seek", *extra, trace], env=dict(os.environ, RR_LOG="1"))[1]
    # The layout (making the process, mappings, file sums) and the pages.
    phases = re.search(r"restore \d+: layout ([0-9.]+) s.*pages ([0-9.]+) s", out)
    return float(re.search(r"seek: ([0-9.]+) s", out).group(1)), phases.groups() if phases else ("nan", "nan")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rr", default=os.path.join(HERE, "..", "build", "rr"))
    p.add_argument("--base", default=None)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    rr = os.path.abspath(a.rr)
    builds = [("this build", rr)] + ([("base", os.path.abspath(a.base))] if a.base else [])
    tmp = tempfile.mkdtemp(prefix="rr-realseek-")
    try:
        trace = os.path.join(tmp, "trace")
        rec, _ = timed([rr, "record", "-q", "-o", trace, sys.executable, os.path.join(HERE, "programs", "python_heap.py")])
        last = int(re.findall(r"^event (\d+)", timed([rr, "dump", trace])[1], re.M)[-1])
        made = timed([rr, "create-checkpoints", "--full", "-s", "10000", "-i", "10000", trace])[1]
        # The seek lands on the last checkpoint: its time is the restore's.
        late = at = ((last - 1) // 10000) * 10000
        size = os.path.getsize(os.path.join(trace, "checkpoints", "%d.rrcp" % at))
        print("trace: %d events, recorded in %.1f s; checkpoint at %d: %d bytes; %s" % (last, rec, at, size, made.strip().splitlines()[0]))
        rows = {name: [] for name, _ in builds}
        for _ in range(a.runs):
            for name, binary in builds:
                rows[name].append(seek(binary, trace, late))
        start = statistics.median(seek(rr, trace, late, "--ignore-pcp")[0] for _ in range(max(1, a.runs // 2)))
        print("\n| seek to event %d (python3, 80 MB heap) | time | restore phases (median): layout, pages |" % late)
        print("|---|---|---|")
        for name, _ in builds:
            t = statistics.median(x[0] for x in rows[name])
            ph = [statistics.median(float(x[1][i]) for x in rows[name]) for i in (0, 1)]
            print("| restore from the checkpoint at %d (%s) | %.3f s (%.1fx faster than the start) | %.3f / %.3f s |"
                  % (at, name, t, start / t, *ph))
        print("| replay from the start (`--ignore-pcp`) | %.3f s | |" % start)

        # create-checkpoints serially and with -j 2 from the same checkpoints.
        times = {"serial": [], "-j 2": []}
        for _ in range(max(1, a.runs // 2)):
            for mode in times:
                copy = os.path.join(tmp, "copy")
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(trace, copy)
                argv = [rr, "create-checkpoints", "-i", "2500", "-s", "2500"] + (["-j", "2"] if mode == "-j 2" else []) + [copy]
                times[mode].append(timed(argv)[0])
        s, j = statistics.median(times["serial"]), statistics.median(times["-j 2"])
        print("\n| `create-checkpoints -i 2500` with checkpoints every 10,000 | time | ratio |")
        print("|---|---|---|")
        print("| serial | %.2f s | 1.00x |" % s)
        print("| -j 2 | %.2f s | %.2fx |" % (j, j / s))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
