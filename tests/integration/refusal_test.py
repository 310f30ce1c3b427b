#!/usr/bin/env python3
"""What recording cannot follow stops it with one line naming it, and a
non-zero exit: a 32-bit syscall (int $0x80) from a 64-bit program, which
read as the 64-bit call of its number would be recorded wrong."""
import os

from testlib import arguments, fatal, run, scratch_dir


def main():
    a = arguments(__doc__, program="tests/refusals/int80")
    with scratch_dir("rr-refuse-") as tmp:
        rec = run([a.rr, "record", "-q", "-o", os.path.join(tmp, "t"), a.program])
        err = rec.stderr.decode()
        if rec.returncode == 0:
            fatal("recording an int $0x80 syscall exited 0: %r" % err)
        if "32-bit syscalls (int $0x80, number 20) are not supported yet" not in err:
            fatal("expected the refusal to name int $0x80 and the number; got %r" % err)
        if b"getpid" in rec.stdout:
            fatal("the program went on past the refused call: %r" % rec.stdout)
        print("ok: %s" % err.strip())


if __name__ == "__main__":
    main()
