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
  and replay went on with it)."""
import os
import re
import shutil

from testlib import Failures, arguments, fatal, run, scratch_dir

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


def main():
    a = arguments(__doc__, program="the vector_regs program", tamper="the fpu_tamper tool")
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
        check_forged_checkpoint(rr, a.tamper, trace, inside, reference, replay_ref)
    failures.report("the FPU state is compared in replay and after a restore")


if __name__ == "__main__":
    main()
