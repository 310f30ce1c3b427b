#!/usr/bin/env python3
"""rr record --checkpoint-every with RR_CHECKPOINT_WRITER=copy writes each
checkpoint from the recorded processes themselves, not from a replay that
follows the recording: their threads and layout at the point, their pages
from a copy of each process made then by a fork inside it, read while the
program runs on. For threads, forks, signal handlers that read their
frames, threads preempted by the progress counter, blocking buffered calls,
a program that writes its pages in every way between its calls, and
python3, the recording prints what the program prints natively, every
checkpoint it reports is in the trace (incremental ones built on the ones
before), `rr state -g E` through each equals the state a replay from the
start reaches, and replay from one goes on to the program's end. A point
where the processes cannot be copied waits for the first event where they
can; one that cannot be had before the next point is counted as missed and
named with why (shared memory, a thread inside a call that may write its
outputs before it returns); none is written while two processes share their
memory. A thread held inside a blocking call (a read of a pipe) is copied
as replay holds it at the call's entry: every point of a program whose
thread waits in one the whole run is copied, and so is every point of two
processes that wait for each other in reads (a process whose only thread
waits is copied from what the recorder knows of it: its signal actions,
which change as it runs, and its program break). For those two, blocking buffered
calls and signal handlers, the threads saved in a copied checkpoint
(registers, signal mask and actions, signal stack, robust list, tid
address) equal those a replay writes at the same event. No process runs the
program's executable (a copy of its own) once rr record has returned: no
copy of a process outlives the recording. A shell pipeline, whose
processes' copies would hold the pipe's ends, records and replays as it
runs natively. Checkpoints
written before a file joined the shared-files list are removed when the
recording ends. A copy is a child of its process: the program's waits for
clone children (__WALL), a thread's blocked one and polls, return only its
own children and end with ECHILD, and strace -f (a tracer inside the
recording) reports what it reports natively. A copy of the first process
is rr's child, whose times the program does not see. A bad value of the variable is
refused in one line."""
import os
import re
import shutil

from testlib import (Failures, arguments, python_heap_workload, replays_on_from_checkpoint, run, sanitized_run,
                     same_states_through_checkpoints, same_task_states_as_replay, scratch_dir, show,
                     usable_checkpoint_events)

failures = Failures()
REPORT = re.compile(r"rr: wrote (\d+) checkpoints while recording, copied from the recorded processes \((\d+) "
                    r"incremental\), (\d+) bytes; requested (\d+) \(every [^)]*\), achieved (\d+); [0-9.]+ s writing")
MISSED = re.compile(r"^rr: point (\d+) not achieved \((.*)\)$", re.M)


def copy_env():
    env = dict(os.environ)
    env["RR_CHECKPOINT_WRITER"] = "copy"
    return env


def own_copy(program, d):
    """A copy of `program` in the scratch folder `d`: no other process on
    the machine (another test's run of the same program, under ctest -j)
    runs that file."""
    path = os.path.join(d, "own-" + os.path.basename(program))
    if not os.path.exists(path):
        shutil.copy2(program, path)
    return path


def running(exe):
    """The pids of the live processes whose executable is `exe`."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % pid) == exe:
                    pids.append(int(pid))
            except OSError:
                pass  # gone, a zombie, or a kernel thread
    return pids


def record(rr, trace, every, argv, name, min_written, options=()):
    """Records argv with the copying writer; returns (events of the
    checkpoints in the trace, rr's stderr, the native run's output). When argv[0] is a copy of its
    own (own_copy), no process runs it once rr record has returned: not the
    program's, not a copy of one the writer made."""
    native = run(argv, text=True)
    r = run([rr, "record", "-o", trace, "--checkpoint-every", every] + list(options) + argv, timeout=300, text=True,
            env=copy_env())
    if os.path.basename(argv[0]).startswith("own-"):
        left = running(argv[0])
        failures.expect(not left, "%s: processes running %s after rr record returned: %r" % (name, argv[0], left))
    failures.expect(r.returncode == native.returncode and r.stdout == native.stdout,
                    "%s: recorded with the copying writer, status %d and output %s; natively %d and %s; stderr %s"
                    % (name, r.returncode, show(r.stdout), native.returncode, show(native.stdout), show(r.stderr)))
    m = REPORT.search(r.stderr)
    failures.expect(m is not None, "%s: no report of the copied checkpoints: %s" % (name, show(r.stderr)))
    events = usable_checkpoint_events(rr, trace, failures)
    if m:
        written, incremental, _, requested, achieved = map(int, m.groups())
        failures.expect(written >= min_written and written == len(events) == achieved and requested >= written,
                        "%s: %d written, %d achieved of %d requested, checkpoints in the trace at %r (at least %d "
                        "expected): %s" % (name, written, achieved, requested, events, min_written, show(r.stderr)))
        failures.expect(incremental == max(0, written - 1 - (written - 1) // 10),
                        "%s: %d of %d incremental (each builds on the one before, a full one every 10)"
                        % (name, incremental, written))
        missed = MISSED.findall(r.stderr)
        failures.expect((requested > achieved) == bool(missed),
                        "%s: %d of %d points achieved, and rr names %r as missed" % (name, achieved, requested, missed))
    return events, r.stderr, native.stdout


# The sanitized build's run (RR_TEST_SANITIZED=1, scripts/run-tests) looks
# for memory errors on the same roads: it compares the state at three of
# the checkpoints (the first, a middle and the last), where the plain
# build's run compares every one asked for (under ASan the test took 77 s,
# the longest of the sanitized sample), and the saved threads at two.
def same_states(rr, trace, events, name):
    if sanitized_run() and len(events) > 3:
        events = [events[0], events[len(events) // 2], events[-1]]
    same_states_through_checkpoints(rr, trace, events, name, failures, "copied checkpoint")


def same_task_states(rr, trace, events, name, d):
    # Each event asks for a replay that writes a checkpoint there: the
    # sanitized run compares the first and the last.
    if sanitized_run() and len(events) > 2:
        events = [events[0], events[-1]]
    same_task_states_as_replay(rr, trace, events, name, failures, "copied checkpoint", d)


def replays_on(rr, trace, event, expected_out, name):
    replays_on_from_checkpoint(rr, trace, event, expected_out, name, failures, "copied checkpoint")


def main():
    a = arguments(__doc__, threads="a threaded program (many_threads)", forks="a forking program (fork_tree)",
                  signals="signal handlers that read their frames (altstack_flags)",
                  spin="threads the progress counter preempts (counter_spin)",
                  waits="blocking buffered calls (buffered_waits)",
                  shared="processes sharing anonymous memory (shared_between)",
                  writes="a program that writes its pages in every way (write_roads)",
                  vm_process="a process made sharing its parent's memory (clone_vm_process)",
                  late_shared="a program that maps a file writable after many events (late_shared_map)",
                  waiting="a thread waiting in a read while another computes (waiting_thread)",
                  pingpong="two processes that wait for each other in blocking reads (socketpair_pingpong)",
                  wall="waits for clone children, blocked and polled (wait_clone_children)",
                  rusage="a program that reads its children's times (rlimit_rusage)",
                  seccomp="processes under seccomp filters of their own (seccomp_filters)",
                  masks="waits with a signal mask of their own, interrupted (mask_wait_signals)")
    rr = a.rr
    with scratch_dir("rr-copy-") as d:
        for name, program, every, least in (("threads", a.threads, "20", 4), ("forks", a.forks, "20", 2),
                                            ("signals", a.signals, "10", 4), ("spin", a.spin, "10", 4),
                                            ("waits", a.waits, "25", 3), ("writes", a.writes, "10", 5)):
            trace = os.path.join(d, name)
            events, _, out = record(rr, trace, every, [own_copy(program, d)], name, least)
            same_states(rr, trace, events, name)
            for ev in sorted(set(events[len(events) // 2:len(events) // 2 + 1] + events[-1:])):
                replays_on(rr, trace, ev, out, name)
            if name in ("waits", "signals") and events:
                same_task_states(rr, trace, sorted({events[len(events) // 2], events[-1]}), name, d)

        # A thread held inside a blocking call is copied as replay holds it
        # at the call's entry: waiting_thread's reader waits in a read of a
        # pipe the whole run, and every point is copied.
        trace = os.path.join(d, "held")
        events, err, out = record(rr, trace, "50", [own_copy(a.waiting, d), "1000"], "waiting_thread", 15)
        m = REPORT.search(err)
        failures.expect(m is not None and int(m.group(4)) == int(m.group(5)),
                        "waiting_thread: every point copied while a thread waits in a read: %s" % show(err))
        same_states(rr, trace, events[::4], "waiting_thread")
        same_task_states(rr, trace, sorted(set(events[2:3] + events[-1:])), "waiting_thread", d)
        if events:
            replays_on(rr, trace, events[len(events) // 2], out, "waiting_thread")

        # Two processes that wait for each other in blocking reads: while
        # one runs, the other's only thread waits, and no call can be made
        # inside it. Its copy is made from what the recorder knows of it
        # (its signal actions, read when it last ran and kept as its calls
        # and signal deliveries change them; its program break) and its
        # pages read at once: every point is copied. The child's actions
        # change as it runs (SIGUSR2 ignored at its 50th round, SIGUSR1's
        # handler reset by its delivery) and its break moves: the threads
        # saved equal a replay's at events across the run, and replay from
        # the copies goes on to the end (a wrong break would show at its
        # next brk).
        trace = os.path.join(d, "pingpong")
        events, err, out = record(rr, trace, "10", [own_copy(a.pingpong, d)], "socketpair_pingpong", 40)
        m = REPORT.search(err)
        failures.expect(m is not None and int(m.group(4)) == int(m.group(5)),
                        "socketpair_pingpong: every point copied while one process's only thread waits: %s" % show(err))
        same_states(rr, trace, events, "socketpair_pingpong")
        quarter = events[::max(1, len(events) // 4)]
        same_task_states(rr, trace, sorted(set(quarter + events[-1:])), "socketpair_pingpong", d)
        for ev in sorted(set(quarter[1:3] + events[-1:])):
            replays_on(rr, trace, ev, out, "socketpair_pingpong")

        # A copy is a child of its process that only waits for clone
        # children (__WALL, __WCLONE) can see. wait_clone_children waits
        # so, in a thread blocked while the main thread makes calls (no
        # copy is made through the main thread then), then in polls between
        # calls (each poll's entry first
        # ends the copies of the process): every pid its waits return is
        # one of its two children, and the last wait fails with ECHILD.
        trace = os.path.join(d, "wall")
        events, err, out = record(rr, trace, "10", [own_copy(a.wall, d)], "wait_clone_children", 10)
        failures.expect("ECHILD after them; 0 other pids" in out,
                        "wait_clone_children: natively, its waits see only its children: %s" % show(out))
        dump = run([rr, "dump", trace], text=True).stdout
        # The thread's wait4(-1, __WALL) that returns the first child, and
        # its entry event before.
        back = re.search(r"^event (\d+) tid (\d+) syscall wait4\(0xffffffff, 0x[0-9a-f]+, 0x40000000, .*\) = [1-9]",
                         dump, re.M)
        entry = back and list(re.finditer(r"^event (\d+) tid %s syscall entry wait4, returns later" % back.group(2),
                                          dump[:back.start()], re.M))
        entry = entry[-1] if entry else None
        if failures.expect(entry, "wait_clone_children: the thread's wait4(__WALL) has an entry event and returns"):
            inside = [e for e in events if int(entry.group(1)) < e < int(back.group(1))]
            failures.expect(int(back.group(1)) - int(entry.group(1)) > 30 and not inside,
                            "wait_clone_children: no checkpoint copied while a thread waits for clone children "
                            "(events %s to %s): %r" % (entry.group(1), back.group(1), inside))
        same_states(rr, trace, events[::4], "wait_clone_children")
        if events:
            replays_on(rr, trace, events[-1], out, "wait_clone_children")

        # A tracer inside the recording: strace -f starts its child stopped,
        # seizes it and sends it SIGCONT, a stop it must see. The recorder
        # makes no calls inside a traced thread for the copies (a signal
        # that came during them would be held, and strace lose its child):
        # strace reports the same calls of the same processes as natively.
        # (No copy is made while a thread is traced.)
        argv = ["strace", "-f", "-qq", "-e", "trace=execve,exit_group", "sh", "-c",
                "for i in 1 2 3; do /bin/true; done; echo done"]
        calls = re.compile(r"^(?:\[pid +\d+\] )?(\w+)\(|^(--- SIG\w+)", re.M)

        def reported(err):
            return sorted(m.group(1) or m.group(2) for m in calls.finditer(err))
        native = run(argv, text=True)
        r = run([rr, "record", "-o", os.path.join(d, "strace"), "--checkpoint-every", "20"] + argv, timeout=300,
                text=True, env=copy_env())
        failures.expect(r.returncode == 0 and r.stdout == native.stdout and "Stray" not in r.stderr and
                        reported(r.stderr) == reported(native.stderr) and len(reported(native.stderr)) >= 11,
                        "strace -f: recorded with the copying writer, status %d, output %s, strace reported %r; "
                        "natively %r: %s" % (r.returncode, show(r.stdout), reported(r.stderr),
                                             reported(native.stderr), show(r.stderr)))

        # A copy of the program's first process is a child of rr's, which
        # reaps it: its times count nowhere in the program's (rlimit_rusage
        # checks that its children's user time is 0, as natively).
        record(rr, os.path.join(d, "rusage"), "20", [own_copy(a.rusage, d)], "rlimit_rusage", 1)

        # A process under a seccomp filter of its own is not copied (its
        # copy would lack the filter, and a replay from it would run the
        # calls the filter failed), also when it was installed by
        # prctl(PR_SET_SECCOMP) without the syscall buffer, which the
        # recorder once missed: replay from the copies made after it
        # diverged at the first call the filter failed.
        trace = os.path.join(d, "seccomp")
        events, err, out = record(rr, trace, "20", [own_copy(a.seccomp, d)], "seccomp_filters", 1,
                                  ["--no-syscall-buffer"])
        failures.expect(any("has a seccomp filter of the program's" in why for _, why in MISSED.findall(err)),
                        "seccomp_filters: the points while a filter is on are missed, and named: %s" % show(err))
        for ev in events:
            replays_on(rr, trace, ev, out, "seccomp_filters")

        # A wait that puts in a signal mask of its own (ppoll, pselect,
        # epoll_pwait), interrupted: until the signal is delivered the
        # kernel keeps that mask, and a call injected there (a copy, or a
        # read of the thread's kernel state) let the handler run under the
        # program's mask instead ("SIGUSR2 blocked in the handler: no").
        for every in ("1", "3"):
            record(rr, os.path.join(d, "masks" + every), every, [own_copy(a.masks, d)], "mask_wait_signals every " + every,
                   1, ["--no-syscall-buffer"])

        # A call that may write its outputs before it returns (here a read
        # of a socket that waits for all it asked, MSG_WAITALL) is not
        # held: a point while a thread waits inside one waits for its
        # return, and the first such point missed says so.
        _, err, _ = record(rr, os.path.join(d, "waitall"), "50", [own_copy(a.waiting, d), "300", "waitall"],
                           "waiting_thread waitall", 1)
        failures.expect(any("is inside a syscall (a read that waits for all it asked" in why
                            for _, why in MISSED.findall(err)),
                        "waiting_thread waitall: a point missed while a thread waits in recv(MSG_WAITALL), named: %s"
                        % show(err))

        # Shared memory is not copied: its points are missed, named.
        trace = os.path.join(d, "shared")
        events, err, out = record(rr, trace, "5", [own_copy(a.shared, d)], "shared", 0)
        failures.expect(any(re.search(r"shared memory|System V segment|shared and writable", why)
                            for _, why in MISSED.findall(err)),
                        "shared: the points are missed for the shared memory, and named: %s" % show(err))
        same_states(rr, trace, events, "shared")

        # A process made sharing its parent's memory (CLONE_VM without
        # CLONE_THREAD): copies of each would not share it any more.
        trace = os.path.join(d, "vm_process")
        events, err, out = record(rr, trace, "1", [own_copy(a.vm_process, d)], "clone_vm_process", 0)
        dump = run([rr, "dump", trace], text=True).stdout
        windows = []
        for m in re.finditer(r"^event (\d+) tid \d+ syscall clone\(.*= (\d+) \[clone flags (0x[0-9a-f]+)\]", dump, re.M):
            flags = int(m.group(3), 16)
            if flags & 0x100 and not flags & 0x10000:  # CLONE_VM without CLONE_THREAD
                # Until it ends, or execs (a new memory of its own).
                end = re.search(r"^event (\d+) tid %s (?:exit status|syscall execve\(.*\) = 0 )" % m.group(2),
                                dump, re.M)
                if end:
                    windows.append((int(m.group(1)), int(end.group(1))))
        inside = [e for e in events for lo, hi in windows if lo <= e < hi]
        failures.expect(windows and events and not inside,
                        "clone_vm_process: no checkpoint while two processes share their memory (between %r), "
                        "checkpoints at %r" % (windows, events))
        same_states(rr, trace, events[::8], "clone_vm_process")
        # After the last child's exec, while the parent waits for it: the
        # parent's break (moved by that child) is as replay has it, or
        # replay from the copy stops at the parent's next brk.
        if windows:
            after = [e for e in events if e >= windows[-1][1]]
            if failures.expect(after, "clone_vm_process: no checkpoint after the last child's exec, at %r" % events):
                replays_on(rr, trace, after[0], out, "clone_vm_process")

        # A pipeline: each process's copy is made without its descriptors.
        trace = os.path.join(d, "pipeline")
        sh = shutil.which("sh")
        events, _, out = record(rr, trace, "2", [sh, "-c", "yes | head -n 3; seq 1 5 | cat"], "pipeline", 1)
        same_states(rr, trace, events[::3], "pipeline")
        if events:
            replays_on(rr, trace, events[len(events) // 2], out, "pipeline")

        # A file that joins the shared-files list after checkpoints were
        # copied: a replay of the finished trace maps it from its emulated
        # copy, where those checkpoints map the plain one; they are removed.
        trace = os.path.join(d, "late")
        events, err, out = record(rr, trace, "10", [a.late_shared, "400"], "late_shared_map", 0)
        m = re.search(r"rr: (\d+) checkpoints written while recording were removed: a file mapped from a descriptor "
                      r"open for writing joined the shared-files list after them", err)
        failures.expect(m is not None and int(m.group(1)) > 0,
                        "late_shared_map: the checkpoints copied before its file joined the list are removed: %s"
                        % show(err))
        same_states(rr, trace, events, "late_shared_map")

        # python3, by seconds of recording.
        python, script = python_heap_workload(d)
        trace = os.path.join(d, "python")
        events, _, out = record(rr, trace, "0.4s", [python, script], "python3", 2)
        same_states(rr, trace, events[:4], "python3")
        if events:
            replays_on(rr, trace, events[-1], out, "python3")

        env = copy_env()
        env["RR_CHECKPOINT_WRITER"] = "fork"
        r = run([rr, "record", "-o", os.path.join(d, "bad"), "--checkpoint-every", "5", a.threads], text=True, env=env)
        failures.expect(r.returncode != 0 and r.stderr.count("\n") == 1 and "RR_CHECKPOINT_WRITER" in r.stderr
                        and not os.path.exists(os.path.join(d, "bad")),
                        "RR_CHECKPOINT_WRITER=fork: one line and a failure, got %d: %r" % (r.returncode, r.stderr))
    failures.report("checkpoints copied from the recorded processes equal a replay's")


if __name__ == "__main__":
    main()
