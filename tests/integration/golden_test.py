#!/usr/bin/env python3
"""Golden checkpoints: every set committed under tests/golden (one per
stable major version of the checkpoint format, see tests/golden/README.md)
must still restore with this rr. For each set: the files carry the versions
they were written with; each checkpoint at an event restores (rr state
through it, with the restore logged) to the state committed with it and to
the state a replay from the start reaches; replay continued from it runs to
the program's end without divergence (the program passes a checksum of its
memory to its last syscalls) and prints the recorded tail; the gdb
checkpoints at positions inside an event restore under gdb to the
registers and bytes committed with them and continue to the end.

A set with checkpoints of format 7 (memory protection keys) was recorded
from a program that takes keys: on a machine without them its replay
cannot pass pkey_alloc. There the test checks what it can (the files'
versions, the checkpoints before the keys were taken, the gdb positions)
and that the rest is refused with a line naming pkey_alloc, and it says
what it did not check."""
import os
import re
import shutil
import struct

from testlib import Failures, arguments, run, scratch_dir, show

failures = Failures()

# Lines of `rr state` that depend on the machine replaying, not on the
# trace or the checkpoint: the kernel's vDSO and vvar pages and the
# FPU/SSE/AVX area's layout (its digest).
MACHINE_LINES = re.compile(r"\[(vdso|vvar[a-z_]*|vsyscall)\]$|^\s*fpu_hash ")


def portable(state):
    return [l for l in state.splitlines() if not MACHINE_LINES.search(l)]


def check_versions(name, trace, expected_dir):
    want = dict(l.split() for l in open(os.path.join(expected_dir, "versions.txt")).read().splitlines() if l.strip())
    have = {}
    for f in sorted(os.listdir(os.path.join(trace, "checkpoints"))):
        head = open(os.path.join(trace, "checkpoints", f), "rb").read(16)
        have[f] = "%d.%d" % struct.unpack_from("<II", head, 8)
    failures.expect(have == want, "%s: checkpoint files and versions %r, expected %r" % (name, have, want))


def machine_has_pkeys():
    # The kernel enabled memory protection keys (CPUID OSPKE), as rr's own
    # test of the machine does.
    with open("/proc/cpuinfo") as f:
        return any(l.startswith("flags") and " ospke" in l for l in f)


def refused_without_pkeys(rr, name, trace, event):
    """On a machine without protection keys: a state at or after the keys
    were taken is refused, in one line that names pkey_alloc."""
    out = run([rr, "state", "-g", str(event), trace], text=True, timeout=120)
    failures.expect(out.returncode != 0 and "pkey_alloc" in out.stderr and len(out.stderr.strip().splitlines()) <= 2,
                    "%s: on a machine without protection keys, rr state -g %d gave exit %d and stderr %s, expected a "
                    "refusal naming pkey_alloc" % (name, event, out.returncode, show(out.stderr)))


def check_event(rr, name, trace, expected_dir, event, output, to_the_end=True):
    want = open(os.path.join(expected_dir, "state-%d.txt" % event)).read()
    logged = run([rr, "state", "-g", str(event), trace], env=dict(os.environ, RR_LOG="1"), text=True, timeout=120)
    failures.expect(re.search(r"restore \d+: layout", logged.stderr) is not None,
                    "%s: rr state -g %d did not restore the golden checkpoint: %s" % (name, event, show(logged.stderr)))
    via = run([rr, "state", "-g", str(event), trace], text=True, timeout=120)
    failures.expect(via.returncode == 0 and via.stderr == "",
                    "%s: rr state -g %d through the golden checkpoint failed or complained: %s" % (name, event, show(via.stderr)))
    failures.expect(portable(via.stdout) == portable(want),
                    "%s: the state at event %d through the golden checkpoint differs from the committed one:\n%s\nexpected:\n%s"
                    % (name, event, show(via.stdout, 3000), show(want, 3000)))
    replayed = run([rr, "state", "-g", str(event), "--ignore-pcp", trace], text=True, timeout=120)
    failures.expect(replayed.returncode == 0 and replayed.stdout == via.stdout,
                    "%s: the state at event %d through the golden checkpoint differs from a replay's:\n%s\nreplay:\n%s"
                    % (name, event, show(via.stdout, 3000), show(replayed.stdout, 3000)))
    if not to_the_end:
        return
    tail = run([rr, "replay", "-a", "-g", str(event), trace], text=True, timeout=120)
    failures.expect(tail.returncode == 0 and tail.stderr == "" and tail.stdout and output.endswith(tail.stdout)
                    and tail.stdout.endswith(output.splitlines()[-1] + "\n"),
                    "%s: replay on from the golden checkpoint at %d printed %r (stderr %s), expected the end of %r"
                    % (name, event, tail.stdout, show(tail.stderr), output))


def check_position(rr, name, trace, expected_dir, scratch, output, number, to_the_end=True):
    """gdb checkpoint `number` of load-checkpoints (expected/position.txt
    is number 1 in the sets that have one only)."""
    path = os.path.join(expected_dir, "position-%d.txt" % number)
    if not os.path.exists(path):
        path = os.path.join(expected_dir, "position.txt")
    want = open(path).read().splitlines()
    script = os.path.join(scratch, "position.gdb")
    with open(script, "w") as f:
        f.write("load-checkpoints\nrestart %d\ninfo registers rip rax rcx\nx/4xb $rax-3\n%s"
                % (number, "continue\n" if to_the_end else ""))
    out = run([rr, "replay", trace, "--", "-batch", "-nx", "-x", script], text=True, timeout=300)
    text = out.stdout + out.stderr
    have = [l for l in text.splitlines() if re.match(r"^(rip|rax|rcx) |^0x[0-9a-f]+:\t", l)]
    failures.expect(have == want, "%s: registers and bytes at golden gdb checkpoint %d %r, expected %r\n%s"
                    % (name, number, have, want, show(text, 3000)))
    if not to_the_end:
        return
    # rr ends a replay that reaches the end of the trace as gdb sees a kill.
    failures.expect(output.splitlines()[-1] in text and "Program received signal SIGKILL" in text and "diverge" not in text,
                    "%s: replay continued from golden gdb checkpoint %d did not reach the end:\n%s"
                    % (name, number, show(text, 3000)))


def main():
    a = arguments(__doc__, golden="tests/golden, the folder of the golden sets")
    # A set is written once, on one machine, and read on every machine
    # after it: replay's check of the CPU features the program could see
    # (trace/machine.h) would refuse it wherever the cpuid answers differ
    # (a VM moved to another host changed CPUID leaf 7's HLE and RTM bits
    # here, and the test failed on a machine it had passed on). The golden
    # program is static, without libc, and never executes cpuid: no
    # feature can change its path, and replay still compares every event
    # and the program's memory checksum. So the check is waived here.
    os.environ["RR_IGNORE_MACHINE"] = "1"
    skipped = []
    sets = sorted(d for d in os.listdir(a.golden) if os.path.isdir(os.path.join(a.golden, d, "trace")))
    failures.expect(sets, "no golden set in %s" % a.golden)
    for name in sets:
        expected_dir = os.path.join(a.golden, name, "expected")
        with scratch_dir("rr-golden-") as d:
            # A copy: nothing a reader does may touch the committed files.
            trace = os.path.join(d, "trace")
            shutil.copytree(os.path.join(a.golden, name, "trace"), trace)
            check_versions(name, trace, expected_dir)
            output = open(os.path.join(expected_dir, "output.txt")).read()
            events = sorted(int(m.group(1)) for f in os.listdir(expected_dir) for m in [re.match(r"state-(\d+)\.txt$", f)] if m)
            failures.expect(len(events) >= 3, "%s: expected states of 3+ checkpoints, found %r" % (name, events))
            # The events whose states hold pages tagged with protection keys
            # (their checkpoints hold the keys), and whether this machine
            # can replay past the program's pkey_alloc.
            keyed = [e for e in events
                     if re.search(r" pkey \d+$", open(os.path.join(expected_dir, "state-%d.txt" % e)).read(), re.M)]
            replays_keys = not keyed or machine_has_pkeys()
            for event in events:
                if replays_keys or event < min(keyed):
                    check_event(a.rr, name, trace, expected_dir, event, output, to_the_end=replays_keys)
                else:
                    refused_without_pkeys(a.rr, name, trace, event)
            positions = sorted(int(m.group(1) or 1) for f in os.listdir(expected_dir)
                               for m in [re.match(r"position(?:-(\d+))?\.txt$", f)] if m)
            for number in positions:
                check_position(a.rr, name, trace, expected_dir, d, output, number, to_the_end=replays_keys)
            if not replays_keys:
                skipped.append("%s: replay past pkey_alloc, the states at events %s and replay on to the end "
                               "(this machine has no memory protection keys; the program took two)"
                               % (name, ", ".join(str(e) for e in events if e >= min(keyed))))
    for what in skipped:
        print("not checked: " + what)
    failures.report("golden checkpoints restore: %s" % ", ".join(sets))


if __name__ == "__main__":
    main()
