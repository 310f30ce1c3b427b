#!/usr/bin/env python3
"""Checkpoints while one tracee traces another: a recording of the tracer
program (ptrace_tracer: tracees held at syscall entries and exits, signal
stops, single steps, emulated syscalls, debug registers) gets checkpoints
every few dozen events, close to every requested point, and the state
reached through each (and a few events after it) equals the state a replay
from the start reaches; a replay from a late checkpoint prints the same
tail as one from the start."""
import json
import os
import re

from testlib import Failures, arguments, run, scratch_dir

failures = Failures()


def state(rr, trace, event, *extra):
    return run([rr, "state", "-g", str(event)] + list(extra) + [trace], timeout=120)


def main():
    a = arguments(__doc__, program="the tracer program (ptrace_tracer)")
    rr = a.rr
    with scratch_dir("rr-tracer-cp-") as d:
        trace = os.path.join(d, "t")
        r = run([rr, "record", "-q", "-o", trace, a.program])
        if r.returncode != 0:
            failures.append("recording failed: %r" % r.stderr)
            failures.report("")
        dump = run([rr, "dump", trace])
        last = len(re.findall(rb"^event \d+ ", dump.stdout, re.M))
        failures.expect(last > 500, "expected a long trace, got %d events" % last)
        interval = max(20, last // 24)
        made = run([rr, "create-checkpoints", "-i", str(interval), trace], timeout=600)
        failures.expect(made.returncode == 0, "create-checkpoints failed: %r" % made.stderr)
        m = re.search(rb"requested (\d+) .*achieved (\d+)", made.stdout)
        failures.expect(m is not None, "create-checkpoints did not report what it achieved: %r" % made.stdout)
        if m:
            asked, got = int(m.group(1)), int(m.group(2))
            # A point can be skipped while a single step or a tracer's debug
            # register is pending; most are not.
            failures.expect(got >= asked * 3 // 4, "only %d of %d requested checkpoints: %r" % (got, asked, made.stdout))
        listing = run([rr, "checkpoints", "--json", trace])
        entries = json.loads(listing.stdout) if listing.returncode == 0 else []
        points = [e["event"] for e in entries]
        picks = points[:: max(1, len(points) // 10)]
        for ev in picks + [p + 3 for p in picks[1::2]]:
            if ev >= last:
                continue
            x, y = state(rr, trace, ev), state(rr, trace, ev, "--ignore-pcp")
            failures.expect(x.returncode == 0 and not x.stderr and x.stdout == y.stdout,
                            "rr state -g %d through a checkpoint differs from a replay from the start, or complains: %r"
                            % (ev, x.stderr))
        if points:
            tail = run([rr, "replay", "-a", "-g", str(points[len(points) * 2 // 3]), trace])
            whole = run([rr, "replay", "-a", "-g", str(points[len(points) * 2 // 3]), "--ignore-pcp", trace])
            failures.expect(tail.returncode == 0 and tail.stdout == whole.stdout and b"child 9 exited" in tail.stdout,
                            "a replay from a checkpoint prints another tail: %r | %r" % (tail.stdout[-200:], tail.stderr))
    failures.report("ok: checkpoints of tracers and their tracees agree with replays from the start")


if __name__ == "__main__":
    main()
