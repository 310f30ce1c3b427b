#!/usr/bin/env python3
"""Checkpoints of a program that holds memory protection keys (issue 19,
point 1). tests/programs' pkeys allocates a key, tags a page with it
(pkey_mprotect), denies itself access through the key (PKRU) and touches
the page: a SIGSEGV with SEGV_PKUERR, whose handler tags the page with the
default key again; then it frees the key.

The program then takes a key again, tags the page with it and frees it
while the page still carries it (the kernel allows that). Recorded once,
with a checkpoint asked at every event. Wherever a key is held or carried:
- a checkpoint is written at every event where one can be (none refused
  for the keys), as format 7 (what a 6.x reader would restore untagged);
  elsewhere the file is 6 or older;
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
            print("skipped: this machine has no memory protection keys (its kernel did not enable them, CPUID OSPKE "
                  "clear, so pkey_alloc fails), and with no key to hold or page to tag there is nothing for a "
                  "checkpoint to save; the program said: %s" % show(rec.stdout))
            sys.exit(77)
        failures.expect(b"SEGV_PKUERR" in rec.stdout, "the recording did not fault through the key: %s" % show(rec.stdout))
        dump = run([a.rr, "dump", trace], text=True).stdout
        # Where keys are held ([pkey_alloc, pkey_free)) and where the page
        # carries one ([pkey_mprotect to a key, pkey_mprotect to 0)), from
        # the dump's events in order.
        held, tagged, opened = [], [], {}
        for m in re.finditer(r"^event (\d+) tid \d+ syscall (pkey_alloc|pkey_free|pkey_mprotect)\(([^)]*)\)", dump, re.M):
            e, call, args = int(m.group(1)), m.group(2), m.group(3).split(", ")
            if call == "pkey_alloc":
                opened["held"] = e
            elif call == "pkey_free" and "held" in opened:
                held.append((opened.pop("held"), e))
            elif call == "pkey_mprotect" and args[3] != "0x0":
                opened["tagged"] = e
            elif call == "pkey_mprotect" and "tagged" in opened:
                tagged.append((opened.pop("tagged"), e))
        within = lambda e, spans: any(lo <= e < hi for lo, hi in spans)
        if len(held) != 2 or len(tagged) != 2 or not held[1][1] < tagged[1][1]:
            failures.expect(False, "expected two keys held and the page tagged twice, the second time past the key's "
                            "pkey_free: held %s, tagged %s" % (held, tagged))
            failures.report("")
        fault = re.search(r"^event (\d+) tid \d+ signal Segmentation fault", dump, re.M)
        faulted = int(fault.group(1)) if fault else tagged[0][1]
        made = run([a.rr, "create-checkpoints", "-i", "1", trace])
        failures.expect(made.returncode == 0 and b"protection keys" not in made.stdout + made.stderr,
                        "create-checkpoints refused or failed: %s" % show(made.stdout + made.stderr))
        points = usable_checkpoint_events(a.rr, trace, failures)
        first, last = held[0][0], tagged[1][1]
        keyed = [e for e in points if within(e, held) or within(e, tagged)]
        # Events inside the signal's delivery have no checkpoint of their own.
        wanted = sum(hi - lo for lo, hi in held) + (tagged[1][1] - held[1][1])
        failures.expect(len(keyed) >= wanted - 2, "checkpoints where a key is held or carried: %s (held %s, tagged %s)"
                        % (keyed, held, tagged))
        for e in [e for e in points if first - 2 <= e <= last + 2]:
            major = major_of(os.path.join(trace, "checkpoints", "%d.rrcp" % e))
            failures.expect((major == 7) == (e in keyed), "the checkpoint at %d is format %d (held %s, tagged %s)"
                            % (e, major, held, tagged))
        after_free = [e for e in keyed if within(e, [(held[1][1], tagged[1][1])])]
        failures.expect(after_free, "no checkpoint while the page carries a key that was freed: %s" % keyed)
        tagged_seen = 0
        for e in keyed + [e for e in points if e >= last][:1]:
            by_ckpt, by_replay = state_at(a.rr, trace, e), state_at(a.rr, trace, e, "--ignore-pcp")
            failures.expect(by_ckpt.returncode == 0 and by_ckpt.stdout == by_replay.stdout and not by_ckpt.stderr,
                            "rr state -g %d differs between the checkpoint and a replay from the start: %s" %
                            (e, show((by_ckpt.stdout + by_ckpt.stderr).encode())))
            shows = re.search(r"^map .* pkey [1-9]", by_ckpt.stdout, re.M) is not None
            tagged_seen += shows
            failures.expect(shows == within(e, tagged),
                            "at event %d the state %s a mapping tagged with a key" % (e, "shows" if shows else "does not show"))
            on, plain = (run([a.rr, "replay", "-a", "-g", str(e), trace] + x) for x in ([], ["--ignore-pcp"]))
            failures.expect(on.returncode == 0 and on.stdout == plain.stdout,
                            "rr replay -a -g %d prints another tail from its checkpoint: %s against %s" %
                            (e, show(on.stdout + on.stderr), show(plain.stdout)))
            if e < faulted:
                failures.expect(b"SEGV_PKUERR" in on.stdout, "a replay on from %d did not fault through the key: %s" %
                                (e, show(on.stdout)))
        failures.expect(tagged_seen > 0, "no state showed the tagged page")
    failures.report("ok: checkpoints at %d events where a key is held or carried (held %s, tagged %s), %d of them with "
                    "the page tagged, %d past the key's pkey_free" % (len(keyed), held, tagged, tagged_seen, len(after_free)))


main()
