#!/usr/bin/env python3
"""rr record --checkpoint-every's default writer copies each point's
checkpoint from the recorded processes, and once the recording has ended
writes the points no copy achieved by replaying the finished trace to
them, each from the copied checkpoint before it. For a program whose
threads wait in blocking calls (most points not copied), processes sharing
memory (none copied), a file that joins the shared-files list late (the
copies before it removed) and a threaded program, the recording prints
what the program prints natively, rr reports both writers, every point is
achieved by one or the other (checked from the trace: a checkpoint in
each point's window), every checkpoint reported is in the trace,
`rr state -g E` through each equals the state a replay from the start
reaches, and replay from a replayed-to one and a copied one goes on to the
program's end. With RR_CHECKPOINT_WRITER=copy the missed points stay
missed (nothing is replayed); =hybrid is the default's name. With -q the
replays run and nothing is printed; no process of rr record's is left
after it returns."""
import json
import os
import re
import subprocess

from testlib import (Failures, arguments, replays_on_from_checkpoint, run, same_states_through_checkpoints,
                     scratch_dir, show, usable_checkpoint_events)

failures = Failures()
COPIED = re.compile(r"rr: wrote (\d+) checkpoints while recording, copied from the recorded processes \((\d+) "
                    r"incremental\), (\d+) bytes; requested (\d+) \(every [^)]*\), achieved (\d+); [0-9.]+ s writing")
FILLED = re.compile(r"rr: replayed to the (\d+) points the copies missed: wrote (\d+) checkpoints \((\d+) incremental\), "
                    r"(\d+) bytes, achieved (\d+); [0-9.]+ s after the program's end, (\d+) replays from the copied "
                    r"checkpoints")


def env_with(writer):
    env = dict(os.environ)
    env.pop("RR_CHECKPOINT_WRITER", None)
    if writer:
        env["RR_CHECKPOINT_WRITER"] = writer
    return env


def record(rr, trace, every, argv, name, writer=None):
    """Records argv with --checkpoint-every `every` and the writer named
    (None: the default); returns (events of the checkpoints in the trace,
    copied points achieved, points requested, points replayed to (None if
    rr reported no replays), rr's stderr, the program's output)."""
    native = run(argv, text=True)
    r = run([rr, "record", "-o", trace, "--checkpoint-every", every] + argv, timeout=300, text=True,
            env=env_with(writer))
    failures.expect(r.returncode == native.returncode and r.stdout == native.stdout,
                    "%s: recorded, status %d and output %s; natively %d and %s; stderr %s"
                    % (name, r.returncode, show(r.stdout), native.returncode, show(native.stdout), show(r.stderr)))
    events = usable_checkpoint_events(rr, trace, failures)
    copied = COPIED.search(r.stderr)
    failures.expect(copied is not None, "%s: no report of the copied checkpoints: %s" % (name, show(r.stderr)))
    if not copied:
        return events, 0, 0, None, r.stderr, native.stdout
    written, _, _, requested, achieved = map(int, copied.groups())
    filled = FILLED.search(r.stderr)
    if not filled:
        failures.expect(written == len(events),
                        "%s: %d copied, %d checkpoints in the trace at %r" % (name, written, len(events), events))
        return events, achieved, requested, None, r.stderr, native.stdout
    missed, fill_written, _, _, fill_achieved, replays = map(int, filled.groups())
    # One replay per stretch between copied checkpoints that holds missed
    # points: at most one more than the copies.
    failures.expect(missed == requested - achieved and 1 <= replays <= written + 1,
                    "%s: %d requested, %d copied, and rr replayed to %d missed (%d replays): %s"
                    % (name, requested, achieved, missed, replays, show(r.stderr)))
    failures.expect(written + fill_written == len(events),
                    "%s: %d copied and %d replayed to, %d checkpoints in the trace at %r"
                    % (name, written, fill_written, len(events), events))
    return events, achieved, requested, fill_achieved, r.stderr, native.stdout


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


def replayed_to(rr, trace, count):
    """The events of the `count` checkpoints written last: the replays for
    the missed points run after every copy was written."""
    listing = json.loads(run([rr, "checkpoints", "--json", trace], text=True).stdout or "[]")
    by_time = sorted((c["created_ns"], c["event"]) for c in listing if c.get("usable"))
    return sorted(e for _, e in by_time[len(by_time) - count:]) if count else []


def same_states(rr, trace, events, name):
    same_states_through_checkpoints(rr, trace, events, name, failures, "checkpoint")


def replays_on(rr, trace, event, expected_out, name):
    replays_on_from_checkpoint(rr, trace, event, expected_out, name, failures, "checkpoint")


def main():
    a = arguments(__doc__, threads="a threaded program (many_threads)",
                  waits="blocking buffered calls (buffered_waits)",
                  shared="processes sharing anonymous memory (shared_between)",
                  late_shared="a program that maps a file writable after many events (late_shared_map)")
    rr = a.rr
    with scratch_dir("rr-hybrid-") as d:
        # Threads that wait in blocking calls: most points are not copied.
        # Each one is replayed to, from the copied checkpoint before it.
        trace = os.path.join(d, "waits")
        events, copied, requested, filled, err, out = record(rr, trace, "10", [a.waits], "waits")
        no_process_left(trace, "waits")
        failures.expect(filled is not None and copied < requested and copied + filled == requested and copied >= 1,
                        "waits: %d requested, %d copied, %r replayed to (some of each expected, all achieved): %s"
                        % (requested, copied, filled, show(err)))
        failures.expect("not achieved" not in err, "waits: a point not achieved: %s" % show(err))
        missing = unachieved(rr, trace, 10, events)
        failures.expect(not missing, "waits: points with no checkpoint in their window: %r" % missing[:10])
        same_states(rr, trace, events, "waits")
        # Replay goes on from a replayed-to checkpoint (the replays write
        # after every copy: the last ones created) and from the last one.
        filled_events = replayed_to(rr, trace, filled or 0)
        failures.expect(filled_events, "waits: no checkpoint written after the copies")
        for ev in sorted(set(filled_events[len(filled_events) // 2:len(filled_events) // 2 + 1] + events[-1:])):
            replays_on(rr, trace, ev, out, "waits")
        # Copies only: the missed points stay missed, and are named.
        only = os.path.join(d, "waits-copy-only")
        _, c_copied, c_requested, _, c_err, _ = record(rr, only, "10", [a.waits], "waits, copy only", "copy")
        failures.expect(c_copied < c_requested and "replayed to" not in c_err
                        and re.search(r"^rr: point \d+ not achieved \(", c_err, re.M),
                        "waits, copy only: nothing replayed to, the missed points named: %s" % show(c_err))
        # Quiet: the replays run, and say nothing.
        quiet = os.path.join(d, "waits-quiet")
        r = run([rr, "record", "-q", "-o", quiet, "--checkpoint-every", "10", a.waits], timeout=300, text=True,
                env=env_with(None))
        q_events = usable_checkpoint_events(rr, quiet, failures)
        failures.expect(r.returncode == 0 and not r.stderr and q_events and not unachieved(rr, quiet, 10, q_events),
                        "waits, -q: status %d, checkpoints at %r, stderr %s" % (r.returncode, q_events, show(r.stderr)))

        # Shared memory is not copied: every point is replayed to.
        trace = os.path.join(d, "shared")
        events, copied, requested, filled, err, out = record(rr, trace, "5", [a.shared], "shared",
                                                             "hybrid")
        failures.expect(filled is not None and copied + filled == requested and len(events) >= 2
                        and not unachieved(rr, trace, 5, events),
                        "shared: %d requested, %d copied, %r replayed to, checkpoints at %r: %s"
                        % (requested, copied, filled, events, show(err)))
        same_states(rr, trace, events, "shared")
        if events:
            replays_on(rr, trace, events[len(events) // 2], out, "shared")

        # A file that joins the shared-files list after checkpoints were
        # copied: those are removed, and their points replayed to.
        trace = os.path.join(d, "late")
        events, copied, requested, filled, err, out = record(rr, trace, "10", [a.late_shared, "400"], "late_shared_map")
        failures.expect(re.search(r"rr: \d+ checkpoints written while recording were removed", err)
                        and filled is not None and copied + filled == requested,
                        "late_shared_map: the removed copies' points replayed to, %d requested, %d copied, %r "
                        "replayed to: %s" % (requested, copied, filled, show(err)))
        same_states(rr, trace, events, "late_shared_map")

        # Threads: whatever the copies miss (a thread ending, one inside a
        # call) is replayed to; a recording whose copies achieved every
        # point replays nothing.
        trace = os.path.join(d, "threads")
        events, copied, requested, filled, err, out = record(rr, trace, "20", [a.threads], "threads")
        failures.expect(requested >= 4 and copied + (filled or 0) == requested
                        and (filled is None) == (copied == requested),
                        "threads: %d requested, %d copied, %r replayed to: %s" % (requested, copied, filled, show(err)))
        same_states(rr, trace, events, "threads")
    failures.report("checkpoints copied while recording, and replayed to where no copy was had, equal a replay's")


if __name__ == "__main__":
    main()
