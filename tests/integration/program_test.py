#!/usr/bin/env python3
"""Runs rrtest.py for one tracee program, with the options its line in
tests/programs/manifest.txt gives. RR_TEST_RECORD_ARGS in the environment
adds rr record options to every program's recording, so that the program
tests run with another way of recording, e.g.
`RR_TEST_RECORD_ARGS=--no-progress-counter ctest -R program.`; --record-arg
adds one for this test (the program_nobuffer.* tests record with
--no-syscall-buffer, and --no-progress-counter but for the counter's own
programs)."""
import argparse
import os
import re
import shlex
import subprocess
import sys

from testlib import fatal, rrtest_argv


def manifest_entry(srcdir, name):
    with open(os.path.join(srcdir, "manifest.txt")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.split()[0] != name:
                continue
            # key=value or key="value with spaces"
            return {k: (v[1:-1] if v.startswith('"') else v)
                    for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', line)}
    fatal("%s is not in the manifest" % name)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rr", required=True, help="the rr under test")
    p.add_argument("--bindir", required=True, help="the built test programs")
    p.add_argument("--srcdir", required=True, help="tests/programs, with manifest.txt")
    p.add_argument("--name", required=True, help="the program to test")
    p.add_argument("--record-arg", action="append", default=[], help="an rr record option for this test (repeatable)")
    a = p.parse_args()
    opts = manifest_entry(a.srcdir, a.name)
    cmd = rrtest_argv(a.rr)
    if "stdin" in opts:
        cmd += ["--stdin", os.path.join(a.srcdir, opts["stdin"])]
    if "exit" in opts:
        cmd += ["--exit", opts["exit"]]
    if "signal" in opts:
        cmd += ["--signal", opts["signal"]]
    if "trace_max" in opts:
        cmd += ["--trace-max", opts["trace_max"]]
    if "states" in opts:
        cmd += ["--states", opts["states"]]
    record = shlex.split(opts.get("record", "")) + a.record_arg + shlex.split(os.environ.get("RR_TEST_RECORD_ARGS", ""))
    buffered = True  # the syscall buffer (on by default): the last of its options says
    for arg in record:
        if arg in ("--syscall-buffer", "--no-syscall-buffer"):
            buffered = arg == "--syscall-buffer"
    counter = True  # the progress counter (on by default): the last of its options says
    for arg in record:
        if arg in ("--progress-counter", "--no-progress-counter"):
            counter = arg == "--progress-counter"
    if opts.get("nondet") == "1" or (opts.get("nondet_buffered") == "1" and buffered) or \
            (opts.get("nondet_counter") == "1" and counter):
        cmd += ["--nondet"]
    if opts.get("checkpoints") != "partial":
        cmd += ["--all-checkpoints"]
    for arg in record:
        cmd += ["--record-arg=" + arg]
    if "dump" in opts:
        cmd += ["--dump-matches", opts["dump"]]
    if "dump_buffered" in opts:
        # Without the buffer the same calls are traced events: the dump's
        # syscall lines are what the test then looks for.
        cmd += ["--dump-matches", opts["dump_buffered"] if buffered else opts.get("dump_traced", ".")]
    cmd += ["--", os.path.join(a.bindir, a.name)] + shlex.split(opts.get("args", ""))
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":
    main()
