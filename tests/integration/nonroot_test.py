#!/usr/bin/env python3
"""rr used by an ordinary user: record, replay (in user and PID namespaces
of its own), states, persistent checkpoints and in-memory copies through
rrtest.py, and a gdb session, all run as `nobody`. Nothing here needs root
except switching to that user. The binaries are copied where that user can
read them (a build directory under /root is not)."""
import argparse
import os
import shutil
import subprocess
import sys

from testlib import Failures, fatal, run, scratch_dir

failures = Failures()


def as_user(user, argv, timeout=300, cwd=None):
    return run(["runuser", "-u", user, "--"] + argv, timeout=timeout, cwd=cwd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rr", required=True)
    ap.add_argument("--bindir", required=True, help="the built test programs")
    ap.add_argument("--rrtest", required=True)
    ap.add_argument("--user", default="nobody")
    ap.add_argument("programs", nargs="+")
    a = ap.parse_args()
    if os.geteuid() != 0:
        # Already an ordinary user: nothing to switch to, run as we are.
        fatal("this test switches to an ordinary user and must start as root")
    with scratch_dir("rr-nonroot-") as tmp:
        os.chmod(tmp, 0o777)
        rr = os.path.join(tmp, "rr")
        shutil.copy2(a.rr, rr)
        rrtest = os.path.join(tmp, "rrtest.py")
        shutil.copy2(a.rrtest, rrtest)
        # What rrtest.py imports, beside it.
        shutil.copy2(os.path.join(os.path.dirname(os.path.abspath(a.rrtest)), "testlib.py"), tmp)
        for name in a.programs:
            shutil.copy2(os.path.join(a.bindir, name), os.path.join(tmp, name))
        for f in os.listdir(tmp):
            os.chmod(os.path.join(tmp, f), 0o755)
        # The system's python: one under /root (pyenv) is not the user's to run.
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        who = as_user(a.user, ["id", "-u"])
        if who.returncode != 0 or who.stdout.strip() == b"0":
            fatal("cannot run as %s: %r" % (a.user, who.stderr))
        for name in a.programs:
            r = as_user(a.user, [python, rrtest, "--rr", rr, "--", os.path.join(tmp, name)], cwd=tmp)
            last = r.stdout.decode(errors="replace").strip().splitlines()[-1:] or [""]
            if r.returncode != 0:
                failures.append("%s as %s: %s %s" % (name, a.user, r.stdout.decode(errors="replace")[-800:],
                                                     r.stderr.decode(errors="replace")[-400:]))
            else:
                print("ok: %s as %s: %s" % (name, a.user, last[0]))
        # gdb: break at main, continue, step back.
        trace = os.path.join(tmp, "gdb-trace")
        prog = os.path.join(tmp, a.programs[0])
        rec = as_user(a.user, [rr, "record", "-q", "-o", trace, prog], cwd=tmp)
        gdb = as_user(a.user, [rr, "replay", trace, "--", "-batch", "-ex", "break main", "-ex", "continue",
                               "-ex", "reverse-stepi", "-ex", "info registers rip"], cwd=tmp)
        out = gdb.stdout.decode(errors="replace")
        if rec.returncode != 0 or gdb.returncode != 0 or "Breakpoint 1, main" not in out or "rip" not in out:
            failures.append("gdb as %s: record %d, gdb %d: %s %s" % (a.user, rec.returncode, gdb.returncode, out[-800:],
                                                                    gdb.stderr.decode(errors="replace")[-400:]))
        else:
            print("ok: gdb as %s: break main, continue, reverse-stepi" % a.user)
        left = subprocess.run(["pgrep", "-u", a.user, "-f", tmp], stdout=subprocess.PIPE)
        if left.stdout.strip():
            failures.append("processes of %s left behind: %r" % (a.user, left.stdout))
    failures.report("all ordinary-user cases hold")


if __name__ == "__main__":
    main()
