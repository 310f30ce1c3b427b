#!/usr/bin/env python3
"""Benchmark of positions inside an event (docs/architecture.md): reaching the
point where line 12 of bench/gdb_counters.c runs for iteration K of a loop of
N iterations (one stretch, no syscall inside), in a fresh gdb session.
Side by side in one run, each as the difference of two gdb sessions that
differ only by the commands measured (median of --runs, interleaved):

- `run EVT:0xADDR:K`: the position, reached with one perf breakpoint counter;
- `break gdb_counters.c:12 if i == K` + `continue` from the event: gdb's own
  road, a round trip to gdb at each of the K + 1 hits;
- `when-position` one `stepi` further (a point known by its route: one
  re-run of the stretch counting the instruction, what `info checkpoints`
  and `write-checkpoints` pay per point they name).

Usage: python3 bench/gdb_positions.py [--rr build/rr] [--iterations 100000] [--runs 3]"""
import os
import re
import shutil
import statistics
import sys
import tempfile

from common import arguments, build_and_record, timed


def main():
    a = arguments(__doc__, iterations=100000)
    rr = a.rr
    k = a.iterations - 10
    tmp = tempfile.mkdtemp(prefix="rr-bench-positions-")
    try:
        trace = build_and_record(rr, tmp, "gdb_counters.c", [str(a.iterations)], flags=("-O0", "-g"))

        def session(commands):
            script = os.path.join(tmp, "s.gdb")
            with open(script, "w") as f:
                f.write("\n".join(commands) + "\n")
            return timed([rr, "replay", trace, "--", "-batch", "-nx", "-x", script])

        # Where the loop's stretch is, and the position of iteration k.
        _, out = session(["break gdb_counters.c:12 if i == %d" % k, "continue", "when-position", "print i"])
        m = re.search(r"^Current position: (\d+):(0x[0-9a-f]+):(\d+)$", out, re.M)
        if not m or "= %d" % k not in out:
            sys.exit("could not find the position of iteration %d:\n%s" % (k, out[-2000:]))
        event, position = m.group(1), m.group(0).split(": ")[1]
        roads = [
            ("`run %s` (a counter)" % position, ["run " + position, "print i"], ["run " + event]),
            ("`break ... if i == K` + `continue`", ["run " + event, "break gdb_counters.c:12 if i == %d" % k, "continue", "print i"],
             ["run " + event, "break gdb_counters.c:12 if i == %d" % k]),
            ("`when-position` one `stepi` further", ["run " + position, "stepi", "when-position"], ["run " + position, "stepi"]),
        ]
        times = {name: [] for name, _, _ in roads}
        for _ in range(a.runs):
            for name, cmds, base in roads:  # interleaved: the machine is noisy
                t1, out = session(cmds)
                t0, _ = session(base)
                if ("print i" in cmds and "= %d" % k not in out) or (
                        "when-position" in cmds and not re.search(r"Current position: %s:0x[0-9a-f]+:%d\n" % (event, k), out)):
                    sys.exit("%s did not reach iteration %d:\n%s" % (name, k, out[-2000:]))
                times[name].append(max(t1 - t0, 0.0))
        base = statistics.median(times[roads[0][0]])
        print("reaching iteration %d of a %d-iteration loop inside one event (median of %d)" % (k, a.iterations, a.runs))
        print("| road | time | ratio |")
        print("|---|---|---|")
        for name, _, _ in roads:
            t = statistics.median(times[name])
            print("| %s | %.3f s | %.1fx |" % (name, t, t / base if base > 0 else float("nan")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
