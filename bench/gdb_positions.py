#!/usr/bin/env python3
"""Benchmark of positions inside an event (docs/architecture.md,
docs/progress-counter.md): reaching the point where line 12 of
bench/gdb_counters.c runs for iteration K of a loop of N iterations (one
stretch, no syscall inside), in a fresh gdb session. Side by side in one
run, each as the difference of two gdb sessions that differ only by the
commands measured (median of --runs, interleaved):

- `run EVT:0xADDR:K`: the position, reached with one perf breakpoint counter
  (RR_GDB_TICKS=0);
- `run EVT:tT+S`: the same point by the progress counter's ticks (one armed
  run to tick T, then S single steps);
- `break gdb_counters.c:12 if i == K` + `continue` from the event: gdb's own
  road, a round trip to gdb at each of the K + 1 hits;
- `when-position` one `stepi` further (a point known by its route: one
  re-run of the stretch, what `info checkpoints` and `write-checkpoints`
  pay per point they name), by breakpoint counters and by ticks;
- `reverse-continue` from the loop's end to a breakpoint at iteration K
  (`break gdb_counters.c:12 if i == K`; gdb asks for a reverse-continue per
  hit it rejects, 10 here), arriving at each hit by ticks (one run to its
  tick and a few steps). Its road by breakpoint hits (RR_GDB_TICKS=0) fails
  on this project's machines at 6e9a5e6 already ("the replay did not come
  back to the point"): docs/benchmarks.md compares it with rr built at
  6e9a5e6, whose default road arrives by the hits' route.

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

        def session(commands, env=None):
            script = os.path.join(tmp, "s.gdb")
            with open(script, "w") as f:
                f.write("\n".join(commands) + "\n")
            return timed([rr, "replay", trace, "--", "-batch", "-nx", "-x", script], dict(os.environ, **(env or {})))

        counters = {"RR_GDB_TICKS": "0"}
        # Where the loop's stretch is, and the position of iteration k, by
        # each road.
        find = ["break gdb_counters.c:12 if i == %d" % k, "continue", "when-position", "print i"]
        _, out = session(find, counters)
        m = re.search(r"^Current position: (\d+):(0x[0-9a-f]+):(\d+)$", out, re.M)
        if not m or "= %d" % k not in out:
            sys.exit("could not find the position of iteration %d:\n%s" % (k, out[-2000:]))
        event, position = m.group(1), m.group(0).split(": ")[1]
        _, out = session(find)
        m = re.search(r"^Current position: (\d+:t\d+(?:\+\d+)?)$", out, re.M)
        if not m or "= %d" % k not in out:
            sys.exit("could not find the tick position of iteration %d:\n%s" % (k, out[-2000:]))
        tick_position = m.group(1)
        brk = "break gdb_counters.c:12 if i == %d" % k
        end = "break gdb_counters.c:15"  # the printf after the loop
        roads = [
            ("`run %s` (a counter)" % position, ["run " + position, "print i"], ["run " + event], counters),
            ("`run %s` (ticks)" % tick_position, ["run " + tick_position, "print i"], ["run " + event], {}),
            ("`break ... if i == K` + `continue`", ["run " + event, brk, "continue", "print i"], ["run " + event, brk], {}),
            ("`when-position` one `stepi` further (a counter)", ["run " + position, "stepi", "when-position"],
             ["run " + position, "stepi"], counters),
            ("`when-position` one `stepi` further (ticks)", ["run " + tick_position, "stepi", "when-position"],
             ["run " + tick_position, "stepi"], {}),
            ("`reverse-continue` to iteration K (ticks)", [end, "continue", brk, "reverse-continue", "print i"],
             [end, "continue", brk], {}),
        ]
        times = {name: [] for name, _, _, _ in roads}
        for _ in range(a.runs):
            for name, cmds, base, env in roads:  # interleaved: the machine is noisy
                t1, out = session(cmds, env)
                t0, _ = session(base, env)
                if ("print i" in cmds and "= %d" % k not in out) or (
                        "when-position" in cmds and not re.search(r"Current position: %s:(0x[0-9a-f]+:%d|t\d+)" % (event, k), out)):
                    sys.exit("%s did not reach iteration %d:\n%s" % (name, k, out[-2000:]))
                times[name].append(max(t1 - t0, 0.0))
        base = statistics.median(times[roads[0][0]])
        print("reaching iteration %d of a %d-iteration loop inside one event (median of %d)" % (k, a.iterations, a.runs))
        print("| road | time | ratio |")
        print("|---|---|---|")
        for name, _, _, _ in roads:
            t = statistics.median(times[name])
            print("| %s | %.3f s | %.1fx |" % (name, t, t / base if base > 0 else float("nan")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
