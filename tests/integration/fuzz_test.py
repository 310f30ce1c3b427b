#!/usr/bin/env python3
"""A quick mutation test of the trace and checkpoint readers (fixed seed).

A small trace with persistent checkpoints is recorded once; each mutant
copies it and damages one part (a flipped byte, a cut, a zeroed or
repeated range) of the events, header, sums, shared-files, a copy in
files/ or a checkpoint. Then `rr state -g LAST` and `rr dump` must either
print exactly what they print for the intact trace, or fail with exactly
one "rr:" line; never crash, hang or print something else. A damaged
checkpoint may be skipped (one line) for the same state.

    fuzz_test.py --rr RR --program PROG [--mutants N] [--seed S] [--all-commands]

The suite runs 300 mutants (about 15 s), its sanitized run 150 others;
run it by hand with --mutants 5000 and other seeds for a longer search. --all-commands judges `rr ps`, `rr replay -a`
and `rr checkpoints` on each mutant too. The counts at the end are per
command run, for mutants of the trace and of its checkpoints apart."""
import argparse
import os
import random
import shutil

from testlib import Failures, fatal, sanitized_run, scratch_dir, try_run

failures = Failures()
# Seconds a command on a (damaged) trace of a tiny program may take before it
# counts as a hang.
MUTANT_TIMEOUT = 20


def parts(trace):
    out = []
    for root, _, names in os.walk(trace):
        for n in names:
            p = os.path.join(root, n)
            if os.path.getsize(p) > 0:
                out.append(os.path.relpath(p, trace))
    return sorted(out)


def mutate(rng, path):
    data = bytearray(open(path, "rb").read())
    kind = rng.choice(["flip", "flip", "flip", "cut", "zero", "repeat"])
    at = rng.randrange(len(data))
    if kind == "flip":
        data[at] ^= 1 << rng.randrange(8)
    elif kind == "cut":
        del data[at:]
    elif kind == "zero":
        n = rng.randint(1, 64)
        data[at:at + n] = bytes(len(data[at:at + n]))
    else:
        n = rng.randint(1, 256)
        data[at:at] = data[at:at + n]
    st = os.stat(path)
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(bytes(data))
    # Listings show a checkpoint's time of writing: the damage keeps it.
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return "%s at %d" % (kind, at)


def flags_damage(got, reference):
    """For `rr checkpoints`: every line that differs from the intact listing
    marks its file unusable (the listing's way of reporting a bad file)."""
    ref = set(reference.decode(errors="replace").splitlines())
    changed = [l for l in got.decode(errors="replace").splitlines() if l not in ref]
    return bool(changed) and all("unusable" in l for l in changed)


def without_sizes(listing):
    """An `rr checkpoints` listing without its BYTES column."""
    return [l.split()[:1] + l.split()[2:] for l in listing.decode(errors="replace").splitlines()]


def judge(name, what, got, reference):
    if got is None:
        failures.append("%s: %s hung" % (name, what))
        return "hang"
    lines = [l for l in got.stderr.decode(errors="replace").splitlines() if l.startswith("rr:")]
    if got.returncode < 0:
        failures.append("%s: %s crashed (signal %d): %r" % (name, what, -got.returncode, got.stderr[-300:]))
        return "crash"
    if got.returncode == 0:
        if what == "checkpoints" and got.stdout != reference:
            if flags_damage(got.stdout, reference):
                return "error"
            if without_sizes(got.stdout) == without_sizes(reference):
                return "same"  # the damage made the file longer or shorter, as listed
        if got.stdout != reference:
            failures.append("%s: %s printed a different result without an error" % (name, what))
            return "silent"
        others = [l for l in lines if "skipping checkpoint" not in l]
        if others:
            failures.append("%s: %s succeeded but said %r" % (name, what, others))
            return "silent"
        # A damaged checkpoint reported in one line and passed over.
        return "skipped" if lines else "same"
    if len(lines) != 1:
        failures.append("%s: %s failed without exactly one rr: line: %r" % (name, what, got.stderr[-300:]))
        return "unclear"
    return "error"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rr", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--mutants", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--all-commands", action="store_true")
    a = ap.parse_args()
    # The sanitized build's run (RR_TEST_SANITIZED=1, scripts/run-tests)
    # tries 150 other mutants: under ASan each command takes about 5 times
    # as long, and the plain build's run has tried the suite's 300.
    sanitized = sanitized_run()
    if a.mutants is None:
        a.mutants = 150 if sanitized else 300
    if a.seed is None:
        a.seed = 20261203 if sanitized else 20261202
    rng = random.Random(a.seed)
    with scratch_dir("rr-fuzz-") as tmp:
        good = os.path.join(tmp, "good")
        r = try_run([a.rr, "record", "-q", "-o", good, a.program], timeout=120)
        if not r or r.returncode != 0:
            fatal("cannot record %s" % a.program)
        try_run([a.rr, "create-checkpoints", "-i", "10", good], timeout=120)
        dump = try_run([a.rr, "dump", good], timeout=MUTANT_TIMEOUT)
        last = int(dump.stdout.decode().strip().splitlines()[-1].split()[1])
        state_ref = try_run([a.rr, "state", "-g", str(last), good], timeout=MUTANT_TIMEOUT).stdout
        # (name, arguments after rr and before the trace, reference output with
        # the trace's path as TRACE)
        commands = [("state", ["state", "-g", str(last)], state_ref),
                    ("dump", ["dump"], dump.stdout.replace(good.encode(), b"TRACE"))]
        if a.all_commands:
            for name, argv in (("ps", ["ps"]), ("replay -a", ["replay", "-a"]), ("checkpoints", ["checkpoints"])):
                ref = try_run([a.rr] + argv + [good], timeout=MUTANT_TIMEOUT).stdout
                commands.append((name, argv, ref.replace(good.encode(), b"TRACE")))
        targets = parts(good)
        tally = {}
        by_part = {}
        for i in range(a.mutants):
            part = rng.choice(targets)
            d = os.path.join(tmp, "m")
            shutil.rmtree(d, ignore_errors=True)
            shutil.copytree(good, d)
            how = mutate(rng, os.path.join(d, part))
            name = "mutant %d (%s: %s)" % (i, part, how)
            kind = "checkpoint" if part.startswith("checkpoints/") else "trace"
            counts = by_part.setdefault(kind, {"mutants": 0})
            counts["mutants"] += 1
            for what, argv, ref in commands:
                verdict = judge(name, what, try_run([a.rr] + argv + [d], timeout=MUTANT_TIMEOUT),
                                ref.replace(b"TRACE", d.encode()))
                tally[verdict] = tally.get(verdict, 0) + 1
                counts[verdict] = counts.get(verdict, 0) + 1
        print("mutants %d, commands: %s" % (a.mutants, ", ".join("%s %d" % kv for kv in sorted(tally.items()))))
        for kind in sorted(by_part):
            print("  %s mutants: %s" % (kind, ", ".join("%s %d" % kv for kv in sorted(by_part[kind].items()))))
    failures.report("no crash, hang or silent difference", most=40)


if __name__ == "__main__":
    main()
