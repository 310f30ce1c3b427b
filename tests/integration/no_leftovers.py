#!/usr/bin/env python3
"""Runs one test and fails it if any process it started outlives it.

    no_leftovers.py -- COMMAND [ARGS...]

This process becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so every
process the test starts that outlives its parent (a tracee, rr's PID
namespace init, a gdb) is reparented here instead of to pid 1, and reaped
here when it ends, as pid 1 would. After the test ends, anything still alive a few seconds later is reported by pid and
command line, killed, and fails the test; the test's own status is kept
otherwise."""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 5.0


def children(me):
    """Live (not zombie) processes whose parent is `me`: (pid, command)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            state, ppid = fields[0], int(fields[1])
            if ppid != me or state in "ZX":
                continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            out.append((int(name), cmd))
        except (OSError, ValueError):
            continue
    return out


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: no_leftovers.py -- COMMAND [ARGS...]")
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("FAIL: cannot become a child subreaper: errno %d" % ctypes.get_errno())
        return 1
    # Reaps as pid 1 would while the test runs: an orphan that ends is
    # collected at once. A zombie left unreaped here would hold up what waits
    # for it: a PID namespace's init, killed with rr, ends only once every
    # task of its namespace is reaped, and tasks rr forked into it are
    # reparented here when rr dies.
    test = subprocess.Popen(argv)
    while True:
        pid, wstatus = os.waitpid(-1, 0)
        if pid == test.pid:
            status = os.waitstatus_to_exitcode(wstatus)
            test.returncode = status  # reaped here; Popen must not wait for it
            break
    me = os.getpid()
    deadline = time.monotonic() + GRACE_SECONDS
    left = children(me)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        reap()
        left = children(me)
    if not left:
        return status
    sys.stdout.flush()
    print("FAIL: %d process(es) outlived the test by %.0f s:" % (len(left), GRACE_SECONDS))
    for pid, cmd in left:
        print("  pid %d: %s" % (pid, cmd))
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.2)
    reap()
    return 1


if __name__ == "__main__":
    sys.exit(main())
