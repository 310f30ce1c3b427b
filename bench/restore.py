#!/usr/bin/env python3
"""Checkpoint write and restore of three tracees, one build or two side by side.

- python: python3 with an 80 MB heap of random bytes, then 85,000 syscalls
  (bench/programs/python_heap.py);
- big: the checkpoint benchmark's tracee (bench/programs/big_resident.c,
  --mib MiB resident, a third zeros, a third one page repeated, a third
  random; --events syscalls);
- asan: an AddressSanitizer build with 64 MiB of random heap
  (bench/programs/asan_heap.c): terabytes of shadow reserved, the part
  that covers the heap populated;
- random: the benchmark's tracee with every page distinct pseudo-random
  bytes (big_resident ... random), a real heap's contents at its size.

Each workload is recorded once; each build writes one full checkpoint
near its end into its own copy of the trace (its write time and bytes);
then the builds restore their own checkpoint in turn, `--runs` times each
(`rr state -g --time-seek`, with the restore's phases from RR_LOG). A
second table splits each restore: opening and the rest, the layout, the
pages phase, and inside it the workers' CPU time reading blocks (per MB
read) and writing pages into the tracee (per page written).

Usage: bench/restore.py [--rr build/rr] [--base OLD/rr] [--runs 5]
                        [--workloads python,big,asan,random] [--mib 1024] [--events 200000]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from common import HERE, timed


def record(rr, tmp, name, a):
    """Records workload `name`; returns the trace's path."""
    trace = os.path.join(tmp, name)
    if name == "python":
        argv = [sys.executable, os.path.join(HERE, "programs", "python_heap.py")]
    elif name in ("big", "random"):
        prog = os.path.join(tmp, "big_resident")
        subprocess.run(["cc", "-O2", "-o", prog, os.path.join(HERE, "programs", "big_resident.c")], check=True)
        argv = [prog, str(a.mib), str(a.events)] + (["0", "random"] if name == "random" else [])
    elif name == "asan":
        prog = os.path.join(tmp, "asan_heap")
        subprocess.run(["cc", "-O1", "-g", "-fsanitize=address", "-o", prog,
                        os.path.join(HERE, "programs", "asan_heap.c")], check=True)
        argv = ["env", "ASAN_OPTIONS=detect_leaks=0", prog, "64", "20000"]
    else:
        sys.exit("unknown workload %s" % name)
    timed([a.rr, "record", "-q", "-o", trace] + argv)
    return trace


def write_checkpoint(rr, trace, event):
    """One full zstd checkpoint at `event`: (file bytes, resident bytes, seconds writing)."""
    out = timed([rr, "create-checkpoints", "--full", "-s", str(event), "-e", str(event), trace])[1]
    m = re.search(r"wrote 1 checkpoints .*?, (\d+) bytes, ([0-9.]+) bytes per resident byte, .*\(([0-9.]+) s writing", out)
    if not m:
        sys.exit("no checkpoint at %d: %s" % (event, out))
    size, ratio, secs = int(m.group(1)), float(m.group(2)), float(m.group(3))
    return size, size / ratio if ratio else 0, secs


def seek(rr, trace, event):
    out = timed([rr, "state", "-g", str(event), "--time-seek", trace], env=dict(os.environ, RR_LOG="1"))[1]
    if "skipping checkpoint" in out:
        sys.exit("the checkpoint at %d was not used: %s" % (event, out))
    phases = re.findall(r"restore \d+: layout ([0-9.]+) s.*pages ([0-9.]+) s(?: \((\d+) written\))?", out)
    # The pages phase inside (builds from 2026-12-04 on): blocks read, MB,
    # wall, CPU; pages written, wall, CPU (both workers summed).
    inside = re.findall(r"restore \d+: pages: (\d+) blocks read \(([0-9.]+) MB\) ([0-9.]+) s wall, ([0-9.]+) s CPU; "
                        r"(\d+) pages written ([0-9.]+) s wall, ([0-9.]+) s CPU", out)
    whole = re.search(r"restore: ([0-9.]+) s in all", out)
    return (float(re.search(r"seek: ([0-9.]+) s", out).group(1)),
            sum(float(p[0]) for p in phases), sum(float(p[1]) for p in phases), sum(int(p[2] or 0) for p in phases),
            float(whole.group(1)) if whole else None,
            [sum(float(p[k]) for p in inside) for k in range(7)] if inside else None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rr", default=os.path.join(HERE, "..", "build", "rr"))
    p.add_argument("--base", default=None, help="another build, measured alongside")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--workloads", default="python,big,asan,random")
    p.add_argument("--mib", type=int, default=1024)
    p.add_argument("--events", type=int, default=200000)
    a = p.parse_args()
    a.rr = os.path.abspath(a.rr)
    builds = [("this build", a.rr)] + ([("base", os.path.abspath(a.base))] if a.base else [])
    tmp = tempfile.mkdtemp(prefix="rr-restore-")
    rows = []
    try:
        for name in a.workloads.split(","):
            trace = record(a.rr, tmp, name, a)
            last = int(re.findall(r"^event (\d+)", timed([a.rr, "dump", trace])[1], re.M)[-1])
            event = last - 100
            copies, written = {}, {}
            for label, binary in builds:
                copies[label] = trace + "-" + label.replace(" ", "-")
                shutil.copytree(trace, copies[label])
                written[label] = write_checkpoint(binary, copies[label], event)
            times = {label: [] for label, _ in builds}
            for _ in range(a.runs):
                for label, binary in builds:
                    times[label].append(seek(binary, copies[label], event))
            for label, _ in builds:
                size, resident, secs = written[label]
                t = [statistics.median(x[i] for x in times[label]) for i in range(3)]
                written_pages = max(x[3] for x in times[label])
                whole = [x[4] for x in times[label] if x[4] is not None]
                inside = [x[5] for x in times[label] if x[5] is not None]
                split = None
                if whole and inside:
                    split = (statistics.median(whole),) + tuple(statistics.median(v[k] for v in inside) for k in range(7))
                rows.append((name, event, label, size, resident, secs, *t, written_pages, split))
                print("%s at %d, %s: %d bytes (%.0f resident), write %.2f s, restore %.3f s (layout %.3f, pages %.3f; "
                      "%d pages written)" % (name, event, label, size, resident, secs, *t, written_pages), flush=True)
            for c in copies.values():
                shutil.rmtree(c, ignore_errors=True)
            shutil.rmtree(trace, ignore_errors=True)
        # Per resident byte favours memory that is zero pages (not written)
        # or one page repeated (read once); per byte written into the
        # tracee (pages the restore wrote, from RR_LOG) compares the work.
        print("\n| tracee (event) | build | checkpoint bytes | per resident byte | write | restore | layout / pages "
              "| MB/s of resident memory | pages written | MB/s written (pages phase) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, event, label, size, resident, secs, t, layout, pages, wp, _ in rows:
            print("| %s (%d) | %s | %s | %.3f | %.2f s | %.3f s | %.3f / %.3f s | %.0f | %s | %s |"
                  % (name, event, label, format(size, ","), size / resident if resident else 0, secs, t, layout, pages,
                     resident / t / 1e6 if t else 0, format(wp, ",") if wp else "",
                     "%.0f" % (wp * 4096 / pages / 1e6) if wp and pages else ""))
        # Where a restore's time goes (medians of each part; the CPU times
        # are both workers' together, which a loaded machine inflates less
        # than wall time).
        print("\n| tracee | build | restore | opening and the rest | layout | pages (wall) | blocks read | read CPU "
              "| read CPU per MB | pages written | write CPU | write CPU per page | MB/s of resident memory |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name, event, label, size, resident, secs, t, layout, pages, wp, split in rows:
            if not split:
                continue
            whole, blocks, mb, _, read_cpu, written, _, write_cpu = split
            print("| %s | %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %d (%.0f MB) | %.1f ms | %.2f ms | %s | %.1f ms | "
                  "%.2f us | %.0f |" % (name, label, whole * 1e3, (whole - layout - pages) * 1e3, layout * 1e3,
                                         pages * 1e3, blocks, mb, read_cpu * 1e3, read_cpu * 1e3 / mb if mb else 0,
                                         format(int(written), ","), write_cpu * 1e3,
                                         write_cpu * 1e6 / written if written else 0, resident / whole / 1e6))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
