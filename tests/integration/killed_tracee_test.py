#!/usr/bin/env python3
"""A program killed with SIGKILL from outside while it records, at whatever
the recorder was doing with it (handling a syscall's stop, an exec, a fork,
a signal, its own calls inside the program): rr records the death as the
program's end and exits as the program did (128 + 9), the trace is finished,
and `rr replay -a` prints what the recording printed and exits the same way.

The moments are random (a sleep of 50 to 400 ms into a program that execs,
forks, maps and signals itself without pause), so one run checks a sample
of them: ROUNDS recordings. A SIGKILL that lands between a stop and the
recorder's look at it used to stop rr with a ptrace error ("PTRACE_GETREGS:
No such process") in about one recording of twenty."""
import os
import random
import signal
import subprocess
import time

from testlib import Failures, arguments, read_first_line, run, scratch_dir

ROUNDS = 24
failures = Failures()


def one_round(rr, prog, trace, delay):
    p = subprocess.Popen([rr, "record", "-q", "-o", trace, prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    first = read_first_line(p.stdout)
    if first != b"ready\n":
        p.kill()
        out, err = p.communicate()
        return "the program did not start under rr: %r %r" % (first, err[-300:])
    time.sleep(delay)
    # rr's one child is the program's first process (an exec keeps its pid).
    kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
    for k in kids:
        os.kill(int(k), signal.SIGKILL)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return "rr did not end within 60 s of the kill"
    out = first + out
    want = 128 + signal.SIGKILL
    if p.returncode != want:
        return "rr exited %d, expected %d (the program's death); stderr %r" % (p.returncode, want, err[-400:])
    rep = run([rr, "replay", "-a", trace], timeout=120)
    if rep.returncode != want or rep.stdout != out or rep.stderr:
        return "replay -a exited %d, printed %r and %r; the recording printed %r" % (
            rep.returncode, rep.stdout[-80:], rep.stderr[-400:], out[-80:])
    return None


def main():
    a = arguments(__doc__, program="tests/signals/exec_churn")
    seed = int(os.environ.get("RR_TEST_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    print("seed %d (RR_TEST_SEED=%d repeats these moments)" % (seed, seed))
    with scratch_dir("rr-killed-", keep_on_failure=True) as tmp:
        for i in range(ROUNDS):
            delay = rng.uniform(0.05, 0.4)
            trace = os.path.join(tmp, "t%d" % i)
            problem = one_round(a.rr, a.program, trace, delay)
            if problem:
                failures.append("round %d (kill after %.3f s, trace %s): %s" % (i, delay, trace, problem))
            else:
                print("ok: round %d, killed after %.3f s, recorded and replayed" % (i, delay))
                subprocess.run(["rm", "-rf", trace])
        # Inside the block: a failure leaves the folder for whoever debugs it.
        failures.report("%d programs killed from outside recorded their death and replayed it" % ROUNDS)


if __name__ == "__main__":
    main()
