#!/usr/bin/env python3
"""A replay that differs from its recording is reported, never hidden: a
program feeds an rdrand value into a syscall argument; replay must exit
non-zero with one line naming the event, the task and the register."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rr", required=True)
    p.add_argument("--program", required=True)
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="rr-div-")
    try:
        trace = os.path.join(tmp, "t")
        rec = subprocess.run([a.rr, "record", "-q", "-o", trace, a.program], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if rec.returncode != 0 or rec.stdout != b"done\n":
            print("FAIL: recording failed: %r %r" % (rec.stdout, rec.stderr))
            sys.exit(1)
        rep = subprocess.run([a.rr, "replay", "-a", trace], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        err = rep.stderr.decode()
        if rep.returncode == 0:
            print("FAIL: replay of a diverging program exited 0; stderr %r" % err)
            sys.exit(1)
        m = re.search(r"^rr: replay diverged at event (\d+), tid (\d+): registers differ at the entry of getppid.*\brdi 0x", err, re.M)
        if not m:
            print("FAIL: expected a divergence naming event, tid, getppid and rdi; got %r" % err)
            sys.exit(1)
        if b"done" in rep.stdout:
            print("FAIL: replay went on past the divergence")
            sys.exit(1)
        print("ok: %s" % err.strip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
