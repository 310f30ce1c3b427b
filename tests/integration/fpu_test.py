#!/usr/bin/env python3
"""The FPU state is compared with the recording, not trusted.

A program keeps values in xmm, ymm, zmm and x87 registers across 120
syscalls of one asm block. Its trace carries an FPU digest per event
(Frame.fpuDigest), so:
- replay reaches the end with the check on;
- a trace whose digest at one event was changed stops `replay -a` with one
  line naming that event, its task and the FPU state (the check can fail);
- a checkpoint forged inside that block (one XSAVE byte of a live register
  flipped, its checksum recomputed) is refused by `rr state -g E` and
  `rr replay -a -g E` with one line naming the checkpoint, the event, the
  task and the FPU state, and both fall back to a replay from the start
  with the right result (before the check, the forged state was restored
  and replay went on with it);
- a sweep of forgeries at random XSAVE bytes of that checkpoint (--sweep N,
  fixed seed; 12 in the suite): each one either makes `rr state -g E` skip
  the file in one line (the state differs from the trace's, or the kernel
  refuses the area: reserved MXCSR bits), or changes nothing the state
  shows (a byte that is no state: the header, padding, a component in its
  initial state, which the kernel ignores); never a different state
  without a word, never a failed command."""
import argparse
import os
import random
import re
import shutil

from testlib import Failures, fatal, run, scratch_dir

failures = Failures()

# XSAVE standard format: XMM8 is at byte 160 + 8 * 16. The program keeps
# a value there in its first asm block.
XMM8_BYTE = 160 + 8 * 16


def rr_lines(stderr):
    return [l for l in stderr.decode(errors="replace").splitlines() if l.startswith("rr:")]


def getpid_events(rr, trace):
    """Events of the getpid calls of the program's first asm block."""
    dump = run([rr, "dump", trace]).stdout.decode()
    return [int(m.group(1)) for m in re.finditer(r"^event (\d+) tid \d+ syscall getpid\(", dump, re.M)]


def check_tampered_digest(rr, tamper, trace, tmp, event):
    copy = os.path.join(tmp, "digest")
    shutil.copytree(trace, copy)
    t = run([tamper, "trace", copy, str(event)])
    if t.returncode != 0:
        fatal("fpu_tamper trace failed: %r" % t.stderr)
    m = re.match(r"tampered event (\d+) tid (\d+)", t.stdout.decode())
    r = run([rr, "replay", "-a", copy], timeout=120)
    lines = rr_lines(r.stderr)
    want = ["event %s" % m.group(1), "tid %s" % m.group(2), "FPU state"]
    if r.returncode == 0:
        failures.append("replay -a of a trace with a changed FPU digest at event %s succeeded" % m.group(1))
    elif len(lines) != 1 or not all(w in lines[0] for w in want):
        failures.append("replay -a with a changed FPU digest: expected one rr: line with %r, got %r" % (want, r.stderr[-500:]))
    else:
        print("ok: changed digest: %s" % lines[0])


def check_forged_checkpoint(rr, tamper, trace, event, reference, replay_ref):
    path = os.path.join(trace, "checkpoints", "%d.rrcp" % event)
    t = run([tamper, "checkpoint", path, str(XMM8_BYTE)])
    if t.returncode != 0:
        fatal("fpu_tamper checkpoint failed: %r" % t.stderr)
    print("forged %s: %s" % (path, t.stdout.decode().strip()))
    tid = re.match(r"forged tid (\d+)", t.stdout.decode()).group(1)
    want = ["skipping checkpoint", path, "event %d" % event, "tid %s" % tid, "FPU state"]
    for what, argv, ref in (("state -g %d" % event, [rr, "state", "-g", str(event), trace], reference),
                            ("replay -a -g %d" % event, [rr, "replay", "-a", "-g", str(event), trace], replay_ref)):
        r = run(argv, timeout=120)
        lines = rr_lines(r.stderr)
        if r.returncode != 0:
            failures.append("%s with a forged checkpoint failed instead of skipping it: %r" % (what, r.stderr[-500:]))
        elif len(lines) != 1 or not all(w in lines[0] for w in want):
            failures.append("%s with a forged checkpoint: expected one rr: line with %r, got %r" % (what, want, r.stderr[-500:]))
        elif r.stdout != ref:
            failures.append("%s after skipping the forged checkpoint differs from a replay from the start" % what)
        else:
            print("ok: %s: %s" % (what, lines[0]))


def forgery_sweep(rr, tamper, trace, tmp, event, reference, count, seed):
    """Forges `count` random XSAVE bytes of the checkpoint at `event`, one
    at a time; returns the counts by verdict."""
    rng = random.Random(seed)
    path = os.path.join(trace, "checkpoints", "%d.rrcp" % event)
    pristine = open(path, "rb").read()
    tally = {"refused": 0, "no state": 0, "silent-wrong": 0, "crash": 0}
    for i in range(count):
        # XSAVE areas are 512 bytes at least; 2696 with AVX-512 here.
        offset = rng.randrange(2696)
        with open(path, "wb") as f:
            f.write(pristine)
        t = run([tamper, "checkpoint", path, str(offset)])
        if t.returncode != 0:
            continue  # past this machine's XSAVE area
        r = run([rr, "state", "-g", str(event), trace], timeout=120)
        lines = rr_lines(r.stderr)
        if r.returncode < 0 or r.returncode != 0:
            failures.append("forged xsave byte %d: rr state failed (%d): %r" % (offset, r.returncode, r.stderr[-300:]))
            tally["crash"] += 1
        elif r.stdout != reference:
            failures.append("forged xsave byte %d: a different state without a word (%r)" % (offset, lines))
            tally["silent-wrong"] += 1
        elif len(lines) == 1 and "skipping checkpoint" in lines[0] and ("FPU state" in lines[0] or "XSAVE" in lines[0]):
            tally["refused"] += 1  # compared with the trace, or refused by the kernel
        elif not lines:
            tally["no state"] += 1
        else:
            failures.append("forged xsave byte %d: unexpected lines %r" % (offset, lines))
            tally["crash"] += 1
    with open(path, "wb") as f:
        f.write(pristine)
    print("forged xsave bytes %d: %s" % (count, ", ".join("%s %d" % kv for kv in tally.items())))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rr", required=True)
    p.add_argument("--program", required=True, help="the vector_regs program")
    p.add_argument("--tamper", required=True, help="the fpu_tamper tool")
    p.add_argument("--sweep", type=int, default=12, help="random XSAVE bytes to forge one by one")
    p.add_argument("--seed", type=int, default=18)
    a = p.parse_args()
    rr = a.rr
    with scratch_dir("rr-fpu-") as tmp:
        trace = os.path.join(tmp, "t")
        r = run([rr, "record", "-q", "-o", trace, a.program])
        if r.returncode != 0:
            fatal("recording failed: %r" % r.stderr)
        native = run([a.program]).stdout
        r = run([rr, "replay", "-a", trace], timeout=120)
        failures.expect(r.returncode == 0 and r.stdout == native,
                        "replay -a with the FPU check: expected exit 0 and %r, got %d, %r, %r" %
                        (native, r.returncode, r.stdout, r.stderr[-300:]))
        events = getpid_events(rr, trace)
        if len(events) < 120:
            fatal("expected at least 120 getpid events, found %d" % len(events))
        # Inside the first block, where xmm8 holds the program's value.
        inside = events[60]
        check_tampered_digest(rr, a.tamper, trace, tmp, inside)
        r = run([rr, "create-checkpoints", "-i", "1", "-s", str(inside), "-e", str(inside), trace], timeout=120)
        if r.returncode != 0 or not os.path.exists(os.path.join(trace, "checkpoints", "%d.rrcp" % inside)):
            fatal("create-checkpoints at event %d failed: %r" % (inside, r.stderr))
        reference = run([rr, "state", "-g", str(inside), "--ignore-pcp", trace], timeout=120).stdout
        replay_ref = run([rr, "replay", "-a", "-g", str(inside), "--ignore-pcp", trace], timeout=120).stdout
        restored = run([rr, "state", "-g", str(inside), trace], timeout=120)
        failures.expect(restored.stdout == reference and not rr_lines(restored.stderr),
                        "the intact checkpoint at %d: expected the state of a replay from the start, no rr: line; got %r"
                        % (inside, restored.stderr[-300:]))
        forgery_sweep(rr, a.tamper, trace, tmp, inside, reference, a.sweep, a.seed)
        check_forged_checkpoint(rr, a.tamper, trace, inside, reference, replay_ref)
    failures.report("the FPU state is compared in replay and after a restore")


if __name__ == "__main__":
    main()
