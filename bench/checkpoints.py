#!/usr/bin/env python3
"""Persistent checkpoint benchmark.

A tracee with about 1 GiB resident (a third zeros, a third one repeated
pattern, a third pseudo-random bytes) and a trace of about 200,000 events.
Prints, side by side in one run: checkpoint write throughput (MB/s of
resident memory) and bytes per resident byte for each codec, restore time,
and the time to reach a late event with and without checkpoints (medians).

Usage: bench/checkpoints.py [--rr build/rr] [--mib 1024] [--events 200000] [--runs 3]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time


def run(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv[:3]), r.stderr.decode()[-500:]))
    return r


def seek_seconds(rr, trace, event, ignore):
    argv = [rr, "state", "-g", str(event), "--time-seek", trace] + (["--ignore-pcp"] if ignore else [])
    r = run(argv)
    m = re.search(rb"seek: ([0-9.]+) s", r.stderr)
    return float(m.group(1))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--rr", default=os.path.join(here, "..", "build", "rr"))
    p.add_argument("--mib", type=int, default=1024)
    p.add_argument("--events", type=int, default=200000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out")
    a = p.parse_args()
    rr = os.path.abspath(a.rr)
    tmp = tempfile.mkdtemp(prefix="rr-ckbench-")
    try:
        prog = os.path.join(tmp, "big_resident")
        run(["cc", "-O2", "-o", prog, os.path.join(here, "programs", "big_resident.c")])
        trace = os.path.join(tmp, "trace")
        t0 = time.perf_counter()
        run([rr, "record", "-q", "-o", trace, prog, str(a.mib), str(a.events)])
        record_s = time.perf_counter() - t0
        last = int(re.findall(rb"^event (\d+) ", run([rr, "dump", trace]).stdout, re.M)[-1])
        late = last - 1000
        rows = []
        for codec in ("zstd", "zlib", "none"):
            speeds, ratios, secs = [], [], []
            run([rr, "checkpoints", "rm", "--all", trace])
            time.sleep(2)  # let the file system finish releasing what rm freed
            for k in range(a.runs):
                ev = late - k  # one file per run: no delete right before a write
                # Each write is measured alone: the write-back of the
                # recording and of earlier runs' files is not its cost.
                os.sync()
                out = run([rr, "create-checkpoints", "-s", str(ev), "-e", str(ev), "--codec", codec, trace]).stdout.decode()
                m = re.search(r"([0-9.]+) bytes per resident byte, .*\(([0-9.]+) s writing, ([0-9]+) MB/s", out)
                ratios.append(float(m.group(1)))
                secs.append(float(m.group(2)))
                speeds.append(float(m.group(3)))
            rows.append((codec, statistics.median(secs), statistics.median(speeds), statistics.median(ratios)))
            print("write %-5s %.3f s  %5.0f MB/s  %.3f bytes/resident byte" % rows[-1], flush=True)
        # Restore and seek with the zstd checkpoint at `late`.
        run([rr, "checkpoints", "rm", "--all", trace])
        run([rr, "create-checkpoints", "-s", str(late), "-e", str(late), trace])
        restore = statistics.median(seek_seconds(rr, trace, late, False) for _ in range(max(5, a.runs)))
        from_start = statistics.median(seek_seconds(rr, trace, late, True) for _ in range(a.runs))
        resident_gb = a.mib / 1024 * (1 << 30) / 1e9
        lines = [
            "Tracee: %d MiB resident (1/3 zeros, 1/3 one pattern, 1/3 random), trace of %d events (recorded in %.1f s)." % (a.mib, last, record_s),
            "",
            "| codec | checkpoint write | MB/s of resident memory | bytes per resident byte |",
            "|---|---|---|---|",
        ]
        for codec, s, mbps, ratio in rows:
            lines.append("| %s | %.3f s | %.0f | %.3f |" % (codec, s, mbps, ratio))
        lines += [
            "",
            "| seek to event %d (`rr state -g`, reaching the event) | time |" % late,
            "|---|---|",
            "| restore from the checkpoint at that event (zstd) | %.3f s (%.2f GB/s of resident memory) |" % (restore, resident_gb / restore),
            "| replay from the start (`--ignore-pcp`) | %.3f s |" % from_start,
            "| speed-up | %.1fx |" % (from_start / restore),
        ]
        text = "\n".join(lines)
        print()
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
