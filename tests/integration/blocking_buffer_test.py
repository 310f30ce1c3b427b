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

from testlib import Failures, arguments, dumps_with_and_without_buffer, scratch_dir

failures = Failures()


def main():
    a = arguments(__doc__, program="tests/programs' buffered_blocking, built")
    counts = {}
    with scratch_dir("rr-blocking-", keep_on_failure=True) as d:
        dumps = dumps_with_and_without_buffer(a.rr, a.program, failures, d) or {}
        for name, dump in dumps.items():
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
