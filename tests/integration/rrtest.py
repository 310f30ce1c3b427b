#!/usr/bin/env python3
"""Records a program with rr, replays it, and checks what a user relies on.

Checks, each with a message that says what was expected and what came:
  - the recording exits as the program does natively (status or signal);
  - record output equals native output (unless the program is nondeterministic);
  - `rr replay -a` exits 0 and prints exactly what the recording printed;
  - `rr state -g E` is byte-identical across two replays, for several events;
  - the same state is reached through a persistent checkpoint, and through
    an in-memory copy of the replay (forked tracees) made earlier.

  - with --trace-max, the trace takes at most that many KiB of disk (a
    sparse file stays sparse in it).

Usage: rrtest.py --rr PATH [--stdin FILE] [--exit N | --signal N] [--nondet]
                 [--cwd DIR] [--states N] [--trace-max KIB] [--record-arg=OPT ...]
                 [--dump-matches REGEX] -- PROGRAM [ARGS...]
"""
import argparse
import difflib
import json
import os
import re

from testlib import fatal, recorder_env, run, scratch_dir, show, show_difference, states_in_one_replay


def expected_status(args):
    return 128 + args.signal if args.signal else args.exit


def disk_kib(path):
    """The disk space the files under `path` take (allocated blocks, so a
    hole counts nothing), in KiB."""
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total // 1024


def check_checkpoints(args, trace, last):
    """Persistent checkpoints: the state reached by restoring the nearest
    checkpoint equals the state reached by replaying from the start, and a
    replay started from a checkpoint prints the same output from there on."""
    interval = max(1, last // 4)
    made = run([args.rr, "create-checkpoints", "-i", str(interval), trace], timeout=args.timeout)
    if made.returncode != 0:
        fatal("rr create-checkpoints failed: %s" % show(made.stderr))
    asked = re.search(rb"requested (\d+) \(every \d+ events from \d+ to \d+\), achieved (\d+)", made.stdout)
    if not asked:
        fatal("rr create-checkpoints did not say what it achieved: %s" % show(made.stdout))
    in_exit = re.search(rb"in the program's exit, from event (\d+), by the checkpoint at (\d+) before it", made.stdout)
    listing = run([args.rr, "checkpoints", "--json", trace], timeout=args.timeout)
    if listing.returncode != 0:
        fatal("rr checkpoints --json failed: %s" % show(listing.stderr))
    entries = json.loads(listing.stdout)
    points = [e["event"] for e in entries]
    if not points:
        fatal("create-checkpoints wrote no checkpoint for a trace of %d events" % last)
    if not all(e["usable"] and e["bytes"] > 0 for e in entries):
        fatal("unusable checkpoints listed: %s" % listing.stdout.decode())
    if args.all_checkpoints:
        # By position, every requested point: a checkpoint at it or less
        # than two intervals after it (where replay skipped events that
        # cannot be saved), or for a point in the program's exit, where
        # nothing can be saved, the one create-checkpoints names before it.
        for g in range(1, last + 1, interval):
            if in_exit and g >= int(in_exit.group(1)):
                if int(in_exit.group(2)) not in points:
                    fatal("no checkpoint at %s, before the program's exit that holds the point %d; checkpoints at %s"
                          % (in_exit.group(2).decode(), g, points))
            elif not any(g <= p < g + 2 * interval for p in points):
                fatal("no checkpoint at or less than 2 intervals (%d events) after the requested point %d; checkpoints "
                      "at %s; %s" % (2 * interval, g, points, show(made.stdout + made.stderr)))
    # Checkpointed events, events between them, and the last live event.
    events = set(points)
    events |= {min(last - 1, p + max(1, interval // 2)) for p in points}
    events.add(max(1, last - 1))
    events = sorted(e for e in events if 1 <= e < last)
    # From the start: every event's state in one replay.
    from_start = states_at(args, trace, events, ["--ignore-pcp"])
    for e in events:
        a = run([args.rr, "state", "-g", str(e), trace], timeout=args.timeout)
        if a.returncode != 0:
            fatal("rr state -g %d (from a checkpoint) failed: %s" % (e, show(a.stderr)))
        if a.stderr:
            fatal("rr state -g %d complained about a checkpoint: %s" % (e, show(a.stderr)))
        if a.stdout != from_start[e]:
            diff = "\n".join(list(difflib.unified_diff(from_start[e].decode().splitlines(), a.stdout.decode().splitlines(),
                                                       "from start", "from checkpoint", lineterm=""))[:30])
            fatal("rr state -g %d differs between a restore and a replay from the start:\n%s" % (e, diff))
    check_clones(args, trace, events, from_start)
    for e in events[:: max(1, len(events) // 3)]:
        a = run([args.rr, "replay", "-a", "-g", str(e), trace], timeout=args.timeout)
        b = run([args.rr, "replay", "-a", "-g", str(e), "--ignore-pcp", trace], timeout=args.timeout)
        want = expected_status(args)
        if a.returncode != want or b.returncode != want:
            fatal("rr replay -a -g %d exited %d and %d, expected the program's %d: %s | %s"
                  % (e, a.returncode, b.returncode, want, show(a.stderr), show(b.stderr)))
        if a.stdout != b.stdout or a.stderr != b.stderr:
            fatal("rr replay -a -g %d prints another tail from a checkpoint\n from start: %s\n from checkpoint: %s"
                  % (e, show(b.stdout), show(a.stdout)))
    return events


def states_at(args, trace, events, extra):
    """`rr state -g E1,E2,...` (one replay): each event's state, by event."""
    states = states_in_one_replay(args.rr, trace, events, *extra, timeout=args.timeout)
    if isinstance(states, str):
        fatal(states)
    return states


def check_clones(args, trace, events, from_start):
    """In-memory copies: a replay forked at event C (or the first event after
    it where a copy can be made) and run on to E reaches the state a replay
    from the start reaches (`from_start`, by event), and so does its source
    (rr state checks that)."""
    for e in events[:: max(1, len(events) // 2)]:
        c = max(1, e // 2)
        a = run([args.rr, "state", "--clone-at", str(c), "-g", str(e), "--ignore-pcp", trace], timeout=args.timeout)
        if a.returncode != 0 and (b"a PID namespace the program created" in a.stderr or
                                  b"which in-memory copies cannot" in a.stderr):
            continue  # copies refuse such states, saying so (README, "What works today")
        if a.returncode != 0:
            fatal("rr state --clone-at %d -g %d failed: %s" % (c, e, show(a.stderr)))
        if a.stdout != from_start[e]:
            diff = "\n".join(list(difflib.unified_diff(from_start[e].decode().splitlines(), a.stdout.decode().splitlines(),
                                                       "from start", "through a copy", lineterm=""))[:30])
            fatal("rr state -g %d differs between a replay copied at %d and one from the start:\n%s" % (e, c, diff))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rr", required=True)
    p.add_argument("--stdin")
    p.add_argument("--exit", type=int, default=0)
    p.add_argument("--signal", type=int, default=0)
    p.add_argument("--nondet", action="store_true")
    p.add_argument("--cwd")
    p.add_argument("--states", type=int, default=3, help="events at which to compare rr state")
    p.add_argument("--timeout", type=int, default=600)
    # Checks another issue owns, named with why (printed with the result):
    # the recording and its replay are compared all the same.
    p.add_argument("--no-checkpoints", metavar="WHY", help="skip the checkpoint and copy checks")
    p.add_argument("--all-checkpoints", action="store_true",
                   help="every requested point of create-checkpoints gets a checkpoint at it or less than"
                        " two intervals after it (or, in the program's exit, just before that)")
    p.add_argument("--no-states", metavar="WHY", help="skip rr state, checkpoints and copies")
    p.add_argument("--trace-max", type=int, help="KiB of disk the trace may take")
    p.add_argument("--record-arg", action="append", default=[], help="an extra rr record option")
    p.add_argument("--dump-matches", metavar="REGEX", help="rr dump of the recording must match REGEX")
    p.add_argument("--stderr-has", metavar="REGEX", help="native and recorded stderr must match REGEX")
    p.add_argument("argv", nargs="+")
    args = p.parse_args()

    with scratch_dir("rrtest-", keep_on_failure=True) as tmp:
        # The native run gets what the recorder adds to the environment.
        env = dict(os.environ, **recorder_env(args.rr, tmp))
        trace = os.path.join(tmp, "trace")
        native = run(args.argv, timeout=args.timeout, stdin=args.stdin, cwd=args.cwd, env=env)
        want = expected_status(args)
        native_status = native.returncode if native.returncode >= 0 else 128 - native.returncode
        if native_status != want:
            fatal("native run exited %d, the test expects %d; stderr: %s" % (native_status, want, show(native.stderr)))

        rec = run([args.rr, "record", "-q", "-o", trace] + args.record_arg + args.argv, timeout=args.timeout, stdin=args.stdin, cwd=args.cwd,
                  env=env)
        if rec.returncode != want:
            fatal("rr record exited %d, expected the program's status %d; stderr: %s"
                  % (rec.returncode, want, show(rec.stderr)))
        if re.search(rb"^rr: ", rec.stderr, re.M) and not re.search(rb"^rr: ", native.stderr, re.M):
            fatal("rr record reported an error: %s" % show(rec.stderr))
        if args.stderr_has:
            for name, got in (("native", native), ("record", rec)):
                if not re.search(args.stderr_has.encode(), got.stderr):
                    fatal("%s stderr does not match %r: %s" % (name, args.stderr_has, show(got.stderr)))
        if not args.nondet:
            if rec.stdout != native.stdout:
                fatal("record stdout differs from native stdout, %s"
                      % show_difference(native.stdout, rec.stdout, ("native", "record")))

        if args.dump_matches:
            dump = run([args.rr, "dump", trace], timeout=args.timeout)
            if dump.returncode != 0 or not re.search(args.dump_matches.encode(), dump.stdout):
                fatal("rr dump of the recording has no line matching %r (exit %d); stderr: %s"
                      % (args.dump_matches, dump.returncode, show(dump.stderr)))

        if args.trace_max is not None:
            used = disk_kib(trace)
            if used > args.trace_max:
                fatal("the trace takes %d KiB of disk, more than the %d KiB expected" % (used, args.trace_max))

        rep = run([args.rr, "replay", "-a", trace], timeout=args.timeout)
        if rep.returncode != want:
            fatal("rr replay -a exited %d, expected the program's status %d as the recording; stderr: %s"
                  % (rep.returncode, want, show(rep.stderr)))
        if rep.stdout != rec.stdout:
            fatal("replay stdout differs from record stdout, %s"
                  % show_difference(rec.stdout, rep.stdout, ("record", "replay")))
        if rep.stderr != rec.stderr:
            fatal("replay stderr differs from record stderr\n record: %s\n replay: %s"
                  % (show(rec.stderr), show(rep.stderr)))

        dump = run([args.rr, "dump", trace], timeout=args.timeout)
        if dump.returncode != 0:
            fatal("rr dump failed: %s" % show(dump.stderr))
        events = [int(m) for m in re.findall(rb"^event (\d+) ", dump.stdout, re.M)]
        if not events or events != list(range(1, len(events) + 1)):
            fatal("rr dump does not list events 1..N in order")
        last = events[-1]
        if args.no_states:
            print("ok: %d events; rr state, checkpoints and copies not checked: %s" % (last, args.no_states))
            return
        picks = sorted({max(1, (last - 1) * k // args.states) for k in range(1, args.states + 1)} | {1})
        # Two replays (each through the picks in one run) agree.
        a, b = states_at(args, trace, picks, []), states_at(args, trace, picks, [])
        for e in picks:
            if a[e] != b[e]:
                fatal("rr state -g %d differs between two replays" % e)
        if args.no_checkpoints:
            print("ok: %d events, states compared at %s; checkpoints and copies not checked: %s"
                  % (last, picks, args.no_checkpoints))
            return
        checked = check_checkpoints(args, trace, last)
        print("ok: %d events, states compared at %s; checkpoint roads agree at %s" % (last, picks, checked))


if __name__ == "__main__":
    main()
