#!/usr/bin/env python3
"""Benchmark of going back inside one long stretch of user code: a reverse
watchpoint from the end of a loop of N iterations (no syscall inside) to the
write near its end, then one reverse-stepi. Side by side in one run:

- with execution counters (the point before the write is reached with a perf
  breakpoint counter, and only the last iteration is single-stepped);
- without (RR_GDB_COUNTERS=0: single steps from the start of the stretch).

Usage: python3 bench/gdb_counters.py [--rr build/rr] [--iterations 100000] [--runs 3]"""
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
    tmp = tempfile.mkdtemp(prefix="rr-bench-counters-")
    try:
        trace = build_and_record(rr, tmp, "gdb_counters.c", [str(a.iterations)], flags=("-O0", "-g"))
        script = os.path.join(tmp, "s.gdb")
        with open(script, "w") as f:
            f.write("watch flag\ncontinue\ncontinue\nreverse-continue\nreverse-stepi\ninfo registers rip\n")

        def once(env):
            took, out = timed([rr, "replay", trace, "--", "-batch", "-nx", "-x", script], dict(os.environ, **env))
            rip = re.search(r"^rip +(0x[0-9a-f]+)", out, re.M)
            if not rip or "Old value = %d" % (a.iterations - 10) not in out:
                sys.exit("the reverse watch failed:\n" + out[-2000:])
            return took, rip.group(1)

        roads = [("with execution counters", {}), ("single steps (RR_GDB_COUNTERS=0)", {"RR_GDB_COUNTERS": "0"})]
        times = {name: [] for name, _ in roads}
        rips = set()
        for _ in range(a.runs):
            for name, env in roads:  # interleaved: the machine is noisy
                took, rip = once(env)
                times[name].append(took)
                rips.add(rip)
        if len(rips) != 1:
            sys.exit("the two roads stopped at different instructions: %r" % rips)
        base = statistics.median(times[roads[0][0]])
        print("reverse watch + reverse-stepi at the end of a %d-iteration loop (median of %d)" % (a.iterations, a.runs))
        print("| road | time | ratio |")
        print("|---|---|---|")
        for name, _ in roads:
            m = statistics.median(times[name])
            print("| %s | %.3f s | %.1fx |" % (name, m, m / base))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
