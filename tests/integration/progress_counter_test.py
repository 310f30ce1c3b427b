#!/usr/bin/env python3
"""The progress counter's traps are checked in replay, not trusted, and its
options refuse bad input.

- counter_alarm recorded with the counter (on by default): its SIGALRM is delivered
  at a progress counter trap (the trap and the signal's delivery at the
  same rip in `rr dump`), and `replay -a` prints what the recording printed;
- the same trace with the count of that trap one higher (fpu_tamper ticks):
  replay's trap comes one turn of the loop later, and `replay -a` stops
  with one rr: line naming the event and the trap, never a silent replay;
- the same trace with its format set to 1.19 (header_tamper), whose lean
  stubs left flags that depended on the count: `replay -a` refuses it in
  one rr: line naming 1.19;
- `--timeslice 0`, `--timeslice x`, `--timeslice` or `--chaos` with
  `--no-progress-counter` each get one rr: line and a non-zero exit;
- plans kept between recordings (RR_PLAN_CACHE): a second recording reads
  every plan from the store and rewrites the same branches (RR_LOG's
  counts alike) and replays; a store whose files were damaged is not used
  (planned again, replays: each code's plan and its placed plan, both
  damaged, are reported), nor one that cannot be written;
- counter_pingpong recorded with --no-progress-counter stops with the
  message that names it (threads cannot switch between syscalls); recorded
  with no option it records (the counter is on by default)."""
import argparse
import os
import re
import shutil
import subprocess

from testlib import Failures, fatal, run, scratch_dir

failures = Failures()


def rr_lines(stderr):
    return [l for l in stderr.decode(errors="replace").splitlines() if l.startswith("rr:")]


def check_plan_store(rr, program, tmp):
    store = os.path.join(tmp, "plans")
    counted = re.compile(r"^\[rr\] progress counter: \d+ branches counted.*$", re.M)
    read = re.compile(r"^\[rr\] progress counter: the plan of the code at 0x[0-9a-f]+ read from ", re.M)
    runs = {}
    for name, env_store in (("first", store), ("second", store), ("damaged", store),
                            ("unwritable", os.path.join(tmp, "t", "version", "plans"))):
        if name == "damaged":
            # The plans (the code images beside them have a test of their
            # own: code_images).
            for f in os.listdir(store):
                if not os.path.isfile(os.path.join(store, f)):
                    continue
                with open(os.path.join(store, f), "r+b") as fh:
                    fh.seek(-1, os.SEEK_END)
                    last = fh.read(1)
                    fh.seek(-1, os.SEEK_END)
                    fh.write(bytes([last[0] ^ 0xff]))
        trace = os.path.join(tmp, "store-" + name)
        env = dict(os.environ, RR_PLAN_CACHE=env_store, RR_LOG="1")
        r = run([rr, "record", "-q", "-o", trace, "--timeslice", "20000", program], env=env, timeout=120)
        log = r.stderr.decode(errors="replace")
        runs[name] = (sorted(counted.findall(log)), len(read.findall(log)), log.count("is not used"))
        rep = run([rr, "replay", "-a", trace], timeout=120)
        failures.expect(r.returncode == 0 and r.stdout and rep.returncode == 0 and rep.stdout == r.stdout,
                        "recorded with the plan store (%s): expected exit 0 and the recording's output from replay, "
                        "got %d %r, %d %r %r" % (name, r.returncode, r.stdout, rep.returncode, rep.stdout,
                                                 rep.stderr[-300:]))
        if name == "first":
            files = os.listdir(store) if os.path.isdir(store) else []
            failures.expect(len(files) >= 2 and runs[name][1] == 0,
                            "the first recording with an empty store: expected plans written to it and none read, "
                            "got files %r, %d read" % (files, runs[name][1]))
    first = runs["first"][0]
    failures.expect(len(first) >= 2, "expected RR_LOG's counts of the rewritten code, got %r" % first)
    failures.expect(runs["second"] == (first, len(first), 0),
                    "the second recording: expected every plan (%d) read from the store and the same counts %r, "
                    "got %r" % (len(first), first, runs["second"]))
    failures.expect(runs["damaged"] == (first, 0, 2 * len(first)),
                    "a store of damaged files: expected none used (%d 'is not used': each code's plan and its "
                    "placed plan) and the same counts, got %r" % (2 * len(first), runs["damaged"]))
    failures.expect(runs["unwritable"] == (first, 0, 0),
                    "a store that cannot be written: expected the same counts, got %r" % (runs["unwritable"],))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rr", required=True)
    p.add_argument("--alarm", required=True, help="the counter_alarm program")
    p.add_argument("--pingpong", required=True, help="the counter_pingpong program")
    p.add_argument("--tamper", required=True, help="the fpu_tamper tool")
    p.add_argument("--header-tamper", required=True, help="the header_tamper tool")
    a = p.parse_args()
    rr = a.rr
    with scratch_dir("rr-progress-") as tmp:
        trace = os.path.join(tmp, "t")
        rec = run([rr, "record", "-q", "-o", trace, "--timeslice", "20000", a.alarm], timeout=120)
        if rec.returncode != 0:
            fatal("recording counter_alarm failed (%d): %r" % (rec.returncode, rec.stderr[-500:]))
        dump = run([rr, "dump", trace]).stdout.decode()
        traps = re.findall(r"^event (\d+) tid \d+ progress trap after (\d+) counted branches rip (0x[0-9a-f]+)$", dump, re.M)
        signal = re.search(r"^event (\d+) tid \d+ signal Alarm clock \(14\) asynchronous rip (0x[0-9a-f]+)$", dump, re.M)
        if not traps or not signal:
            fatal("expected a progress trap and an asynchronous SIGALRM in the dump, got %r" % dump[-1500:])
        trap = [t for t in traps if int(t[0]) == int(signal.group(1)) - 1]
        failures.expect(trap and trap[0][2] == signal.group(2),
                        "the SIGALRM (event %s, rip %s) is not delivered at the progress trap just before it: %r"
                        % (signal.group(1), signal.group(2), traps))
        rep = run([rr, "replay", "-a", trace], timeout=120)
        failures.expect(rep.returncode == 0 and rep.stdout == rec.stdout,
                        "replay -a: expected exit 0 and %r, got %d, %r, %r"
                        % (rec.stdout, rep.returncode, rep.stdout, rep.stderr[-300:]))

        copy = os.path.join(tmp, "ticks")
        shutil.copytree(trace, copy)
        t = run([a.tamper, "ticks", copy, "1"])
        m = re.match(r"tampered event (\d+) tid (\d+)", t.stdout.decode())
        if t.returncode != 0 or not m:
            fatal("fpu_tamper ticks failed: %r %r" % (t.stdout, t.stderr))
        r = run([rr, "replay", "-a", copy], timeout=120)
        lines = rr_lines(r.stderr)
        want = ["replay diverged at event %s" % m.group(1), "progress counter's trap"]
        failures.expect(r.returncode != 0 and len(lines) == 1 and all(w in lines[0] for w in want),
                        "replay -a of a trace whose trap count was changed: expected one rr: line with %r, got %d, %r"
                        % (want, r.returncode, r.stderr[-500:]))

        old = os.path.join(tmp, "v119")
        shutil.copytree(trace, old)
        subprocess.run([a.header_tamper, old, "formatMinor", "19"], check=True)
        r = run([rr, "replay", "-a", old], timeout=120)
        lines = rr_lines(r.stderr)
        failures.expect(r.returncode != 0 and len(lines) == 1 and "1.19" in lines[0] and not r.stdout,
                        "replay -a of the trace marked format 1.19: expected one rr: line naming 1.19 and no output, "
                        "got %d, %r, %r" % (r.returncode, r.stdout[-200:], r.stderr[-500:]))

        check_plan_store(rr, a.alarm, tmp)

        for bad in (["--timeslice", "0"], ["--timeslice", "x"], ["--no-progress-counter", "--timeslice", "100"],
                    ["--timeslice"], ["--no-progress-counter", "--chaos"]):
            r = run([rr, "record", "-q", "-o", os.path.join(tmp, "bad")] + bad + [a.alarm], timeout=60)
            lines = rr_lines(r.stderr)
            failures.expect(r.returncode != 0 and len(lines) == 1 and not os.path.exists(os.path.join(tmp, "bad")),
                            "rr record %s: expected one rr: line, a non-zero exit and no trace, got %d, %r"
                            % (" ".join(bad), r.returncode, r.stderr[-300:]))

        r = run([rr, "record", "-q", "-o", os.path.join(tmp, "plain"), "--no-progress-counter", a.pingpong], timeout=120)
        lines = rr_lines(r.stderr)
        failures.expect(r.returncode != 0 and len(lines) == 1 and "with --no-progress-counter" in lines[0],
                        "counter_pingpong recorded with --no-progress-counter: expected the one-line stop naming "
                        "it, got %d, %r" % (r.returncode, r.stderr[-500:]))
        r = run([rr, "record", "-q", "-o", os.path.join(tmp, "default"), a.pingpong], timeout=120)
        failures.expect(r.returncode == 0, "counter_pingpong recorded with no option (the counter on by default): "
                        "expected it to record, got %d, %r" % (r.returncode, r.stderr[-500:]))
    failures.report("progress counter traps are checked in replay; bad --timeslice values are refused")


if __name__ == "__main__":
    main()
