#!/usr/bin/env python3
"""Checkpoints of a program that holds memory protection keys (issue 19,
point 1). tests/programs' pkeys allocates a key, tags a page with it
(pkey_mprotect), denies itself access through the key (PKRU) and touches
the page: a SIGSEGV with SEGV_PKUERR, whose handler tags the page with the
default key again; then it frees the key.

Recorded once, with a checkpoint asked at every event. Between pkey_alloc
and pkey_free:
- a checkpoint is written at every event where one can be (none refused
  for the keys), as format 7 (what a 6.x reader would restore untagged);
  after pkey_free the program holds none and the file is 6 or older again;
- `rr state` by the checkpoint equals `rr state` by a replay from the
  start, and while the page is tagged its mapping names the key;
- a replay on from each checkpoint prints the recording's output from
  there, the SEGV_PKUERR fault included from a checkpoint before it.
On a machine whose kernel has no protection keys the program says so; the
test then exits 77, which ctest shows as skipped (not passed)."""
import os
import re
import struct
import sys

from testlib import Failures, arguments, run, scratch_dir, show, state_at, usable_checkpoint_events

failures = Failures()


def major_of(path):
    with open(path, "rb") as f:
        return struct.unpack("<I", f.read(12)[8:12])[0]


def main():
    a = arguments(__doc__, program="the pkeys test program, built")
    with scratch_dir("rr-pkeys-", keep_on_failure=True) as d:
        trace = os.path.join(d, "t")
        rec = run([a.rr, "record", "-q", "-o", trace, a.program])
        if rec.returncode != 0:
            failures.expect(False, "recording failed: %s" % show(rec.stderr))
            failures.report("")
        if b"no protection keys here" in rec.stdout:
            print("skipped: this kernel has no memory protection keys (%s)" % show(rec.stdout))
            sys.exit(77)
        failures.expect(b"SEGV_PKUERR" in rec.stdout, "the recording did not fault through the key: %s" % show(rec.stdout))
        dump = run([a.rr, "dump", trace], text=True).stdout
        calls = {m.group(2): int(m.group(1)) for m in re.finditer(r"^event (\d+) tid \d+ syscall (pkey_alloc|pkey_free)\(", dump, re.M)}
        tags = [(int(m.group(1)), m.group(2)) for m in
                re.finditer(r"^event (\d+) tid \d+ syscall pkey_mprotect\([^,]+, [^,]+, [^,]+, (0x[0-9a-f]+),", dump, re.M)]
        tag = [e for e, key in tags if key != "0x0"]
        untag = [e for e, key in tags if key == "0x0"]
        if "pkey_alloc" not in calls or "pkey_free" not in calls or not tag or not untag:
            failures.expect(False, "no pkey_alloc, pkey_mprotect to a key and back, or pkey_free event in the dump")
            failures.report("")
        alloc, free, tagged_at, untagged = calls["pkey_alloc"], calls["pkey_free"], tag[0], untag[0]
        fault = re.search(r"^event (\d+) tid \d+ signal Segmentation fault", dump, re.M)
        faulted = int(fault.group(1)) if fault else untagged
        made = run([a.rr, "create-checkpoints", "-i", "1", trace])
        failures.expect(made.returncode == 0 and b"protection keys" not in made.stdout + made.stderr,
                        "create-checkpoints refused or failed: %s" % show(made.stdout + made.stderr))
        points = usable_checkpoint_events(a.rr, trace, failures)
        held = [e for e in points if alloc <= e < free]
        # Events inside the signal's delivery have no checkpoint of their own.
        failures.expect(len(held) >= free - alloc - 2, "checkpoints while the key is held: %s (pkey_alloc at %d, pkey_free "
                        "at %d)" % (held, alloc, free))
        for e in held:
            failures.expect(major_of(os.path.join(trace, "checkpoints", "%d.rrcp" % e)) == 7,
                            "the checkpoint at %d, the key held, is not format 7" % e)
        after = [e for e in points if e >= free]
        failures.expect(after and major_of(os.path.join(trace, "checkpoints", "%d.rrcp" % after[0])) < 7,
                        "the checkpoint at %s, after pkey_free, is still format 7" % after[:1])
        tagged_seen = 0
        for e in held + after[:1]:
            by_ckpt, by_replay = state_at(a.rr, trace, e), state_at(a.rr, trace, e, "--ignore-pcp")
            failures.expect(by_ckpt.returncode == 0 and by_ckpt.stdout == by_replay.stdout and not by_ckpt.stderr,
                            "rr state -g %d differs between the checkpoint and a replay from the start: %s" %
                            (e, show((by_ckpt.stdout + by_ckpt.stderr).encode())))
            tagged = re.search(r"^map .* pkey [1-9]", by_ckpt.stdout, re.M) is not None
            tagged_seen += tagged
            failures.expect(tagged == (tagged_at <= e < untagged),
                            "at event %d the state %s a mapping tagged with a key" % (e, "shows" if tagged else "does not show"))
            on, plain = (run([a.rr, "replay", "-a", "-g", str(e), trace] + x) for x in ([], ["--ignore-pcp"]))
            failures.expect(on.returncode == 0 and on.stdout == plain.stdout,
                            "rr replay -a -g %d prints another tail from its checkpoint: %s against %s" %
                            (e, show(on.stdout + on.stderr), show(plain.stdout)))
            if e < faulted:
                failures.expect(b"SEGV_PKUERR" in on.stdout, "a replay on from %d did not fault through the key: %s" %
                                (e, show(on.stdout)))
        failures.expect(tagged_seen > 0, "no state showed the tagged page")
    failures.report("ok: checkpoints at %d events holding the key (pkey_alloc %d, pkey_free %d), %d of them with the "
                    "page tagged" % (len(held), alloc, free, tagged_seen))


main()
