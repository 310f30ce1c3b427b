#!/usr/bin/env python3
"""rr create-checkpoints -j N: the stretches between the checkpoints a trace
already has are replayed by several processes at once, and the result
equals a serial run's: the same report (requested and achieved points), a
checkpoint at the same events, and at each of them the same state (which is
also a replay's from the start). A second pass keeps the checkpoints it
finds at its points. Bad -j values are refused in one line."""
import os
import re
import shutil

from testlib import Failures, arguments, fatal, run, scratch_dir, show, state_at, usable_checkpoint_events

failures = Failures()


def events_of(rr, trace):
    return usable_checkpoint_events(rr, trace, failures)


def state(rr, trace, event, *extra):
    return state_at(rr, trace, event, *extra, timeout=120)


def main():
    a = arguments(__doc__, program="a tracee whose memory barely changes (barely_changes)")
    rr = a.rr
    with scratch_dir("rr-par-") as d:
        trace = os.path.join(d, "t")
        if run([rr, "record", "-q", "-o", trace, a.program]).returncode != 0:
            fatal("recording %s failed" % a.program)
        # The checkpoints the trace already has (as a recording with
        # checkpoints would leave): the segments' starts.
        r = run([rr, "create-checkpoints", "--full", "-s", "100", "-i", "100", "-e", "300", trace], timeout=300)
        failures.expect(r.returncode == 0, "the first checkpoints: %s" % show(r.stderr))
        serial, parallel = os.path.join(d, "serial"), os.path.join(d, "parallel")
        shutil.copytree(trace, serial)
        shutil.copytree(trace, parallel)
        grid = ["-s", "20", "-i", "30", "-e", "420"]
        one = run([rr, "create-checkpoints"] + grid + [serial], timeout=300, text=True)
        many = run([rr, "create-checkpoints", "-j", "3"] + grid + [parallel], timeout=300, text=True)
        failures.expect(one.returncode == 0 and many.returncode == 0,
                        "create-checkpoints failed: serial %s, -j 3 %s" % (show(one.stderr), show(many.stderr)))
        requested = lambda out: re.findall(r"^requested .*$", out, re.M)
        failures.expect(requested(one.stdout) and requested(one.stdout) == requested(many.stdout),
                        "the reports differ: serial %r, -j 3 %r" % (one.stdout, many.stdout))
        failures.expect("replayed 4 segments between existing checkpoints, up to 3 at once" in many.stdout,
                        "-j 3 names its 4 segments (cut at 100, 200 and 300): %r" % many.stdout)
        ev_one, ev_many = events_of(rr, serial), events_of(rr, parallel)
        failures.expect(len(ev_one) >= 14 and ev_one == ev_many,
                        "checkpoints at %r serially, at %r with -j 3" % (ev_one, ev_many))
        for ev in ev_many:
            x, y = state(rr, parallel, ev), state(rr, serial, ev)
            failures.expect(x.returncode == 0 and not x.stderr and x.stdout == y.stdout,
                            "rr state -g %d: -j 3's checkpoint %s, serial's %s" % (ev, show(x.stderr), show(y.stderr)))
        for ev in ev_many[1::4]:
            x, z = state(rr, parallel, ev), state(rr, parallel, ev, "--ignore-pcp")
            failures.expect(x.stdout == z.stdout, "rr state -g %d through -j 3's checkpoint differs from a replay's" % ev)
        # A second pass over points that have checkpoints (the full ones at
        # 100, 200 and 300 that later ones were written against, and the
        # grid's) keeps every file: a checkpoint replaced under its name
        # would leave the incremental ones on it unusable.
        before = {n: os.stat(os.path.join(parallel, "checkpoints", n)) for n in os.listdir(os.path.join(parallel, "checkpoints"))}
        for again in (["-s", "100", "-i", "100", "-e", "300"], ["-j", "3"] + grid):
            r = run([rr, "create-checkpoints"] + again + [parallel], timeout=300, text=True)
            failures.expect(r.returncode == 0 and "wrote 0 checkpoints" in r.stdout,
                            "create-checkpoints %s again writes nothing: %s %s" % (" ".join(again), show(r.stdout), show(r.stderr)))
        failures.expect(events_of(rr, parallel) == ev_many, "after the second pass: %r" % events_of(rr, parallel))
        for n, st in before.items():
            now = os.stat(os.path.join(parallel, "checkpoints", n))
            failures.expect((now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), "%s was replaced by the second pass" % n)
        for bad in (["-j", "0"], ["-j", "x"], ["-j"]):
            r = run([rr, "create-checkpoints"] + bad + [parallel], text=True)
            failures.expect(r.returncode != 0 and r.stderr.count("\n") == 1 and "-j needs" in r.stderr,
                            "create-checkpoints %s: one line and a failure, got %d: %r" % (" ".join(bad), r.returncode, r.stderr))
    failures.report("create-checkpoints -j 3 equals the serial run")


if __name__ == "__main__":
    main()
