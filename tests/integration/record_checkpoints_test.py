#!/usr/bin/env python3
"""rr record --checkpoint-every N|Ns with RR_CHECKPOINT_WRITER=replay (the
follower) writes checkpoints while recording: for
a threaded program, a forking one and python3, the recording leaves
checkpoints (incremental ones built on the record-time ones before them;
the forking one on a busy machine, with no fork's entry apart from its exit),
`rr state -g E` through each equals the state a replay from the start
reaches, replay from one goes on to the program's end, create-checkpoints
-j uses them as segment starts, and bad values are refused in one line. A
file that joins the shared-files list after the first point restarts the
checkpoint writer, whose checkpoints still equal a replay's; so does one
that joins after the last point, when the recording ends. A point in the
program's exit is stood for by the checkpoint just before it. Every point
is achieved; a point that cannot be (a checkpoint every event, one of them
while a thread exits) is named in one line with why."""
import contextlib
import os
import re
import shutil
import subprocess

from testlib import (Failures, arguments, fatal, python_heap_workload, replays_on_from_checkpoint, run,
                     same_states_through_checkpoints, scratch_dir, show, usable_checkpoint_events)

failures = Failures()
REPORT = re.compile(r"rr: wrote (\d+) checkpoints while recording \((\d+) incremental\), \d+ bytes; "
                    r"requested (\d+) \(every [^)]*\), achieved (\d+); [0-9.]+ s after the program's end "
                    r"\(the writer used ([0-9.]+) s of CPU\)")


def checkpoint_events(rr, trace):
    return usable_checkpoint_events(rr, trace, failures)


def record(rr, trace, every, argv, min_written):
    """Records argv with --checkpoint-every `every`; returns the events of
    the checkpoints it left."""
    r = run([rr, "record", "-o", trace, "--checkpoint-every", every] + argv, timeout=300, text=True)
    failures.expect(r.returncode == 0, "rr record --checkpoint-every %s %s failed: %s" % (every, argv[0], show(r.stderr)))
    m = REPORT.search(r.stderr)
    failures.expect(m is not None, "rr record --checkpoint-every %s %s: no report of the checkpoints in %s"
                    % (every, argv[0], show(r.stderr)))
    events = checkpoint_events(rr, trace)
    if m:
        written, incremental, requested, achieved = map(int, m.groups()[:4])
        # The writer's CPU (its replay and its tracees'): a replay of the
        # program cannot take none.
        failures.expect(float(m.group(5)) > 0, "%s: the writer used %s s of CPU: %s" % (argv[0], m.group(5), show(r.stderr)))
        failures.expect(written >= min_written and written == len(events),
                        "%s: %d checkpoints written while recording, %d in the trace (at least %d expected): %s"
                        % (argv[0], written, len(events), min_written, show(r.stderr)))
        failures.expect(incremental == max(0, written - 1 - (written - 1) // 10),
                        "%s: %d of %d incremental (each builds on the one before, a full one every 10)"
                        % (argv[0], incremental, written))
        # Exact: where nothing can be saved lasts one event in these programs
        # (a thread's or a process's exit), also under `rr record --chaos`
        # with a point every 5 events; rr says which point it missed and why.
        failures.expect(achieved == requested and requested >= written,
                        "%s: requested %d, achieved %d, written %d, at %r: %s"
                        % (argv[0], requested, achieved, written, events, show(r.stderr)))
    return events


@contextlib.contextmanager
def busy_machine():
    """A busy loop on each CPU, as beside other test suites: a tracee's
    syscall then often takes longer than the recorder's short wait for it."""
    loops = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()


def same_states(rr, trace, events, name):
    same_states_through_checkpoints(rr, trace, events, name, failures, "record-time checkpoint")


def replays_on(rr, trace, event, expected_out, name):
    replays_on_from_checkpoint(rr, trace, event, expected_out, name, failures, "record-time checkpoint")


def main():
    # This test is the follower's (the default writer copies: record_hybrid).
    os.environ["RR_CHECKPOINT_WRITER"] = "replay"
    a = arguments(__doc__, threads="a threaded program (many_threads)", forks="a forking program (fork_tree)",
                  few_threads="a program with three short threads (thread_tls)",
                  shared="a program that maps a file it writes (pwrite_shared_view)",
                  late_shared="a program that maps a file writable after many events (late_shared_map)")
    rr = a.rr
    with scratch_dir("rr-rcp-") as d:
        # A threaded program and a forking one, by events; the forking one
        # on a busy machine, where a parent's return from fork used to come
        # so late that the fork's entry was an event of its own, and no
        # checkpoint could be written for a hundred events (the recorder
        # waits for it now: a fork that is no vfork never blocks).
        for name, program, every in (("threads", a.threads, "40"), ("forks", a.forks, "40")):
            trace = os.path.join(d, name)
            native = run([program], text=True)
            with busy_machine() if name == "forks" else contextlib.nullcontext():
                events = record(rr, trace, every, [program], 3)
            if name == "forks":
                dump = run([rr, "dump", trace], text=True).stdout
                apart = re.findall(r"^event \d+ .*syscall entry clone.*$", dump, re.M)
                failures.expect(not apart, "forks: clone entries recorded apart from their exits: %r" % apart[:3])
            same_states(rr, trace, events, name)
            if events:
                replays_on(rr, trace, events[len(events) // 2], native.stdout, name)
            # An incremental checkpoint's base is an earlier record-time one.
            if len(events) >= 2:
                r = run([rr, "checkpoints", "rm", str(events[0]), trace], text=True)
                failures.expect(r.returncode != 0 and "is the base of incremental checkpoint" in r.stderr,
                                "%s: removing the first record-time checkpoint %d (a base) is refused: %s"
                                % (name, events[0], show(r.stderr)))
        # A file mapped from a descriptor open for writing after the first
        # point: the follower starts again knowing it, and its checkpoints
        # still equal a replay's.
        trace = os.path.join(d, "shared")
        native = run([a.shared], text=True)
        r = run([rr, "record", "-o", trace, "--checkpoint-every", "3", a.shared], timeout=300, text=True)
        failures.expect(r.returncode == 0 and "checkpoints while recording start again at event" in r.stderr
                        and REPORT.search(r.stderr),
                        "a file joining the shared-files list restarts the checkpoint writer: %s" % show(r.stderr))
        events = checkpoint_events(rr, trace)
        failures.expect(len(events) >= 10, "shared: checkpoints at %r" % events)
        same_states(rr, trace, events[::4], "shared")
        if events:
            replays_on(rr, trace, events[-1], native.stdout, "shared")

        # A file mapped read-only (a plain copy) before the last point and
        # writable (joining the shared-files list) after it: a replay of
        # the finished trace maps the first mapping from the emulated copy
        # too, so the follower starts again when the recording ends. The
        # point falls between the two mappings and no point after them.
        late_argv = [a.late_shared, "400"]
        native = run(late_argv, text=True)
        plain = os.path.join(d, "late-plain")
        r = run([rr, "record", "-o", plain] + late_argv, timeout=300, text=True)
        dump = run([rr, "dump", plain], text=True).stdout
        maps = [int(m) for m in re.findall(r"^event (\d+) .*syscall mmap\(.*\[maps files/rrtest-lateshared-", dump, re.M)]
        last = re.findall(r"^event (\d+) ", dump, re.M)
        if r.returncode != 0 or len(maps) != 2 or not last:
            fatal("late_shared_map: recording without checkpoints: %s; its file mappings at %r" % (show(r.stderr), maps))
        every = (maps[0] + maps[1]) // 2
        failures.expect(2 * every > int(last[-1]), "late_shared_map: no single point between the mappings (%r, end %s)"
                        % (maps, last[-1]))
        trace = os.path.join(d, "late")
        r = run([rr, "record", "-o", trace, "--checkpoint-every", str(every)] + late_argv, timeout=300, text=True)
        failures.expect(r.returncode == 0 and r.stdout == native.stdout
                        and "checkpoints while recording start again after the recording" in r.stderr
                        and REPORT.search(r.stderr),
                        "a file joining the shared-files list after the last point restarts the checkpoint writer "
                        "at the end: %s" % show(r.stderr))
        events = checkpoint_events(rr, trace)
        failures.expect(events == [every], "late_shared_map: checkpoints at %r, expected [%d]" % (events, every))
        same_states(rr, trace, events, "late_shared_map")
        if events:
            replays_on(rr, trace, events[-1], native.stdout, "late_shared_map")

        # A point inside the program's exit (exit_group and the task's end,
        # where nothing can be saved) is stood for by a checkpoint just
        # before it, as create-checkpoints does (the follower used to write
        # none for it: requested 1, achieved 0).
        ends = re.findall(r"^event (\d+) .*(?:syscall exit_group\(|exit status)", dump, re.M)
        exit_start = int(ends[0]) if ends else 0
        if exit_start < 2 or int(last[-1]) != int(ends[-1]):
            fatal("late_shared_map: no exit run closing the trace in its dump: %r, last %s" % (ends, last[-1]))
        trace = os.path.join(d, "exit")
        r = run([rr, "record", "-o", trace, "--checkpoint-every", str(exit_start)] + late_argv, timeout=300, text=True)
        m = REPORT.search(r.stderr)
        failures.expect(r.returncode == 0 and m and m.group(3) == "1" and m.group(4) == "1",
                        "a point at the program's exit (event %d): %s" % (exit_start, show(r.stderr)))
        own = re.findall(r"^event (\d+) .*(?:syscall exit_group\(|exit status)", run([rr, "dump", trace], text=True).stdout, re.M)
        failures.expect(own[:1] == [str(exit_start)], "exit: the program's exit starts at event %s in this recording, at "
                        "%d in the one before (the program makes the same syscalls every run)" % (own[:1], exit_start))
        events = checkpoint_events(rr, trace)
        failures.expect(events == [exit_start - 1], "exit: checkpoints at %r, expected [%d]" % (events, exit_start - 1))
        same_states(rr, trace, events, "exit")
        if events:
            replays_on(rr, trace, events[-1], native.stdout, "exit")

        # create-checkpoints -j cuts its work at the record-time checkpoints.
        trace = os.path.join(d, "forks")
        events = checkpoint_events(rr, trace)
        if len(events) >= 2:
            copy = os.path.join(d, "forks-j")
            shutil.copytree(trace, copy)
            r = run([rr, "create-checkpoints", "-j", "2", "-s", "10", "-i", "20", copy], timeout=300, text=True)
            m = re.search(r"replayed (\d+) segments between existing checkpoints", r.stdout)
            failures.expect(r.returncode == 0 and m and int(m.group(1)) >= 2,
                            "create-checkpoints -j 2 after a recording with checkpoints: %s %s"
                            % (show(r.stdout), show(r.stderr)))
            later = [e for e in checkpoint_events(rr, copy) if e not in events]
            same_states(rr, copy, later[::3], "forks, -j 2 from record-time checkpoints")

        # A point on an event where a thread exits cannot be achieved with a
        # checkpoint every event: the first checkpoint after it is one event
        # on. rr names the first such point and why (thread_tls: 3 s here,
        # about 95 checkpoints).
        trace = os.path.join(d, "every-event")
        r = run([rr, "record", "-o", trace, "--checkpoint-every", "1", a.few_threads], timeout=300, text=True)
        m = REPORT.search(r.stderr)
        missed = re.search(r"^rr: point (\d+) not achieved: the first checkpoint after it is at (\d+) "
                           r"\(at event (\d+) task \d+ is exiting\)$", r.stderr, re.M)
        events = checkpoint_events(rr, trace)
        failures.expect(r.returncode == 0 and m and int(m.group(4)) < int(m.group(3)) and missed
                        and missed.group(1) == missed.group(3) and int(missed.group(2)) == int(missed.group(1)) + 1
                        and int(missed.group(2)) in events and int(missed.group(1)) not in events,
                        "a checkpoint every event of thread_tls: a point at a thread's exit missed and named, with the "
                        "checkpoint after it: %s; checkpoints at %r" % (show(r.stderr), events[:20]))

        # python3, by seconds of recording.
        python, script = python_heap_workload(d)
        trace = os.path.join(d, "python")
        native = run([python, script], text=True)
        events = record(rr, trace, "0.4s", [python, script], 2)
        same_states(rr, trace, events[:4], "python3")
        if events:
            replays_on(rr, trace, events[-1], native.stdout, "python3")

        for bad in ("0", "x", "-5", "0s", "s", "1.5", "3e", ""):
            r = run([rr, "record", "-o", os.path.join(d, "bad"), "--checkpoint-every", bad, a.threads], text=True)
            failures.expect(r.returncode != 0 and r.stderr.count("\n") == 1 and "--checkpoint-every needs" in r.stderr
                            and not os.path.exists(os.path.join(d, "bad")),
                            "--checkpoint-every %r: one line and a failure, got %d: %r" % (bad, r.returncode, r.stderr))
        r = run([rr, "record", "--checkpoint-every"], text=True)
        failures.expect(r.returncode != 0 and r.stderr.count("\n") == 1, "--checkpoint-every alone: %r" % r.stderr)
    failures.report("checkpoints written while recording equal a replay's")


if __name__ == "__main__":
    main()
