#!/usr/bin/env python3
"""A thread group leader that ends while another thread of its process goes
on (thread_main_exit: main calls pthread_exit) stays a zombie until the
process ends, and no wait reports it; but the kernel's work for its end,
clearing its tid word (the address it gave set_tid_address), is done as it
becomes one. Replay waits for that before the next event, as the recording
does: at the event after the leader's end the word reads 0 in every replay.
Left to the scheduler, it read the leader's tid in some replays and 0 in
others, and `rr state` through a checkpoint and from the start disagreed."""
import re

from testlib import Failures, arguments, run, scratch_dir, show

failures = Failures()


def main():
    a = arguments(__doc__, program="a program whose main thread ends first (thread_main_exit)")
    rr = a.rr
    with scratch_dir("rr-leader-exit-") as d:
        trace = d + "/t"
        r = run([rr, "record", "-q", "-o", trace, a.program], text=True)
        failures.expect(r.returncode == 0, "recording failed: %s" % show(r.stderr))
        dump = run([rr, "dump", trace], text=True).stdout
        first = re.search(r"^event \d+ tid (\d+) ", dump, re.M)
        word = re.search(r"^event \d+ tid %s syscall set_tid_address\((0x[0-9a-f]+)," % (first.group(1) if first else "x"),
                         dump, re.M)
        end = re.search(r"^event (\d+) tid %s exit status 0" % (first.group(1) if first else "x"), dump, re.M)
        if not failures.expect(first and word and end, "no set_tid_address or end of the main thread in the trace"):
            failures.report("")
        after = int(end.group(1)) + 1
        seen = set()
        for _ in range(6):
            m = run([rr, "state", "-g", str(after), "--ignore-pcp", "--memory", word.group(1), "4", trace], text=True)
            failures.expect(m.returncode == 0, "rr state --memory failed: %s" % show(m.stderr))
            seen.add(" ".join(m.stdout.split()[1:5]))
        failures.expect(seen == {"00 00 00 00"},
                        "the leader's tid word at event %d (after its end), in six replays: %r; 00 00 00 00 expected"
                        % (after, sorted(seen)))
    failures.report("ok: a leader's tid word is cleared before the next event")


if __name__ == "__main__":
    main()
