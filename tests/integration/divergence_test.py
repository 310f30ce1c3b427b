#!/usr/bin/env python3
"""A replay that differs from its recording is reported, never hidden: a
program feeds an rdrand value into a syscall argument; replay must exit
non-zero with one line naming the event, the task and the register."""
import os
import re

from testlib import arguments, fatal, run, scratch_dir


def main():
    a = arguments(__doc__, program="tests/divergence/rdrand_diverge")
    with scratch_dir("rr-div-") as tmp:
        trace = os.path.join(tmp, "t")
        rec = run([a.rr, "record", "-q", "-o", trace, a.program])
        if rec.returncode != 0 or rec.stdout != b"done\n":
            fatal("recording failed: %r %r" % (rec.stdout, rec.stderr))
        rep = run([a.rr, "replay", "-a", trace], timeout=120)
        err = rep.stderr.decode()
        if rep.returncode == 0:
            fatal("replay of a diverging program exited 0; stderr %r" % err)
        m = re.search(r"^rr: replay diverged at event (\d+), tid (\d+): registers differ at the entry of getppid.*\brdi 0x", err, re.M)
        if not m:
            fatal("expected a divergence naming event, tid, getppid and rdi; got %r" % err)
        if b"done" in rep.stdout:
            fatal("replay went on past the divergence")
        print("ok: %s" % err.strip())


if __name__ == "__main__":
    main()
