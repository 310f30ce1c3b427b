#!/usr/bin/env python3
"""Record overhead of checkpoints written while recording.

The checkpoint benchmark's tracee (bench/programs/big_resident.c: about
1 GiB resident, then many cheap syscalls) is recorded without and with
`--checkpoint-every 5s`, by the follower (RR_CHECKPOINT_WRITER=replay: a
replay behind the recording) and by the default writer (copies of the
processes made by fork at each point, written by a thread of the
recorder; the points no copy was had at replayed to by a replay beside
the recording, then after the program's end), alternating within each round; prints the median
wall time of `rr record` (which includes waiting for the checkpoint writer
after the program's end), the ratio, the same up to the program's end
(the wall time less that wait: what the recording itself took), and what
the writer wrote; and the CPU time of rr record (the recorder and its
tracees) and of the writer (as rr record reports it), which is what a
machine whose cores are taken turns into wall time.

Usage: bench/record_checkpoints.py [--rr build/rr] [--mib 1024] [--events 500000] [--every 5s] [--runs 3] [--out FILE]
"""
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

from common import HERE, arguments


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


COPY_REPORT = re.compile(r"wrote (\d+) checkpoints while recording, copied from the recorded processes \((\d+) "
                         r"incremental\), (\d+) bytes; requested (\d+) \(every [^)]*\), achieved (\d+)")
BESIDE_REPORT = re.compile(r"replayed beside the recording to the (\d+) points the copies missed while it ran: wrote "
                           r"(\d+) checkpoints \((\d+) incremental\), (\d+) bytes, achieved (\d+)")
FILL_REPORT = re.compile(r"replayed to the (\d+) points still missed: wrote (\d+) checkpoints \((\d+) incremental\), "
                         r"(\d+) bytes, achieved (\d+); ([0-9.]+) s after the program's end")


def run(argv, env=None):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv[:4]), r.stderr[-800:]))
    return r


def main():
    a = arguments(__doc__, mib=1024, events=500000, every="5s", out="")
    rr = a.rr
    tmp = tempfile.mkdtemp(prefix="rr-rcpbench-")
    try:
        prog = os.path.join(tmp, "big_resident")
        run(["cc", "-O2", "-o", prog, os.path.join(HERE, "programs", "big_resident.c")])
        t0 = time.perf_counter()
        run([prog, str(a.mib), str(a.events)])
        native = time.perf_counter() - t0
        plain, with_ckpt, until_end, after_end, written, sizes = [], [], [], [], [], []
        copied, copied_written, copied_sizes = [], [], []
        # CPU seconds: of rr record (the recorder and its tracees; the
        # follower is not its child, the copying writer is a thread of it),
        # and of the follower as it reports it.
        record_cpu, writer_cpu = {"plain": [], "checkpoints": [], "copy": []}, []
        for k in range(a.runs):
            for mode in ("plain", "checkpoints", "copy"):
                trace = os.path.join(tmp, "trace-%s-%d" % (mode, k))
                extra = ["--checkpoint-every", a.every] if mode != "plain" else []
                env = dict(os.environ, RR_CHECKPOINT_WRITER="replay")
                if mode == "copy":
                    del env["RR_CHECKPOINT_WRITER"]  # the default writer
                os.sync()
                c0 = children_cpu()
                t0 = time.perf_counter()
                r = run([rr, "record", "-o", trace] + extra + [prog, str(a.mib), str(a.events)], env)
                secs = time.perf_counter() - t0
                record_cpu[mode].append(children_cpu() - c0)
                if mode == "plain":
                    plain.append(secs)
                elif mode == "copy":
                    copied.append(secs)
                    m = COPY_REPORT.search(r.stderr)
                    if not m:
                        raise SystemExit("no report of the copied checkpoints: " + r.stderr[-500:])
                    beside = BESIDE_REPORT.search(r.stderr)
                    fill = FILL_REPORT.search(r.stderr)
                    copied_written.append("%s of %s requested (%s incremental), %s replayed to beside the recording, "
                                          "%s after the end"
                                          % (m.group(5), m.group(4), m.group(2), beside.group(5) if beside else 0,
                                             fill.group(5) if fill else 0))
                    copied_sizes.append(int(m.group(3)) + (int(beside.group(4)) if beside else 0)
                                        + (int(fill.group(4)) if fill else 0))
                else:
                    with_ckpt.append(secs)
                    m = re.search(r"wrote (\d+) checkpoints while recording \((\d+) incremental\), (\d+) bytes; "
                                  r"requested (\d+) .* achieved (\d+); ([0-9.]+) s after the program's end "
                                  r"\(the writer used ([0-9.]+) s of CPU\)", r.stderr)
                    if not m:
                        raise SystemExit("no checkpoint report: " + r.stderr[-500:])
                    written.append("%s of %s requested (%s incremental)" % (m.group(1), m.group(4), m.group(2)))
                    sizes.append(int(m.group(3)))
                    after_end.append(float(m.group(6)))
                    until_end.append(secs - after_end[-1])
                    writer_cpu.append(float(m.group(7)))
                print("round %d %-11s %.2f s%s, rr record's CPU %.2f s%s, load %.1f"
                      % (k, mode, secs, " (%.2f s to the program's end)" % until_end[-1] if mode == "checkpoints" else "",
                         record_cpu[mode][-1], ", the follower's CPU %.2f s" % writer_cpu[-1] if mode == "checkpoints" else "",
                         os.getloadavg()[0]), flush=True)
                shutil.rmtree(trace)
        p_med, c_med, u_med = statistics.median(plain), statistics.median(with_ckpt), statistics.median(until_end)
        k_med = statistics.median(copied)
        p_cpu, c_cpu = statistics.median(record_cpu["plain"]), statistics.median(record_cpu["checkpoints"])
        k_cpu = statistics.median(record_cpu["copy"])
        w_cpu = statistics.median(writer_cpu)
        lines = [
            "Tracee: bench/programs/big_resident.c, %d MiB resident, %d syscalls (native %.2f s); median of %d rounds."
            % (a.mib, a.events, native, a.runs),
            "",
            "| rr record | wall time | / without | to the program's end | / without | checkpoints written | their bytes "
            "| writer after the program's end |",
            "|---|---|---|---|---|---|---|---|",
            "| without checkpoints | %.2f s | 1.00x | %.2f s | 1.00x | | | |" % (p_med, p_med),
            "| `--checkpoint-every %s`, follower | %.2f s | %.2fx | %.2f s | %.2fx | %s | %.0f MB | %.2f s |"
            % (a.every, c_med, c_med / p_med, u_med, u_med / p_med, written[len(written) // 2],
               statistics.median(sizes) / 1e6, statistics.median(after_end)),
            "| `--checkpoint-every %s`, default (copies) | %.2f s | %.2fx | | | %s | %.0f MB | |"
            % (a.every, k_med, k_med / p_med, copied_written[len(copied_written) // 2],
               statistics.median(copied_sizes) / 1e6),
            "",
            "Rounds (without / follower / default, s): "
            + ", ".join("%.1f / %.1f / %.1f" % (x, y, z) for x, y, z in zip(plain, with_ckpt, copied)),
            "",
            "CPU (median): rr record without %.2f s, with the follower %.2f s, with the default writer %.2f s "
            "(its thread included); the follower %.2f s (%.2fx the recording's own): on a machine whose cores are "
            "taken, the follower's CPU is wall time." % (p_cpu, c_cpu, k_cpu, w_cpu, w_cpu / p_cpu),
        ]
        text = "\n".join(lines) + "\n"
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
