#!/usr/bin/env python3
"""Benchmark of rr replay under gdb late in a long trace (about 200,000
events), with and without persistent checkpoints, side by side in one run:

- time from `rr replay -g LATE` to gdb's prompt (gdb runs `when` and quits);
- time of one reverse-continue there (to the previous call of a function).

Usage: python3 bench/gdb.py [--rr build/rr] [--runs 3]"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from common import arguments, build_and_record, timed


def main():
    a = arguments(__doc__)
    rr = a.rr
    tmp = tempfile.mkdtemp(prefix="rr-bench-gdb-")
    try:
        trace = build_and_record(rr, tmp, "gdb_target_long.c")
        dump = subprocess.run([rr, "dump", trace], stdout=subprocess.PIPE, text=True).stdout.splitlines()
        events = len(dump)
        late = events - 2000
        timed([rr, "create-checkpoints", "-i", "10000", trace])
        no_auto = dict(os.environ, RR_GDB_AUTO_SNAPSHOTS="0")

        def prompt(extra, env=None):
            return timed([rr, "replay", "-g", str(late), *extra, trace, "--", "-batch", "-nx", "-ex", "when"], env)[0]

        def reverse(extra, env=None):
            total, out = timed([rr, "replay", "-g", str(late), *extra, trace, "--", "-batch", "-nx",
                                "-ex", "break milestone", "-ex", "reverse-continue", "-ex", "when"], env)
            if "Breakpoint 1, milestone" not in out:
                sys.exit("reverse-continue did not stop at milestone:\n" + out[-2000:])
            return total

        rows = []
        for name, extra, env in [("persistent checkpoints (every 10,000 events)", [], None),
                                 ("no persistent checkpoints (--ignore-pcp)", ["--ignore-pcp"], None),
                                 ("neither, nor automatic snapshots", ["--ignore-pcp"], no_auto)]:
            to_prompt = statistics.median(prompt(extra, env) for _ in range(a.runs))
            with_rc = statistics.median(reverse(extra, env) for _ in range(a.runs))
            rows.append((name, to_prompt, with_rc - to_prompt))
        base = rows[0]
        print("gdb late in a trace of %d events (`rr replay -g %d`), median of %d runs\n" % (events, late, a.runs))
        print("| replay seeded from | `rr replay -g` to gdb prompt | one reverse-continue there |")
        print("|---|---|---|")
        for name, t_prompt, t_rc in rows:
            print("| %s | %.3f s (%.1fx) | %.3f s (%.1fx) |" % (name, t_prompt, t_prompt / base[1], t_rc,
                                                            t_rc / base[2] if base[2] > 0 else 0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
