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
        # A checkpoint holds no debug registers: none is made from the
        # tracer's setting of an address in DR0-3 on (PTRACE_POKEUSER), also
        # before DR7 enables it, or a replay from it misses the trap. With
        # a checkpoint asked for at every event around the first such
        # window, the state after the trap through them is replay's.
        pokes = re.finditer(rb"^event (\d+) tid \d+ syscall ptrace\(0x6, (0x[0-9a-f]+), (0x[0-9a-f]+), (0x[0-9a-f]+),",
                            dump.stdout, re.M)
        address = enable = None
        for p in pokes:
            offset, value = int(p.group(3), 16), int(p.group(4), 16)
            if address is None and 0x350 <= offset < 0x370 and value:
                address, tracee = int(p.group(1)), int(p.group(2), 16)
            elif address is not None and offset == 0x388 and value & 0xff:
                enable = int(p.group(1))
                break
        trap = None
        if enable is not None:
            t = re.search(rb"^event (\d+) tid %d signal Trace/breakpoint trap" % tracee, dump.stdout[dump.stdout.find(
                b"event %d " % enable):], re.M)
            trap = int(t.group(1)) if t else None
        if failures.expect(trap is not None, "no debug register set, enabled and trapping in the trace"):
            around = run([rr, "create-checkpoints", "-i", "1", "-s", str(address - 2), "-e", str(trap + 1), trace], timeout=600)
            failures.expect(around.returncode == 0, "create-checkpoints around the debug register failed: %r" % around.stderr)
            listing = run([rr, "checkpoints", "--json", trace])
            points = [e["event"] for e in json.loads(listing.stdout)] if listing.returncode == 0 else []
            inside = [e for e in points if address <= e <= trap]
            failures.expect(not inside and address - 1 in points,
                            "checkpoints at %r, while a debug register its tracer set (event %d, enabled at %d, "
                            "trapping at %d) was set; none was expected there, and one at %d"
                            % (inside, address, enable, trap, address - 1))
            x, y = state(rr, trace, trap + 1), state(rr, trace, trap + 1, "--ignore-pcp")
            failures.expect(x.returncode == 0 and not x.stderr and x.stdout == y.stdout,
                            "rr state -g %d, after the tracer's hardware breakpoint trapped, through a checkpoint "
                            "differs from a replay from the start, or complains: %r" % (trap + 1, x.stderr))
    failures.report("ok: checkpoints of tracers and their tracees agree with replays from the start")


if __name__ == "__main__":
    main()
