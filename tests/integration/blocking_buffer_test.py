#!/usr/bin/env python3
"""Calls that may block go through the syscall buffer without a ptrace stop
when they do not block (docs/syscall-buffer.md, "Blocking calls").

tests/programs/buffered_blocking ping-pongs 300 times between two threads
over two pipes and over a futex, runs a producer whose reader mostly finds
data waiting, and a forked child ping-pong. Recorded with the buffer and
without it:
- both recordings print what the program prints natively, and each replay
  prints the same;
- with the buffer, no futex wake and almost no pipe write is an event of
  its own (a write is one only when its thread was switched out while its
  desched event was armed), most of the producer's reads are records, and
  the trace has at most three quarters of the events of the other (each
  blocking read or wait still is an event: another thread must run);
- the waits that blocked became traced calls: futex waits are events in
  both traces;
- over a socket pair, no recv and almost no send is an event with the
  buffer, and the polls that find data waiting are records (a hundred
  fewer poll events)."""
import re

from testlib import Failures, arguments, run, scratch_dir, show

failures = Failures()


def events(rr, trace):
    dump = run([rr, "dump", trace], text=True)
    failures.expect(dump.returncode == 0, "rr dump %s failed: %s" % (trace, show(dump.stderr)))
    return dump.stdout


def main():
    a = arguments(__doc__, program="tests/programs' buffered_blocking, built")
    native = run([a.program], text=True)
    if native.returncode != 0:
        failures.expect(False, "the program failed natively: %s" % show(native.stderr))
        failures.report("")
    counts = {}
    with scratch_dir("rr-blocking-", keep_on_failure=True) as d:
        for name, flags in (("buffered", []), ("plain", ["--no-syscall-buffer"])):
            trace = "%s/%s" % (d, name)
            rec = run([a.rr, "record", "-q", "-o", trace] + flags + [a.program], text=True, timeout=120)
            failures.expect(rec.returncode == 0 and rec.stdout == native.stdout,
                            "%s: record printed %r (status %d), natively %r; %s"
                            % (name, rec.stdout, rec.returncode, native.stdout, show(rec.stderr)))
            rep = run([a.rr, "replay", "-a", trace], text=True, timeout=120)
            failures.expect(rep.returncode == 0 and rep.stdout == native.stdout,
                            "%s: replay printed %r (status %d); %s" % (name, rep.stdout, rep.returncode, show(rep.stderr)))
            dump = events(a.rr, trace)
            counts[name] = {
                "events": len(re.findall(r"^event ", dump, re.M)),
                "wakes": len(re.findall(r"syscall futex\(0x[0-9a-f]+, 0x81,", dump)),
                "waits": len(re.findall(r"syscall futex\(0x[0-9a-f]+, 0x80,", dump)),
                "pipe writes": len(re.findall(r"syscall write\(0x[0-9a-f]+, 0x[0-9a-f]+, 0x(1|64),", dump)),
                "records": sum(int(n) for n in re.findall(r"\((\d+) calls\)", dump)),
                "socket calls": len(re.findall(r"syscall (?:recvfrom|sendto)\(", dump)),
                "polls": len(re.findall(r"syscall (?:poll|epoll_wait)\(", dump)),
            }
    b, p = counts.get("buffered"), counts.get("plain")
    if b and p:
        failures.expect(p["wakes"] >= 300 and b["wakes"] <= 10,
                        "futex wakes that are events: %d with the buffer, %d without (expected at most 10, at least 300)"
                        % (b["wakes"], p["wakes"]))
        failures.expect(p["pipe writes"] >= 1000 and b["pipe writes"] <= p["pipe writes"] // 10,
                        "pipe writes that are events: %d with the buffer, %d without (expected a tenth at most)"
                        % (b["pipe writes"], p["pipe writes"]))
        failures.expect(b["waits"] >= 100 and p["waits"] >= 100,
                        "futex waits that are events: %d with the buffer, %d without (both block)" % (b["waits"], p["waits"]))
        failures.expect(b["records"] >= 1000, "%d buffered records (expected 1000 and more)" % b["records"])
        failures.expect(p["socket calls"] >= 1600 and b["socket calls"] <= p["socket calls"] // 10,
                        "recv and send that are events: %d with the buffer, %d without (expected a tenth at most)"
                        % (b["socket calls"], p["socket calls"]))
        # The consumer's 160 or so polls find data waiting: records, not events.
        failures.expect(p["polls"] >= 700 and b["polls"] + 100 <= p["polls"],
                        "polls and epoll_waits that are events: %d with the buffer, %d without (expected 100 fewer)"
                        % (b["polls"], p["polls"]))
        failures.expect(b["events"] * 4 <= p["events"] * 3,
                        "%d events with the buffer, %d without (expected three quarters at most)" % (b["events"], p["events"]))
    failures.report("ok: events with the buffer / without: %s / %s" % (b, p))


main()
