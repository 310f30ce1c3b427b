#!/usr/bin/env python3
"""The recorder's own processes, at an event, are in the state replay
rebuilds there: with RR_RECORD_STATE=N:DIR the recorder writes, every N
events, its state in `rr state`'s form (memory named by the trace's files,
rr's own pages as replay has them, registers, fd tables, and replay's
counters derived from the frames), and each equals what `rr state -g E`
prints for the finished trace. What a writer of checkpoints that copies the
recorded processes (not a replay) needs to hold. The programs cover
threads, forks, a full syscall buffer and blocking buffered calls, threads
preempted by the progress counter and parked at a spin site, handlers that
read their signal frames (uc_stack), and python3. A thread held inside a
blocking call whose entry is an event is written as replay holds it, with
the entry's registers and FPU state. For each program: some states are
compared, none differs, and the events skipped are skipped for a reason the
recorder names (a thread inside a syscall it cannot hold there, or that ran
while its state was read, or parked at a spin site, a signal's delivery, a
file replay emulates) that the test knows; a bad value of the variable is
refused in one line."""
import os
import re

from testlib import Failures, arguments, run, scratch_dir, show, show_difference, states_in_one_replay

failures = Failures()
KNOWN_SKIPS = re.compile(r"^(task \d+ is inside a syscall|task \d+ is inside a syscall \(.*\)|"
                         r"task \d+ has a stop not handled yet inside \w+|"
                         r"task \d+ left its syscall's sleep|task \d+ ran in its syscall while its state was read|"
                         r"task \d+ is parked at a spin site .*|a signal's delivery: .*|"
                         r"the program maps .* a file replay emulates|the program maps a System V segment, .*|"
                         r"the program's first process has ended)$")


def first_signal(rr, trace):
    """The event of the trace's first signal delivery (rr dump), or None."""
    r = run([rr, "dump", trace], text=True, timeout=300)
    m = re.search(r"^event (\d+) tid \d+ signal ", r.stdout, re.M)
    return int(m.group(1)) if m else None


def check(rr, scratch, name, argv, every, after_signal=False, held=False):
    states = os.path.join(scratch, name + "-states")
    trace = os.path.join(scratch, name + "-trace")
    os.mkdir(states)
    env = dict(os.environ, RR_RECORD_STATE="%d:%s" % (every, states))
    r = run([rr, "record", "-q", "-o", trace] + argv, env=env, text=True, timeout=300)
    if not failures.expect(r.returncode == 0, "%s: rr record failed: %s" % (name, show(r.stderr))):
        return
    compared = skipped = with_held = 0
    files = sorted(os.listdir(states), key=lambda f: int(f.split(".")[0]))
    # Replay's states at every event the recorder wrote, from one replay.
    wanted = [int(f.split(".")[0]) for f in files if not f.endswith(".skip")]
    replayed = states_in_one_replay(rr, trace, wanted) if wanted else {}
    if not failures.expect(not isinstance(replayed, str), "%s: %s" % (name, replayed)):
        return
    for f in files:
        event = int(f.split(".")[0])
        with open(os.path.join(states, f)) as fp:
            text = fp.read()
        failures.expect(event % every == 0, "%s: a state at event %d, not a multiple of %d" % (name, event, every))
        if f.endswith(".skip"):
            skipped += 1
            failures.expect(KNOWN_SKIPS.match(text.strip()) is not None,
                            "%s: event %d skipped for a reason the test does not know: %s" % (name, event, text.strip()))
            continue
        compared += 1
        # A thread held at a call's entry shows rax -ENOSYS (a thread at an
        # event shows its call's result).
        with_held += "\n  rax 0xffffffffffffffda\n" in text
        got = replayed[event].decode()
        failures.expect(got == text, "%s: at event %d the recording's state differs from replay's: %s"
                        % (name, event, show_difference(text, got, ("recording", "replay"))))
    failures.expect(compared >= 3, "%s: %d states compared (%d skipped), at least 3 expected" % (name, compared, skipped))
    # Every multiple of N up to the last file has one, compared or skipped.
    last = int(files[-1].split(".")[0]) if files else 0
    failures.expect(len(files) == last // every, "%s: %d state files for the %d points up to event %d"
                    % (name, len(files), last // every, last))
    if after_signal:
        # The frames a handler read are on the stack: states after it count.
        sig = first_signal(rr, trace)
        later = [int(f) for f in files if not f.endswith(".skip") and sig is not None and int(f) > sig]
        failures.expect(sig is not None and len(later) >= 2, "%s: %d states compared after the first signal (event %s)"
                        % (name, len(later), sig))
    if held:
        failures.expect(with_held >= 3, "%s: %d states compared with a thread held at a call's entry, at least 3 "
                        "expected" % (name, with_held))
    print("%s: %d states equal to replay's (%d with a thread held at a call's entry), %d skipped"
          % (name, compared, with_held, skipped))


def main():
    a = arguments(__doc__, threads="a program with threads", forks="a program that forks",
                  buffered="a program whose reads fill the syscall buffer", pingpong="threads preempted by the counter",
                  signals="a program whose handlers read their signal frames", spin="a thread parked at a spin site",
                  waits="buffered calls that block")
    with scratch_dir("rr-record-state-") as scratch:
        check(a.rr, scratch, "ls", ["ls", "-l", "/"], 7)
        check(a.rr, scratch, "threads", [a.threads], 5)
        check(a.rr, scratch, "forks", [a.forks], 3)
        check(a.rr, scratch, "buffered", [a.buffered], 7)
        check(a.rr, scratch, "pingpong", [a.pingpong], 11)
        check(a.rr, scratch, "signals", [a.signals], 3, after_signal=True)
        check(a.rr, scratch, "spin", [a.spin], 3)
        check(a.rr, scratch, "waits", [a.waits], 5, held=True)
        check(a.rr, scratch, "python3", ["python3", "-c", "import json, re; print(json.dumps([1]))"], 9)
        # A bad value: one line, no trace.
        for bad in ("0:" + scratch, "5", "x:" + scratch, "5:", "-5:" + scratch, "99999999999999999999:" + scratch,
                    "5:" + os.path.join(scratch, "missing")):
            bad_trace = os.path.join(scratch, "bad")
            r = run([a.rr, "record", "-q", "-o", bad_trace, "true"], env=dict(os.environ, RR_RECORD_STATE=bad), text=True)
            lines = r.stderr.strip().splitlines()
            failures.expect(r.returncode != 0 and len(lines) == 1 and "RR_RECORD_STATE" in r.stderr,
                            "RR_RECORD_STATE=%s: expected one line and a failure, got %d: %s"
                            % (bad, r.returncode, show(r.stderr)))
            failures.expect(not os.path.exists(bad_trace), "RR_RECORD_STATE=%s: a trace was made" % bad)
    failures.report("record_state: every state compared equals replay's")


main()
