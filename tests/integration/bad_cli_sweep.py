#!/usr/bin/env python3
"""Every command with bad command lines: one clear line, a non-zero exit.

Builds a sweep of bad command lines from a table (each subcommand with
unknown options, options without their value, values that are not numbers,
negative, zero, too large or contradictory, extra or missing positional
arguments, traces that do not exist or are no trace, very long and empty
arguments) and runs each on a small trace. Each must exit non-zero with
exactly one "rr:" line on stderr, no signal and no hang. A bad line that rr
accepts (exit 0) is reported as such: the input was wrong and rr said
nothing. The count line at the end gives tried, clean error, unclear (a
refusal without exactly one line), accepted, crash, hang.

    bad_cli_sweep.py --rr RR --program PROG"""
import argparse
import os

from testlib import Failures, fatal, scratch_dir, try_run

failures = Failures()
TIMEOUT = 60
LONG = "x" * 5000


def sweep(trace, missing, not_trace, tmp):
    """(name, argv after rr) of each bad command line."""
    bad_events = ["abc", "-1", "0x10", "", "1.5", "99999999999999999999", "18446744073709551616", " 5", "5 "]
    out = []
    # The commands that take a trace, and their options with a value.
    with_values = {
        "replay": ["-g", "-p", "-f", "-s"],
        "state": ["-g", "-p", "--memory"],
        "create-checkpoints": ["-i", "-s", "-e", "--codec"],
        "dump": [],
        "ps": [],
        "checkpoints": [],
    }
    for cmd, opts in with_values.items():
        base = [cmd, "-a"] if cmd == "replay" else [cmd]
        out.append(("%s unknown option" % cmd, base + ["--frobnicate", trace]))
        out.append(("%s unknown short option" % cmd, base + ["-Z", trace]))
        out.append(("%s missing trace" % cmd, base + [missing]))
        out.append(("%s not a trace" % cmd, base + [not_trace]))
        out.append(("%s two traces" % cmd, base + [trace, trace]))
        out.append(("%s empty trace name" % cmd, base + [""]))
        out.append(("%s very long trace name" % cmd, base + [LONG]))
        for o in opts:
            out.append(("%s %s without its value" % (cmd, o), base + [trace, o]))
            for v in bad_events:
                if o == "--codec":
                    continue
                out.append(("%s %s %r" % (cmd, o, v), base + [o, v, trace]))
        if "-g" in opts:
            out.append(("%s -g past the end" % cmd, base + ["-g", "100000000", trace]))
            out.append(("%s -g twice" % cmd, base + ["-g", "3", "-g", "4", trace]))
    out += [
        ("no command", []),
        ("unknown command", ["frobnicate"]),
        ("empty command", [""]),
        ("record without a program", ["record"]),
        ("record -o without a dir", ["record", "-o"]),
        ("record into an existing trace", ["record", "-o", trace, "/bin/true"]),
        ("record a missing program", ["record", "-o", os.path.join(tmp, "r1"), "/nonexistent/prog"]),
        ("record a directory", ["record", "-o", os.path.join(tmp, "r2"), "/tmp"]),
        ("record unknown option", ["record", "--frobnicate", "/bin/true"]),
        ("record -o into a missing folder", ["record", "-o", os.path.join(tmp, "no", "such", "dir"), "/bin/true"]),
        ("replay -a -p of a missing pid", ["replay", "-a", "-p", "999999", trace]),
        ("replay -a -f", ["replay", "-a", "-f", "1", trace]),
        ("replay -a -e", ["replay", "-a", "-e", trace]),
        ("replay -g with -e", ["replay", "-g", "5", "-e", trace]),
        ("replay -g with -p", ["replay", "-g", "5", "-p", "1", trace]),
        ("replay -p with -f", ["replay", "-p", "1", "-f", "1", trace]),
        ("replay -s 0", ["replay", "-s", "0", trace]),
        ("replay -s 70000", ["replay", "-s", "70000", trace]),
        ("replay -s -5", ["replay", "-s", "-5", trace]),
        ("replay -a -s", ["replay", "-a", "-s", "1234", trace]),
        ("state --memory one value", ["state", "--memory", "0x1000", trace]),
        ("state --memory bad length", ["state", "--memory", "0x1000", "zz", trace]),
        ("state --memory zero length", ["state", "--memory", "0x1000", "0", trace]),
        ("state --memory huge", ["state", "--memory", "0x1000", "0xffffffffffffffff", trace]),
        ("state -p of a missing pid", ["state", "-p", "999999", trace]),
        ("create-checkpoints -i 0", ["create-checkpoints", "-i", "0", trace]),
        ("create-checkpoints -s after -e", ["create-checkpoints", "-s", "50", "-e", "10", trace]),
        ("create-checkpoints bad codec", ["create-checkpoints", "--codec", "lz4", trace]),
        ("create-checkpoints empty codec", ["create-checkpoints", "--codec", "", trace]),
        ("checkpoints rm a word", ["checkpoints", "rm", "abc", trace]),
        ("checkpoints rm nothing", ["checkpoints", "rm", trace]),
        ("checkpoints rm negative", ["checkpoints", "rm", "-5", trace]),
        ("checkpoints rm a missing one", ["checkpoints", "rm", "123456", trace]),
        ("checkpoints rm --all and events", ["checkpoints", "rm", "--all", "5", trace]),
        ("checkpoints rm of a missing trace", ["checkpoints", "rm", "--all", missing]),
        ("checkpoints --json twice", ["checkpoints", "--json", "--json", "--frob", trace]),
        ("ls with an argument", ["ls", trace]),
        ("ls unknown option", ["ls", "--frobnicate"]),
        ("dump -g", ["dump", "-g", "5", trace]),
        ("ps -p", ["ps", "-p", "1", trace]),
    ]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rr", required=True)
    ap.add_argument("--program", required=True)
    a = ap.parse_args()
    tally = {k: 0 for k in ("clean error", "unclear", "accepted", "crash", "hang")}
    with scratch_dir("rr-cli-") as tmp:
        trace = os.path.join(tmp, "t")
        r = try_run([a.rr, "record", "-q", "-o", trace, a.program], timeout=120)
        if not r or r.returncode != 0:
            fatal("cannot record %s" % a.program)
        not_trace = os.path.join(tmp, "plain")
        os.mkdir(not_trace)
        env = dict(os.environ, _RR_TRACE_DIR=os.path.join(tmp, "root"))
        os.mkdir(env["_RR_TRACE_DIR"])
        cases = sweep(trace, os.path.join(tmp, "missing"), not_trace, tmp)
        for name, argv in cases:
            r = try_run([a.rr] + argv, timeout=TIMEOUT, env=env)
            if r is None:
                failures.append("%s: hung for %d s: rr %s" % (name, TIMEOUT, " ".join(argv)[:200]))
                tally["hang"] += 1
                continue
            err = r.stderr.decode(errors="replace")
            lines = [l for l in err.splitlines() if l.startswith("rr:")]
            if r.returncode < 0 or "internal error" in err:
                failures.append("%s: crashed (status %d): %r" % (name, r.returncode, err[-300:]))
                tally["crash"] += 1
            elif r.returncode == 0:
                failures.append("%s: accepted (exit 0): rr %s" % (name, " ".join(argv)[:200]))
                tally["accepted"] += 1
            elif not argv and err.startswith("usage: rr COMMAND"):
                tally["clean error"] += 1  # rr alone prints its usage, as a bad line
            elif len(lines) != 1:
                failures.append("%s: expected one rr: line, got %r" % (name, err[-300:]))
                tally["unclear"] += 1
            else:
                tally["clean error"] += 1
        print("command lines %d: %s" % (len(cases), ", ".join("%s %d" % kv for kv in tally.items())))
    failures.report("every bad command line is refused in one line")


if __name__ == "__main__":
    main()
