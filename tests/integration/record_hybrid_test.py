#!/usr/bin/env python3
"""rr record --checkpoint-every's default writer copies each point's
checkpoint from the recorded processes, and once the recording has ended
writes the points no copy achieved by replaying the finished trace to
them, each from the copied checkpoint before it. For a program whose
threads wait in blocking calls (most points not copied), processes sharing
memory (none copied), a file that joins the shared-files list late (the
copies before it removed) and a threaded program, the recording prints
what the program prints natively, rr reports both writers, every point is
achieved by one or the other, every checkpoint reported is in the trace,
`rr state -g E` through each equals the state a replay from the start
reaches, and replay from a replayed-to one and a copied one goes on to the
program's end. With RR_CHECKPOINT_WRITER=copy the missed points stay
missed (nothing is replayed); =hybrid is the default's name."""
import os
import re

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
    failures.expect(missed == requested - achieved and replays >= 1,
                    "%s: %d requested, %d copied, and rr replayed to %d missed (%d replays): %s"
                    % (name, requested, achieved, missed, replays, show(r.stderr)))
    failures.expect(written + fill_written == len(events),
                    "%s: %d copied and %d replayed to, %d checkpoints in the trace at %r"
                    % (name, written, fill_written, len(events), events))
    return events, achieved, requested, fill_achieved, r.stderr, native.stdout


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
        failures.expect(filled is not None and copied < requested and copied + filled == requested and copied >= 1,
                        "waits: %d requested, %d copied, %r replayed to (some of each expected, all achieved): %s"
                        % (requested, copied, filled, show(err)))
        failures.expect("not achieved" not in err, "waits: a point not achieved: %s" % show(err))
        same_states(rr, trace, events, "waits")
        # Replay goes on from a replayed-to checkpoint and from the last one.
        # Which are replayed to: those at no event a copy-only recording of
        # the same program copied at (its schedule is the same but for
        # timing, so a few may be copies: the check holds for either).
        only = os.path.join(d, "waits-copy-only")
        copy_events, c_copied, c_requested, c_filled, c_err, _ = record(rr, only, "10", [a.waits], "waits, copy only",
                                                                          "copy")
        failures.expect(c_filled is None and c_copied < c_requested and "not achieved" in c_err,
                        "waits, copy only: nothing replayed to, the missed points named: %s" % show(c_err))
        replayed_to = [e for e in events if e not in copy_events]
        for ev in sorted(set(replayed_to[len(replayed_to) // 2:len(replayed_to) // 2 + 1] + events[-1:])):
            replays_on(rr, trace, ev, out, "waits")

        # Shared memory is not copied: every point is replayed to.
        trace = os.path.join(d, "shared")
        events, copied, requested, filled, err, out = record(rr, trace, "5", [a.shared], "shared",
                                                             "hybrid")
        failures.expect(filled is not None and copied + filled == requested and len(events) >= 2,
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
