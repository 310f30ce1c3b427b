#!/usr/bin/env python3
"""Golden checkpoints: every set committed under tests/golden (one per
stable major version of the checkpoint format, see tests/golden/README.md)
must still restore with this rr. For each set: the files carry the versions
they were written with; each checkpoint at an event restores (rr state
through it, with the restore logged) to the state committed with it and to
the state a replay from the start reaches; replay continued from it runs to
the program's end without divergence (the program passes a checksum of its
memory to its last syscalls) and prints the recorded tail; the gdb
checkpoint at a position inside an event restores under gdb to the
registers and bytes committed with it and continues to the end."""
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


def check_event(rr, name, trace, expected_dir, event, output):
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
    tail = run([rr, "replay", "-a", "-g", str(event), trace], text=True, timeout=120)
    failures.expect(tail.returncode == 0 and tail.stderr == "" and tail.stdout and output.endswith(tail.stdout)
                    and tail.stdout.endswith(output.splitlines()[-1] + "\n"),
                    "%s: replay on from the golden checkpoint at %d printed %r (stderr %s), expected the end of %r"
                    % (name, event, tail.stdout, show(tail.stderr), output))


def check_position(rr, name, trace, expected_dir, scratch, output):
    want = open(os.path.join(expected_dir, "position.txt")).read().splitlines()
    script = os.path.join(scratch, "position.gdb")
    with open(script, "w") as f:
        f.write("load-checkpoints\nrestart 1\ninfo registers rip rax rcx\nx/4xb $rax-3\ncontinue\n")
    out = run([rr, "replay", trace, "--", "-batch", "-nx", "-x", script], text=True, timeout=300)
    text = out.stdout + out.stderr
    have = [l for l in text.splitlines() if re.match(r"^(rip|rax|rcx) |^0x[0-9a-f]+:\t", l)]
    failures.expect(have == want, "%s: registers and bytes at the golden gdb checkpoint %r, expected %r\n%s"
                    % (name, have, want, show(text, 3000)))
    # rr ends a replay that reaches the end of the trace as gdb sees a kill.
    failures.expect(output.splitlines()[-1] in text and "Program received signal SIGKILL" in text and "diverge" not in text,
                    "%s: replay continued from the golden gdb checkpoint did not reach the end:\n%s" % (name, show(text, 3000)))


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
            for event in events:
                check_event(a.rr, name, trace, expected_dir, event, output)
            if os.path.exists(os.path.join(expected_dir, "position.txt")):
                check_position(a.rr, name, trace, expected_dir, d, output)
    failures.report("golden checkpoints restore: %s" % ", ".join(sets))


if __name__ == "__main__":
    main()
