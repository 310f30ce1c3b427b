#!/usr/bin/env python3
"""Signals sent to rr while it records end nothing half-way. SIGINT, SIGTERM
and SIGHUP sent to rr alone reach the program as they would natively; sent
to the whole process group, the program sees each once; a second interrupt
within a few seconds kills the program at once. In every case the trace is
finished (dump exits 0) and `rr replay -a` prints what the recording
printed."""
import os
import signal
import subprocess
import time

from testlib import Failures, arguments, read_first_line, run, scratch_dir

failures = Failures()


def start(rr, trace, prog, mode):
    # A session of its own, so that a group signal reaches rr and the
    # program but not this test.
    p = subprocess.Popen([rr, "record", "-q", "-o", trace, prog, mode], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    first = read_first_line(p.stdout)
    if first != b"ready\n":
        p.kill()
        raise RuntimeError("the program did not start under rr: %r %r" % (first, p.stderr.read()))
    time.sleep(0.2)  # some lines recorded
    return p


def finish(rr, name, p, trace, want_status, want_last=None, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        failures.append("%s: rr did not end within %d s" % (name, timeout))
        return
    out = b"ready\n" + out
    if p.returncode != want_status:
        failures.append("%s: rr exited %d, expected %d; stderr %r" % (name, p.returncode, want_status, err[-400:]))
        return
    if want_last is not None and not out.endswith(want_last):
        failures.append("%s: the program's last line is %r, expected %r" % (name, out[-80:], want_last))
        return
    dump = run([rr, "dump", trace], stdout=subprocess.DEVNULL)
    if dump.returncode != 0:
        failures.append("%s: the trace is not finished: %r" % (name, dump.stderr))
        return
    rep = run([rr, "replay", "-a", trace], timeout=120)
    if rep.returncode != want_status or rep.stdout != out:
        failures.append("%s: replay -a exited %d and printed %d bytes, the recording %d; stderr %r"
                        % (name, rep.returncode, len(rep.stdout), len(out), rep.stderr[-400:]))
        return
    print("ok: %s: %d lines recorded and replayed" % (name, out.count(b"\n")))


def main():
    a = arguments(__doc__, program="tests/signals/interruptible", group_signal="tests/signals/group_signal")
    with scratch_dir("rr-outside-") as tmp:
        # A program that signals its own process group, rr included (a
        # session of its own, natively too).
        native = run([a.group_signal], new_session=True)
        trace = os.path.join(tmp, "group")
        rec = run([a.rr, "record", "-q", "-o", trace, a.group_signal], timeout=60, new_session=True)
        rep = run([a.rr, "replay", "-a", trace], timeout=60)
        if rec.returncode != native.returncode or rec.stdout != native.stdout or rep.returncode != 0 or rep.stdout != rec.stdout:
            failures.append("a program signalling its group: native %d %r, record %d %r (stderr %r), replay %d %r"
                            % (native.returncode, native.stdout, rec.returncode, rec.stdout, rec.stderr[-300:],
                               rep.returncode, rep.stdout))
        else:
            print("ok: a program signalling its own group: %r" % rec.stdout)
        n = 0
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            name = signal.Signals(sig).name
            # To rr alone: the program gets it (its handler runs once).
            n += 1
            trace = os.path.join(tmp, "t%d" % n)
            p = start(a.rr, trace, a.program, "handle")
            os.kill(p.pid, sig)
            counts = {s: int(s == sig) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
            want = ("SIGINT %d SIGTERM %d SIGHUP %d\n" % (counts[signal.SIGINT], counts[signal.SIGTERM],
                                                          counts[signal.SIGHUP])).encode()
            finish(a.rr, "%s to rr, program handles it" % name, p, trace, 0, want)
            # To the process group: the program sees it once, not twice.
            n += 1
            trace = os.path.join(tmp, "t%d" % n)
            p = start(a.rr, trace, a.program, "handle")
            os.killpg(p.pid, sig)
            finish(a.rr, "%s to the group, program handles it" % name, p, trace, 0, want)
            # No handler: the program dies of it, and rr says so.
            n += 1
            trace = os.path.join(tmp, "t%d" % n)
            p = start(a.rr, trace, a.program, "default")
            os.kill(p.pid, sig)
            finish(a.rr, "%s to rr, program dies of it" % name, p, trace, 128 + sig)
        # Ignored: the program goes on; a second interrupt stops everything.
        n += 1
        trace = os.path.join(tmp, "t%d" % n)
        p = start(a.rr, trace, a.program, "ignore")
        os.kill(p.pid, signal.SIGINT)
        time.sleep(0.5)
        if p.poll() is not None:
            failures.append("an ignored SIGINT ended the recording")
        os.kill(p.pid, signal.SIGINT)
        finish(a.rr, "second SIGINT within 3 s", p, trace, 128 + signal.SIGKILL)
    failures.report("all outside-signal cases hold")


if __name__ == "__main__":
    main()
