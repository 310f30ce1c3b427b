#!/usr/bin/env python3
"""Write tracking of incremental checkpoints: a checkpoint at every event of
a program that changes its memory by every road between two syscalls
(tests/programs/write_roads.c: a store, a syscall output replay writes, one
the kernel writes, a signal frame, a thread, mremap, MADV_DONTNEED, a
private file page dropped and read back, mprotect, a new mapping, brk, a
fork child). Each checkpoint is incremental on the one before and takes
the pages write tracking reports unwritten from it without reading them;
RR_VERIFY_WRITE_TRACKING=1 reads them anyway and fails the command on the
first that differs. Then every checkpoint's state must equal a replay's
from the start, and replay on from the last one must print what a whole
replay prints."""
import os
import re

from testlib import Failures, arguments, run, scratch_dir

failures = Failures()


def main():
    a = arguments(__doc__, program="tests/programs/write_roads built")
    rr = a.rr
    with scratch_dir("rr-wtrack-") as d:
        trace = os.path.join(d, "t")
        # Without the syscall buffer every syscall is an event, so each road
        # has a stretch between two checkpoints of its own.
        r = run([rr, "record", "-q", "--no-syscall-buffer", "-o", trace, a.program])
        if r.returncode != 0:
            failures.append("recording failed: %r" % r.stderr)
            failures.report("")
        dump = run([rr, "dump", trace], text=True).stdout
        marks = [int(m.group(1)) for m in re.finditer(r"^event (\d+) tid \d+ syscall getppid\(", dump, re.M)]
        if len(marks) < 15:
            failures.append("expected the program's getppid marks, found %d" % len(marks))
            failures.report("")
        first, last = marks[0], marks[-1] + 2
        env = dict(os.environ, RR_VERIFY_WRITE_TRACKING="1")
        env.pop("RR_WRITE_TRACKING", None)
        made = run([rr, "create-checkpoints", "-s", str(first), "-i", "1", "-e", str(last), trace], env=env, timeout=600)
        failures.expect(made.returncode == 0, "create-checkpoints with verification failed: %r" % made.stderr[-2000:])
        m = re.search(rb"wrote (\d+) checkpoints \((\d+) incremental\)", made.stdout)
        failures.expect(m and int(m.group(1)) >= last - first - 5 and int(m.group(2)) >= int(m.group(1)) * 8 // 10,
                        "expected a checkpoint at nearly every event, most incremental: %r" % made.stdout)
        # The tracking was used: pages known unchanged, not read.
        t = re.search(rb"write tracking: (\d+) of the (\d+) resident bytes", made.stdout)
        failures.expect(t and int(t.group(1)) > 0 and int(t.group(1)) < int(t.group(2)),
                        "expected write tracking to leave some resident pages unread: %r" % made.stdout)
        listing = run([rr, "checkpoints", trace], text=True).stdout
        points = [int(x) for x in re.findall(r"^(\d+)\s", listing, re.M)]
        failures.expect(len(points) >= last - first - 5, "rr checkpoints lists %d checkpoints" % len(points))
        differ = []
        for ev in points:
            x = run([rr, "state", "-g", str(ev), trace], timeout=120)
            y = run([rr, "state", "-g", str(ev), "--ignore-pcp", trace], timeout=120)
            if x.returncode != 0 or x.stderr or x.stdout != y.stdout:
                differ.append((ev, x.stderr[-300:]))
        failures.expect(not differ, "rr state through these checkpoints differs from a replay's: %r" % differ[:3])
        tail = run([rr, "replay", "-a", "-g", str(points[-1]), trace])
        whole = run([rr, "replay", "-a", "--ignore-pcp", trace])
        # The fork child printed before the last checkpoint: the rest is the same.
        failures.expect(tail.returncode == 0 and whole.stdout.endswith(tail.stdout) and b"fresh: N" in tail.stdout,
                        "replay on from the last checkpoint prints %r, from the start %r" % (tail.stdout, whole.stdout))
        print("%d checkpoints, %s" % (len(points), t.group(0).decode() if t else "no tracking"))

        # A checkpoint between the two mmaps of the pair the kernel merges,
        # none between the second and the mremap that grows both: had the
        # second stayed unregistered beside the registered first, the two
        # would stay apart and the mremap fail (replay registers it as it
        # maps it, and the kernel merges them).
        pair = re.search(r"^event (\d+) tid \d+ syscall mmap\(0x[0-9a-f]+, 0x2000, 0x3, 0x32,.*\n"
                         r"(?:.*\n)??event (\d+) tid \d+ syscall getppid.*\n"
                         r"event (\d+) tid \d+ syscall mmap\(0x[0-9a-f]+, 0x2000, 0x3, 0x32,.*\n"
                         r"(?:.*\n)??event \d+ tid \d+ syscall getppid.*\n"
                         r"event (\d+) tid \d+ syscall mremap\(0x[0-9a-f]+, 0x4000, 0x8000,", dump, re.M)
        failures.expect(pair, "the pair's two mmaps and mremap not found in the dump")
        if pair:
            lo, mremap = int(pair.group(1)), int(pair.group(4))
            run([rr, "checkpoints", "rm", "--all", trace])
            made = run([rr, "create-checkpoints", "-s", str(lo + 1), "-i", str(mremap - lo + 1), "-e", str(mremap + 2), trace],
                       env=env, timeout=300)
            failures.expect(made.returncode == 0 and b"wrote 2 checkpoints" in made.stdout,
                            "create-checkpoints over the pair's mremap: %r" % made.stderr[-1500:])
            after = mremap + 2
            x = run([rr, "state", "-g", str(after), trace], timeout=120)
            y = run([rr, "state", "-g", str(after), "--ignore-pcp", trace], timeout=120)
            failures.expect(x.returncode == 0 and x.stdout == y.stdout, "rr state -g %d after the mremap differs" % after)
    failures.report("ok: write tracking")


if __name__ == "__main__":
    main()
