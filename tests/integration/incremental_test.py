#!/usr/bin/env python3
"""Incremental checkpoints: ten checkpoints of a process whose 16 MiB of
random heap barely changes cost at most 1.5x the bytes of one full
checkpoint (and far less than ten full ones), each built on the one
before; every one restores to the
state a replay from the start reaches; removing a base that others need is
refused, naming them; a base that is missing, damaged or written again is
reported in one line and the incremental checkpoint skipped, with the same
state in the end."""
import json
import os
import re
import shutil

from testlib import Failures, arguments, run, scratch_dir

failures = Failures()


def listing(rr, trace):
    r = run([rr, "checkpoints", "--json", trace])
    failures.expect(r.returncode == 0, "rr checkpoints --json failed: %r" % r.stderr)
    return json.loads(r.stdout) if r.returncode == 0 else []


def state(rr, trace, event, *extra):
    return run([rr, "state", "-g", str(event)] + list(extra) + [trace], timeout=120)


def main():
    a = arguments(__doc__, program="a tracee whose memory barely changes (barely_changes)")
    rr = a.rr
    with scratch_dir("rr-incr-") as d:
        trace = os.path.join(d, "t")
        r = run([rr, "record", "-q", "-o", trace, a.program])
        if r.returncode != 0:
            failures.append("recording failed: %r" % r.stderr)
            failures.report("")
        # From the first turn on (the heap is filled by then): its getppid's
        # event, the first that is not the syscall buffer's desched request.
        dump = run([rr, "dump", trace], text=True).stdout
        turns = [int(m.group(1)) for m in re.finditer(r"^event (\d+) tid \d+ syscall getppid\((?!0x72726473,)", dump, re.M)]
        if len(turns) != 400:
            failures.append("expected the 400 turns' getppid events, found %d" % len(turns))
            failures.report("")
        span = ["-s", str(turns[0]), "-i", "40", "-e", str(turns[0] + 380)]
        made = run([rr, "create-checkpoints"] + span + [trace], timeout=300)
        failures.expect(made.returncode == 0, "create-checkpoints failed: %r" % made.stderr)
        m = re.search(rb"wrote (\d+) checkpoints \((\d+) incremental\)", made.stdout)
        failures.expect(m and int(m.group(1)) >= 10 and int(m.group(2)) == int(m.group(1)) - 1,
                        "expected one full checkpoint and incremental ones: %r" % made.stdout)
        entries = listing(rr, trace)
        sizes = [e["bytes"] for e in entries]
        failures.expect(len(sizes) >= 10, "expected 10+ checkpoints, got %r" % entries)
        if sizes:
            failures.expect(sum(sizes[:10]) <= 1.5 * sizes[0],
                            "ten checkpoints take %d bytes, more than 1.5x the first (%d)" % (sum(sizes[:10]), sizes[0]))
            failures.expect(all(e["version"].startswith("5.") for e in entries[1:]) and not entries[0]["version"].startswith("5."),
                            "the first checkpoint is full, the others incremental (5.x): %r" % [e["version"] for e in entries])
        # Fidelity: at and between checkpoints, the state equals a replay's.
        points = [e["event"] for e in entries]
        for ev in points[1::3] + [p + 7 for p in points[2::4]]:
            x, y = state(rr, trace, ev), state(rr, trace, ev, "--ignore-pcp")
            failures.expect(x.returncode == 0 and not x.stderr and x.stdout == y.stdout,
                            "rr state -g %d through an incremental checkpoint differs or complains: %r" % (ev, x.stderr))
        tail = run([rr, "replay", "-a", "-g", str(points[-1]), trace])
        whole = run([rr, "replay", "-a", "--ignore-pcp", trace])
        failures.expect(tail.returncode == 0 and tail.stdout == whole.stdout and b"sum" in tail.stdout,
                        "replay on from the last incremental checkpoint prints %r, from the start %r" % (tail.stdout, whole.stdout))
        # Full checkpoints of the same points, for comparison.
        full = os.path.join(d, "full")
        shutil.copytree(trace, full, ignore=shutil.ignore_patterns("checkpoints"))
        run([rr, "create-checkpoints"] + span + ["--full", full], timeout=300)
        full_sizes = [e["bytes"] for e in listing(rr, full)]
        failures.expect(len(full_sizes) == len(sizes) and sum(full_sizes) > 3 * sum(sizes),
                        "full checkpoints (%r) should cost several times incremental ones (%r)" % (full_sizes, sizes))
        print("incremental %d bytes, full %d bytes" % (sum(sizes), sum(full_sizes)))

        base, second, third = points[0], points[1], points[2]
        reference = state(rr, trace, third + 3, "--ignore-pcp").stdout
        # Removing the base alone is refused and removes nothing.
        r = run([rr, "checkpoints", "rm", str(base), trace])
        failures.expect(r.returncode != 0 and b"is the base of incremental checkpoint" in r.stderr and
                        len(listing(rr, trace)) == len(points), "rm of a base: %r" % r.stderr)
        # A damaged base: the incremental one is skipped in one line.
        path = os.path.join(trace, "checkpoints", "%d.rrcp" % base)
        saved = open(path, "rb").read()
        failures.expect(len(saved) > 8192, "the base is too small to damage a block of it")
        with open(path, "r+b") as f:
            f.seek(4096 + 100)
            f.write(b"\xff" * 64)
        r = state(rr, trace, third + 3)
        failures.expect(r.returncode == 0 and r.stdout == reference and b"skipping checkpoint" in r.stderr,
                        "a damaged base: %r" % r.stderr)
        # A base written again at its event is another file: reported.
        del saved
        os.unlink(path)
        run([rr, "create-checkpoints", "-s", str(base), "-e", str(base), "--full", trace])
        failures.expect(os.path.exists(path), "create-checkpoints did not write the base again")
        r = state(rr, trace, third + 3)
        failures.expect(r.returncode == 0 and r.stdout == reference and b"another checkpoint than the one" in r.stderr,
                        "a base written again: %r" % r.stderr)
        # A missing base.
        os.unlink(path)
        r = state(rr, trace, second)
        failures.expect(r.returncode == 0 and b"is missing" in r.stderr, "a missing base: %r" % r.stderr)
        # With its dependents, a base goes.
        run([rr, "create-checkpoints", "-i", "40", "-e", "200", "--full", trace])
        r = run([rr, "checkpoints", "rm", "--all", trace])
        failures.expect(r.returncode == 0 and listing(rr, trace) == [], "rm --all: %r" % r.stderr)
    failures.report("ok: incremental checkpoints")


if __name__ == "__main__":
    main()
