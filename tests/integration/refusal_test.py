#!/usr/bin/env python3
"""What recording cannot follow stops it with one line naming it, and a
non-zero exit, before the call returns to the program: a 32-bit syscall
(int $0x80) from a 64-bit program, which read as the 64-bit call of its
number would be recorded wrong; process_vm_writev into another process;
a mapping of a BPF map (memory the kernel changes unseen); prctl(PR_SET_TSC),
which would undo the recorder's rdtsc trap; a write to a file the program
maps from a read-only descriptor, which replay maps from a copy that does
not change."""
import os

from testlib import arguments, fatal, run, scratch_dir


def main():
    a = arguments(__doc__, program="tests/refusals/int80", refused_calls="tests/refusals/refused_calls",
                  ro_mapped="tests/refusals/ro_mapped_change")
    cases = [
        ([a.program], "32-bit syscalls (int $0x80, number 20) are not supported yet", b"getpid"),
        ([a.refused_calls, "vm_writev"], "process_vm_writev into another process is not supported yet", b"after"),
        ([a.refused_calls, "mmap_bpf"], "mmap of anon_inode:bpf-map (not a regular file) is not supported yet", b"after"),
        ([a.refused_calls, "set_tsc"], "prctl(PR_SET_TSC) is not supported yet", b"after"),
        ([a.ro_mapped], "pwrite64 changed a file the program maps from a read-only descriptor", b"the mapping shows"),
    ]
    with scratch_dir("rr-refuse-") as tmp:
        for i, (argv, message, past) in enumerate(cases):
            rec = run([a.rr, "record", "-q", "-o", os.path.join(tmp, "t%d" % i)] + argv)
            err = rec.stderr.decode()
            if rec.returncode == 0:
                fatal("recording %s exited 0: %r" % (argv, err))
            if message not in err:
                fatal("expected the refusal %r for %s; got %r" % (message, argv, err))
            if past in rec.stdout:
                fatal("%s went on past the refused call: %r" % (argv, rec.stdout))
            print("ok: %s" % err.strip())


if __name__ == "__main__":
    main()
