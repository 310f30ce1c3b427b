#!/usr/bin/env python3
"""rr record --checkpoint-every's default writer copies each point's
checkpoint from the recorded processes; from the first point no copy
achieved, a replay beside the recording (started from the copied
checkpoint before it) writes the missed points; once the recording has
ended, what that replay has not reached is written by replays of the
finished trace, each from the checkpoint before it. For two processes
that wait for each other in blocking reads, one of them in recv with
MSG_WAITALL (the points while the other runs are not copied: a copy cannot
hold a call that may write before it returns), one whose thread waits the whole
run, in a call the copies cannot hold (recv with MSG_WAITALL), while the
other computes (no point copied after its start: the replay beside the
recording writes checkpoints before the recording's end), processes sharing memory (none copied), a file that
joins the shared-files list late (the copies before it removed, and the
replay beside the recording stopped) and a threaded program, the
recording prints what the program prints natively, rr's reports agree
with one another and with the checkpoints in the trace, every point is
achieved (checked from the trace: a checkpoint in each point's window),
`rr state -g E` through the checkpoints equals the state a replay from the
start reaches, and replay from a checkpoint goes on to the program's end.
With RR_CHECKPOINT_WRITER=copy the missed points stay missed (nothing is
replayed); =hybrid is the default's name. With -q the replays run and
nothing is printed; no process of rr record's is left after it returns."""
import json
import os
import re
import subprocess

from testlib import (Failures, arguments, replays_on_from_checkpoint, run, same_states_through_checkpoints,
                     scratch_dir, show, usable_checkpoint_events)

failures = Failures()
COPIED = re.compile(r"rr: wrote (\d+) checkpoints while recording, copied from the recorded processes \((\d+) "
                    r"incremental\), (\d+) bytes; requested (\d+) \(every [^)]*\), achieved (\d+); [0-9.]+ s writing")
BESIDE = re.compile(r"rr: replayed beside the recording to the (\d+) points the copies missed while it ran: wrote (\d+) checkpoints "
                    r"\((\d+) incremental\), (\d+) bytes, achieved (\d+); it stopped [0-9.]+ s after the program's end \(the "
                    r"replay used [0-9.]+ s of CPU\), from (?:the start|the copied checkpoint at (\d+)), going on "
                    r"from (\d+) later copies")
FILLED = re.compile(r"rr: replayed to the (\d+) points still missed: wrote (\d+) checkpoints \((\d+) incremental\), "
                    r"(\d+) bytes, achieved (\d+); [0-9.]+ s after the program's end, (\d+) replays from the "
                    r"checkpoints before them")


def env_with(writer):
    env = dict(os.environ)
    env.pop("RR_CHECKPOINT_WRITER", None)
    if writer:
        env["RR_CHECKPOINT_WRITER"] = writer
    return env


class Recorded:
    """What record() found: the events of the checkpoints in the trace,
    the points requested and those the copies achieved, the replay beside
    the recording's report (None: it did not run) and the replays' after
    the recording (None: none ran), rr's stderr and the program's output."""
    def __init__(self):
        self.events, self.requested, self.copied, self.copies_written = [], 0, 0, 0
        self.beside = self.filled = None
        self.err = self.out = ""

    def replayed(self):
        """Points achieved by replays, beside the recording or after it
        (None when neither ran)."""
        if self.beside is None and self.filled is None:
            return None
        return (self.beside or {}).get("achieved", 0) + (self.filled or {}).get("achieved", 0)


def record(rr, trace, every, argv, name, writer=None):
    """Records argv with --checkpoint-every `every` and the writer named
    (None: the default) and checks rr's reports against one another and
    against the checkpoints in the trace; returns a Recorded."""
    got = Recorded()
    native = run(argv, text=True)
    r = run([rr, "record", "-o", trace, "--checkpoint-every", every] + argv, timeout=300, text=True,
            env=env_with(writer))
    got.err, got.out = r.stderr, native.stdout
    failures.expect(r.returncode == native.returncode and r.stdout == native.stdout,
                    "%s: recorded, status %d and output %s; natively %d and %s; stderr %s"
                    % (name, r.returncode, show(r.stdout), native.returncode, show(native.stdout), show(r.stderr)))
    got.events = usable_checkpoint_events(rr, trace, failures)
    copied = COPIED.search(r.stderr)
    failures.expect(copied is not None, "%s: no report of the copied checkpoints: %s" % (name, show(r.stderr)))
    if not copied:
        return got
    got.copies_written, _, _, got.requested, got.copied = map(int, copied.groups())
    missed = got.requested - got.copied
    total = got.copies_written
    beside = BESIDE.search(r.stderr)
    if beside:
        told, written, _, _, achieved, start, _ = beside.groups()
        got.beside = {"told": int(told), "written": int(written), "achieved": int(achieved),
                      "from": int(start) if start else None}
        # (Copies removed when the recording ends were not missed while
        # it ran.)
        failures.expect(1 <= int(told) <= missed and int(achieved) <= missed,
                        "%s: %d requested, %d copied, the replay beside the recording told of %s and achieved %s: %s"
                        % (name, got.requested, got.copied, told, achieved, show(r.stderr)))
        missed -= int(achieved)
        total += int(written)
    filled = FILLED.search(r.stderr)
    if filled:
        still, fill_written, _, _, fill_achieved, replays = map(int, filled.groups())
        got.filled = {"still": still, "written": fill_written, "achieved": fill_achieved}
        # One replay per stretch between checkpoints that holds missed
        # points: at most one more than the checkpoints before.
        failures.expect(still == missed and 1 <= replays <= total + 1,
                        "%s: %d requested, %d copied, %d left by the replay beside, and rr replayed to %d (%d "
                        "replays): %s" % (name, got.requested, got.copied, missed, still, replays, show(r.stderr)))
        total += fill_written
    failures.expect(total == len(got.events), "%s: %d checkpoints reported, %d in the trace at %r"
                    % (name, total, len(got.events), got.events))
    return got


def written_during(rr, trace):
    """The events of the checkpoints written before the recording ended
    (the events stream's end mark, its last write)."""
    end = os.stat(os.path.join(trace, "events")).st_mtime_ns
    listing = json.loads(run([rr, "checkpoints", "--json", trace], text=True).stdout or "[]")
    return sorted(c["event"] for c in listing if c.get("usable") and c["created_ns"] < end)


def no_process_left(trace, name):
    """No worker of rr record's (whose command line names the trace) is
    left once it has returned."""
    left = subprocess.run(["pgrep", "-f", "-a", trace], stdout=subprocess.PIPE, text=True).stdout.strip()
    failures.expect(not left, "%s: processes left after rr record: %s" % (name, left))


def unachieved(rr, trace, every, events):
    """The points of a recording with a point every `every` events that no
    checkpoint in `events` achieves, from the trace itself: a checkpoint
    from the point to the next achieves it; a point in the program's exit
    (the run of task ends closing the trace) is stood for by a checkpoint
    just before the run."""
    lines = re.findall(r"^event (\d+) (.*)$", run([rr, "dump", trace], text=True).stdout, re.M)
    if not lines:
        return ["no events"]
    last = int(lines[-1][0])
    exit_start = None
    for ev, text in reversed(lines):
        if not re.search(r"syscall exit_group\(|syscall exit\(|exit status|killed by", text):
            break
        exit_start = int(ev)
    have = set(events)
    return [p for p in range(every, last + 1, every)
            if not any(p <= e < p + every for e in have)
            and not (exit_start and p >= exit_start and exit_start - 1 in have)]


def same_states(rr, trace, events, name):
    same_states_through_checkpoints(rr, trace, events, name, failures, "checkpoint")


def replays_on(rr, trace, event, expected_out, name):
    replays_on_from_checkpoint(rr, trace, event, expected_out, name, failures, "checkpoint")


def main():
    a = arguments(__doc__, threads="a threaded program (many_threads)",
                  waits="two processes that wait for each other in blocking reads (socketpair_pingpong)",
                  waiting="a thread waiting in a call while the other computes (waiting_thread)",
                  shared="processes sharing anonymous memory (shared_between)",
                  late_shared="a program that maps a file writable after many events (late_shared_map)")
    rr = a.rr
    with scratch_dir("rr-hybrid-") as d:
        # Processes that wait for each other, one in recv(MSG_WAITALL): the
        # points while the other runs are not copied. Each one is replayed
        # to, beside the recording or after it.
        trace = os.path.join(d, "waits")
        w = record(rr, trace, "10", [a.waits, "waitall"], "waits")
        no_process_left(trace, "waits")
        failures.expect(w.replayed() is not None and w.copied < w.requested and w.copied + w.replayed() == w.requested
                        and w.copied >= 1,
                        "waits: %d requested, %d copied, %r replayed to (some of each expected, all achieved): %s"
                        % (w.requested, w.copied, w.replayed(), show(w.err)))
        failures.expect("not achieved" not in w.err, "waits: a point not achieved: %s" % show(w.err))
        # Its first points are copied: the replay beside the recording
        # starts from the copy before the first point missed.
        failures.expect(w.beside is not None and w.beside["from"] in w.events,
                        "waits: the replay beside the recording did not start from a copied checkpoint: %s"
                        % show(w.err))
        missing = unachieved(rr, trace, 10, w.events)
        failures.expect(not missing, "waits: points with no checkpoint in their window: %r" % missing[:10])
        same_states(rr, trace, w.events, "waits")
        for ev in sorted(set(w.events[len(w.events) // 2:len(w.events) // 2 + 1] + w.events[-1:])):
            replays_on(rr, trace, ev, w.out, "waits")
        # Copies only: the missed points stay missed, and are named.
        only = os.path.join(d, "waits-copy-only")
        c = record(rr, only, "10", [a.waits, "waitall"], "waits, copy only", "copy")
        failures.expect(c.copied < c.requested and c.replayed() is None and "replayed" not in c.err
                        and re.search(r"^rr: point \d+ not achieved \(", c.err, re.M),
                        "waits, copy only: nothing replayed to, the missed points named: %s" % show(c.err))
        # Quiet: the replays run, and say nothing.
        quiet = os.path.join(d, "waits-quiet")
        r = run([rr, "record", "-q", "-o", quiet, "--checkpoint-every", "10", a.waits, "waitall"], timeout=300, text=True,
                env=env_with(None))
        q_events = usable_checkpoint_events(rr, quiet, failures)
        failures.expect(r.returncode == 0 and not r.stderr and q_events and not unachieved(rr, quiet, 10, q_events),
                        "waits, -q: status %d, checkpoints at %r, stderr %s" % (r.returncode, q_events, show(r.stderr)))
        no_process_left(quiet, "waits, -q")

        # A thread waits the whole time in a call the copies cannot hold: no
        # point after its start is copied, and the replay beside the
        # recording writes them while the program runs (checkpoints created
        # before the recording's end that are not copies), starting from the
        # copy before the first.
        trace = os.path.join(d, "waiting")
        w = record(rr, trace, "50", [a.waiting, "6000", "waitall"], "waiting")
        no_process_left(trace, "waiting")
        during = written_during(rr, trace)
        failures.expect(w.beside is not None and w.beside["achieved"] >= 1
                        and w.copied + w.replayed() == w.requested and len(during) > w.copies_written,
                        "waiting: %d requested, %d copied (%d written), beside the recording %r, %d checkpoints "
                        "written before its end: %s" % (w.requested, w.copied, w.copies_written, w.beside,
                                                        len(during), show(w.err)))
        missing = unachieved(rr, trace, 50, w.events)
        failures.expect(not missing, "waiting: points with no checkpoint in their window: %r" % missing[:10])
        # A sample (a replay from the start to each is long): the first ones
        # written beside the recording, then across the trace.
        sample = sorted(set(during[w.copies_written:w.copies_written + 2] + w.events[::max(1, len(w.events) // 4)]
                            + w.events[-1:]))
        same_states(rr, trace, sample, "waiting")
        replays_on(rr, trace, w.events[len(w.events) // 2], w.out, "waiting")

        # Shared memory is not copied: every point is replayed to.
        trace = os.path.join(d, "shared")
        w = record(rr, trace, "5", [a.shared], "shared", "hybrid")
        # The shared-files list grows after the first point missed: the
        # replay beside the recording is stopped, what it wrote removed.
        failures.expect(w.replayed() is not None and w.copied + w.replayed() == w.requested and len(w.events) >= 2
                        and not unachieved(rr, trace, 5, w.events)
                        and "rr: the replay beside the recording stopped, and what it wrote was removed" in w.err,
                        "shared: %d requested, %d copied, %r replayed to, checkpoints at %r: %s"
                        % (w.requested, w.copied, w.replayed(), w.events, show(w.err)))
        same_states(rr, trace, w.events, "shared")
        if w.events:
            replays_on(rr, trace, w.events[len(w.events) // 2], w.out, "shared")

        # A file that joins the shared-files list after checkpoints were
        # copied: those are removed, with what the replay beside the
        # recording wrote (it is stopped), and their points replayed to.
        trace = os.path.join(d, "late")
        w = record(rr, trace, "10", [a.late_shared, "400"], "late_shared_map")
        failures.expect(re.search(r"rr: \d+ checkpoints written while recording were removed", w.err)
                        and w.filled is not None and w.copied + w.replayed() == w.requested,
                        "late_shared_map: the removed copies' points replayed to, %d requested, %d copied, %r "
                        "replayed to: %s" % (w.requested, w.copied, w.replayed(), show(w.err)))
        same_states(rr, trace, w.events, "late_shared_map")

        # Threads: whatever the copies miss (a thread ending, one inside a
        # call) is replayed to; a recording whose copies achieved every
        # point replays nothing.
        trace = os.path.join(d, "threads")
        w = record(rr, trace, "20", [a.threads], "threads")
        failures.expect(w.requested >= 4 and w.copied + (w.replayed() or 0) == w.requested
                        and (w.replayed() is None) == (w.copied == w.requested),
                        "threads: %d requested, %d copied, %r replayed to: %s"
                        % (w.requested, w.copied, w.replayed(), show(w.err)))
        same_states(rr, trace, w.events, "threads")
    failures.report("checkpoints copied while recording, and replayed to where no copy was had, equal a replay's")


if __name__ == "__main__":
    main()
