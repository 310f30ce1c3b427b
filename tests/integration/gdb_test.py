#!/usr/bin/env python3
"""rr replay under real gdb (Debian's gdb 13), one scenario per run
(`--case NAME`, one ctest each): forward debugging, reverse execution, gdb
checkpoints in memory and in files, threads, a real program, signals,
counted pieces and positions, ^C, a gdb started by hand, and calls into
the program (diversions), shared libraries, exec events.

Each scenario records a program of tests/gdb, runs
`rr replay TRACE -- -batch -nx -x SCRIPT` and checks what gdb printed."""
import argparse
import difflib
import os
import re
import shutil
import struct

from gdb_harness import Scenario, counters_available, exchange, rips, run, values
from testlib import sanitized_run, scratch_dir


def forward(t):
    """break, continue, print, backtrace, step, next, finish, watch."""
    trace = t.record("t", [t.build("gdb_target")])
    out = t.gdb(trace, ["break bump", "continue", "print by", "continue", "print by", "bt", "finish",
                        "next", "step", "delete", "watch counter", "continue", "continue", "print counter"])
    t.expect("Breakpoint 1, bump (by=0) at" in out and "Breakpoint 1, bump (by=1) at" in out, "break/continue", out)
    t.expect(re.search(r"#1 +0x[0-9a-f]+ in main \(\) at .*gdb_target.c:\d+", out) is not None, "backtrace", out)
    t.expect("Value returned is $3 = 1" in out, "finish returns bump's value", out)
    t.expect("Old value = 1" in out and "New value = 3" in out and "New value = 6" in out, "watch counter", out)
    t.expect(values(out)[:2] == ["0", "1"] and values(out)[-1] == "6", "print values", out)


def reverse(t):
    """Conditional breakpoint; reverse-continue to an earlier hit; reverse
    watch finds the last write; reverse-finish; start of history; reverse
    from a forward watch stop; a 12-byte watch; reverse-next/-step; next
    stopping at a breakpoint inside its range."""
    trace = t.record("t", [t.build("gdb_target")])
    out = t.gdb(trace, ["break bump if by == 7", "continue", "print counter", "delete",
                        "break bump", "reverse-continue", "print by", "print counter",
                        "delete", "watch counter", "reverse-continue", "print counter",
                        "delete", "break bump", "continue", "next", "delete", "reverse-finish",
                        "print i", "reverse-continue", "info registers rip"])
    v = values(out)
    t.expect(v[:3] == ["21", "6", "15"], "conditional break and reverse-continue to by=6 (counter 15): %r" % v, out)
    t.expect("Old value = 15" in out and "New value = 10" in out, "reverse watch stops before the last write", out)
    t.expect(len(v) >= 5 and v[3] == "10", "counter before the write is 10: %r" % v, out)
    t.expect(re.search(r"0x[0-9a-f]+ in main \(\) at .*gdb_target.c:\d+\n\d+\s+int v = bump\(i\);", out) is not None,
             "reverse-finish back to the call in main", out)
    t.expect(len(v) >= 5 and v[4] == "6", "reverse-finish lands in main's iteration 6: %r" % v, out)
    t.expect("No more reverse-execution history." in out and "_start" in out, "reverse-continue to the start", out)

    # reverse-continue from a forward watchpoint stop goes back over the
    # write just made, to just before it (in bump(1), not bump(0)).
    out = t.gdb(trace, ["break bump", "continue", "continue", "delete", "watch counter", "continue",
                        "print counter", "reverse-continue", "print counter", "print by"])
    t.expect(values(out) == ["1", "0", "1"], "reverse from after the write of 1 to before it: %r" % values(out), out)

    # A 12-byte watchpoint (two debug registers), forward and back.
    out = t.gdb(trace, ["watch *(int(*)[3])&history[1]", "continue", "print i", "continue", "print i",
                        "reverse-continue", "print i", "print history[2]"])
    t.expect(values(out) == ["1", "2", "2", "0"], "12-byte watch over history[1..3]: %r" % values(out), out)

    # reverse-next and reverse-step by lines (gdb steps ranges: vCont;r).
    out = t.gdb(trace, ["break gdb_target.c:16", "continue", "continue", "print i", "reverse-next",
                        "reverse-step", "bt 1", "print counter", "reverse-next", "reverse-next", "print counter"])
    v = values(out)
    t.expect(re.search(r"^15\s+history\[i\] = v;", out, re.M) is not None, "reverse-next to line 15", out)
    t.expect(re.search(r"^#0 +bump \(by=1\)", out, re.M) is not None, "reverse-step into bump(1)", out)
    t.expect(v == ["1", "1", "0"], "i, then counter after and before bump(1) adds: %r" % v, out)
    t.expect(re.search(r"^9\s+counter \+= by;", out, re.M) is not None, "reverse-next back to line 9", out)

    # `next` stops at a breakpoint inside its step range (its third
    # instruction: gdb steps the first one alone).
    out = t.gdb(trace, ["break gdb_target.c:15", "continue",
                        "python f = gdb.selected_frame(); d = f.architecture().disassemble(f.pc(), count=3); "
                        "gdb.execute('break *%d' % d[2]['addr'])", "next", "info breakpoints"])
    t.expect(re.search(r"Breakpoint 2, 0x[0-9a-f]+ in main \(\) at .*gdb_target.c:15", out) is not None,
             "next stops at the breakpoint inside line 15", out)


def stepping(t):
    """Stepping back and forth by instruction; rr's when and run EVT; the
    end of the trace."""
    trace = t.record("t", [t.build("gdb_target")])
    out = t.gdb(trace, ["break bump", "continue", "stepi", "stepi", "info registers rip", "reverse-stepi",
                        "reverse-stepi", "info registers rip", "stepi", "stepi", "info registers rip",
                        "when", "run 30", "when", "delete", "continue"])
    r = rips(out)
    t.expect(len(r) == 3 and r[0] == r[2] and r[1] != r[0], "stepi/reverse-stepi agree: %r" % r, out)
    whens = re.findall(r"Current event: (\d+)", out)
    t.expect(len(whens) == 2 and whens[1] == "30", "when / run 30: %r" % whens, out)
    t.expect("Program received signal SIGKILL" in out, "continue to the end stops at the exit", out)
    # A stepped pushf pushes the trap flag the step set; the program, run
    # without steps in the recording, pushed it clear, and so it must here.
    trace = t.record("pushf", [t.build("gdb_pushf")], output="trap flag 0")
    out = t.gdb(trace, ["break gdb_pushf.c:8", "continue", "stepi", "stepi", "next", "print (flags >> 8) & 1"])
    t.expect(values(out) == ["0"],
             "stepi over pushf: the program sees the trap flag clear: %r" % values(out), out)


def checkpoints(t):
    """gdb checkpoints: checkpoint, restart N, info checkpoints, delete
    checkpoint. They are in-memory copies (forked tracees); with
    RR_GDB_CLONES=0 they are files, and the two roads must agree."""
    trace = t.record("t", [t.build("gdb_target")])
    script = ["break bump if by == 3", "continue", "next", "checkpoint", "print counter",
              "info registers rip rsp", "delete", "break bump if by == 5", "continue", "print counter", "checkpoint",
              "info checkpoints", "restart 1", "print counter", "info registers rip rsp",
              "delete checkpoint 2", "info checkpoints", "restart 2"]
    out = t.gdb(trace, script)
    v = values(out)
    regs = re.findall(r"^(rip|rsp) +(0x[0-9a-f]+)", out, re.M)
    t.expect(v[:3] == ["6", "10", "6"], "restart 1 brings counter back to 6: %r" % v, out)
    t.expect(len(regs) == 4 and regs[:2] == regs[2:], "restart 1 brings rip and rsp back: %r" % regs, out)
    t.expect("Checkpoint 1 at event" in out and "Checkpoint 2 at event" in out, "checkpoint replies", out)
    t.expect("Deleted checkpoint 2." in out and "rr: no checkpoint 2" in out, "delete checkpoint", out)
    t.expect(len(re.findall(r"^(?:\* )?\d+\t.*\(in memory\)$", out, re.M)) == 3, "gdb checkpoints are kept in memory", out)
    files = t.gdb(trace, script, env={"RR_GDB_CLONES": "0"})
    t.expect("(in memory)" not in files and values(files) == v and
             re.findall(r"^(rip|rsp) +(0x[0-9a-f]+)", files, re.M) == regs,
             "checkpoints in files and in memory agree: %r vs %r" % (values(files), v), files)


def persistent(t):
    """write-checkpoints, then a new gdb session: load-checkpoints and restart."""
    trace = t.record("t", [t.build("gdb_target")])
    out1 = t.gdb(trace, ["break bump if by == 5", "continue", "next", "checkpoint", "print counter",
                         "print by", "info registers rip rsp rax", "write-checkpoints"])
    t.expect("Wrote 1 checkpoints to the trace." in out1, "write-checkpoints", out1)
    out2 = t.gdb(trace, ["load-checkpoints", "info checkpoints"])
    # Saved by its position (event, instruction, executions since the
    # event), or by its route where counters cannot name it.
    ids = re.findall(r"^(\d+)\s+(?:position \d+:0x[0-9a-f]+:\d+|event \d+ \+ [^\t]*)\t", out2, re.M)
    t.expect(len(ids) == 1, "load-checkpoints lists the saved gdb checkpoint: %r" % ids, out2)
    have, why = counters_available()
    if have:
        t.expect(re.search(r"^\d+\s+position \d+:0x[0-9a-f]+:\d+\t", out2, re.M) is not None,
                 "with counters the saved checkpoint is at a position", out2)
    else:
        print("not checked: that the saved checkpoint is named by its position, which needs the hardware "
              "breakpoint counters this machine lacks (%s)" % why)
    if ids:
        out2 = t.gdb(trace, ["load-checkpoints", "restart " + ids[0], "print counter", "print by",
                             "info registers rip rsp rax"])
        t.expect(values(out1) == values(out2) and len(values(out1)) == 2,
                 "variables after restart in a new session: %r vs %r" % (values(out1), values(out2)), out2)
        r1 = re.findall(r"^(rip|rsp|rax) +(0x[0-9a-f]+)", out1, re.M)
        r2 = re.findall(r"^(rip|rsp|rax) +(0x[0-9a-f]+)", out2, re.M)
        t.expect(len(r1) == 3 and r1 == r2, "registers after restart in a new session: %r vs %r" % (r1, r2), out2)
    # The file inside an event never seeds -g: a replay to its event still
    # equals one from the start.
    cks = os.listdir(os.path.join(trace, "checkpoints"))
    t.expect(any("-" in c for c in cks), "a gdb checkpoint file inside an event: %r" % cks)
    r = run([t.rr, "checkpoints", "--json", trace])
    t.expect(r.returncode == 0 and r.stdout.strip() == "[]", "rr checkpoints ignores gdb checkpoint files: " + r.stdout)


def threads(t):
    """info threads, a breakpoint in one thread, reverse-continue; a
    checkpoint of four threads, copied in memory, and restarted."""
    trace = t.record("threads", [t.build("gdb_threads", "-pthread")])
    out = t.gdb(trace, ["break work if id == 2", "continue", "info threads", "continue", "print shared[2]",
                        "reverse-continue", "print shared[2]"])
    t.expect(len(re.findall(r"^[ *] +\d+ +Thread \d+", out, re.M)) == 4, "info threads shows 4 threads", out)
    t.expect("hit Breakpoint 1, work (id=2)" in out and values(out) == ["3", "0"], "thread breakpoint and reverse", out)
    out = t.gdb(trace, ["break work if id == 2", "continue", "continue", "print shared[2]", "checkpoint",
                        "info checkpoints", "continue", "print shared[2]", "restart 1", "print shared[2]",
                        "info threads", "continue", "print shared[2]"])
    t.expect(values(out) == ["3", "6", "3", "6"] and "(in memory)" in out,
             "restart of an in-memory checkpoint of threads: %r" % values(out), out)
    t.expect(len(re.findall(r"^[ *] +\d+ +Thread \d+", out, re.M)) == 4, "4 threads after restart", out)


def sqlite(t):
    """A real program: a function of sqlite3's library, forward and back."""
    exe = shutil.which("sqlite3")
    if exe is None:
        t.failures.append("sqlite3 is not installed (scripts/install-deps installs it)")
        return
    trace = t.record("sqlite", [exe, ":memory:", "create table t(x); insert into t values (42); select x * 2 from t;"],
                     output="84")
    out = t.gdb(trace, ["break sqlite3_prepare_v2", "continue", "bt 2", "x/s $rsi", "continue",
                        "x/s $rsi", "reverse-continue", "x/s $rsi"])
    stmts = re.findall(r':\s+"([^"]*)"', out)
    t.expect(len(stmts) == 3 and "create table" in stmts[0] and stmts[2] == stmts[0] and stmts[1] != stmts[0],
             "sqlite3_prepare_v2 statements forward and back: %r" % stmts, out)


def signals(t):
    """A handled signal stops gdb, stepi enters its handler, one gdb passes
    silently does not stop; a crash stops, then the process's end (SIGKILL,
    still there), and a reverse watch from it finds the write that broke
    the pointer; going forward, gdb hears the process died of SIGSEGV."""
    trace = t.record("crash", [t.build("gdb_crash")], status=128 + 11, output="usr1 10 alrm 14")
    out = t.gdb(trace, ["handle SIGALRM nostop noprint", "continue", "stepi", "print $pc == (long)on_usr1",
                        "continue", "bt 1", "print alrm_seen", "when", "continue", "when",
                        "watch target", "reverse-continue", "print i", "bt 1", "delete", "continue", "continue",
                        "continue"])
    v = values(out)
    whens = re.findall(r"Current event: (\d+)", out)
    t.expect("Program received signal SIGUSR1" in out, "SIGUSR1 stops gdb", out)
    t.expect("SIGALRM" not in out, "SIGALRM passes silently", out)
    t.expect(len(v) >= 1 and v[0] == "1", "stepi from the SIGUSR1 stop enters on_usr1: %r" % v, out)
    t.expect("Program received signal SIGSEGV" in out and re.search(r"^#0 +main \(\) at .*gdb_crash.c:32", out, re.M) is not None,
             "the crash stops in main", out)
    t.expect(len(v) >= 2 and v[1] == "14", "the passed SIGALRM reached its handler: %r" % v, out)
    t.expect("Program received signal SIGKILL" in out and len(whens) == 2 and whens[0] == whens[1],
             "continuing from the crash stops at the process's end, at the same event: %r" % whens, out)
    t.expect(len(re.findall("Program received signal SIGSEGV", out)) == 2 and
             len(re.findall("Program received signal SIGKILL", out)) == 2 and
             "Program terminated with signal SIGSEGV" in out,
             "forward again: the crash, the end stop, then gdb hears the process died of SIGSEGV", out)
    t.expect(re.search(r"Old value = \(int \*[^)]*\) 0x10\n", out) is not None and re.search(r"#0 .*fill \(n=8\)", out) is not None
             and len(v) >= 3 and v[2] == "5", "reverse watch from the crash finds the bad write at i == 5: %r" % v, out)


def hot(t):
    """A conditional breakpoint hit 3000 times in one stretch: the point
    stays a few pieces long, and reverse-continue finds the hit before it."""
    trace = t.record("hot", [t.build("gdb_hot")])
    out = t.gdb(trace, ["break tick if i == 2990", "continue", "checkpoint", "delete", "break tick",
                        "reverse-continue", "print i", "restart 1", "print i"])
    m = re.search(r"Checkpoint 1 at event \d+ \+ (\d+) runs, (\d+) steps \((\d+) pieces\)", out)
    t.expect(m is not None and int(m.group(1)) >= 2991 and int(m.group(3)) <= 4,
             "2991 hits make a point of a few pieces: %r" % ((m.groups() if m else None),), out)
    t.expect(values(out) == ["2989", "2990"], "reverse-continue and restart at i 2990: %r" % values(out), out)


SLOW_ROAD = re.compile(r"^rr: going back one instruction by single steps .*: (.*)$", re.M)


def counted(t):
    """A reverse watch deep inside one long stretch: where this machine has
    breakpoint counters, the point before the write is reached with one (a
    counted piece); the stepping road (counters off, or none here) lands at
    the same place, and rr says why it took it. (RR_GDB_TICKS=0: the trace
    has the progress counter, whose road the `ticks` case tests.) The
    stepping road again with every step's debug exception taken as one whose
    cause was lost (RR_LOSE_STEP_CAUSES=1, as this VM sometimes does under
    load): the write watch's hit is then told by the bytes it covers, and
    the road lands at the same place."""
    trace = t.record("loop", [t.build("gdb_loop")])
    have, why = counters_available()
    script = ["watch flag", "continue", "continue", "reverse-continue", "print i", "info registers rip",
              "checkpoint", "reverse-stepi", "info registers rip", "stepi", "info registers rip"]
    roads = []
    for env in ({"RR_GDB_TICKS": "0"}, {"RR_GDB_TICKS": "0", "RR_GDB_COUNTERS": "0"},
                {"RR_GDB_TICKS": "0", "RR_GDB_COUNTERS": "0", "RR_LOSE_STEP_CAUSES": "1", "RR_LOG": "1"}):
        out = t.gdb(trace, script, env=env)
        c = re.search(r"Checkpoint 1 at event \d+ \+ .*?(, (\d+) counted)? \(", out)
        roads.append((values(out), rips(out), c.group(2) if c else None, SLOW_ROAD.findall(out), out))
    (v1, rips1, c1, slow1, out1), (v2, rips2, c2, slow2, out2), (v3, rips3, c3, slow3, out3) = roads
    t.expect(v1 == ["2990"] and "Old value = 2990" in out1 and len(rips1) == 3 and rips1[0] == rips1[2] and rips1[1] != rips1[0],
             "reverse watch in the loop, then reverse-stepi/stepi: %r %r" % (v1, rips1), out1)
    if have:
        t.expect(c1 == "1" and not slow1, "with counters here, the point before the write is a counted piece: "
                 "counted %r, slow road %r" % (c1, slow1), out1)
    else:
        t.expect(c1 is None and len(slow1) == 1 and "cannot be used on this machine" in slow1[0],
                 "without counters here (%s), rr steps and says why: %r" % (why, slow1), out1)
    t.expect(c2 is None and v2 == v1 and rips2 == rips1, "the stepping road agrees: %r %r" % (v2, rips2), out2)
    t.expect(slow2 and all("RR_GDB_COUNTERS=0" in w for w in slow2), "the stepping road is announced: %r" % slow2, out2)
    recovered = re.findall(r"came without its cause: the step[^(\n]*\(watches hit: (0x[0-9a-f]+|0)\)", out3)
    t.expect(c3 is None and v3 == v1 and rips3 == rips1 and "0" in recovered and any(h != "0" for h in recovered),
             "the stepping road with every step's cause lost agrees, the watch's hit told by its bytes: %r %r %r"
             % (v3, rips3, sorted(set(recovered))), out3)


def counter_steps(t):
    """Stepping through code the progress counter rewrote, recorded with
    --progress-counter: at -O2 a counted branch jumps through an island to
    a stub; at -O0 (no padding, so no islands) the loop's compare and branch
    moved into a block. next, stepi, reverse-stepi and reverse-next stop only
    at the program's instructions, so gdb prints exactly what it prints for a
    recording with --no-progress-counter."""
    for opt, via in (("-O2", None), ("-O0", "moved")):
        exe = t.build("gdb_counted_loop", opt)
        env = dict(os.environ, RR_LOG="progress")
        # The two traces' names have the same length: LD_PRELOAD names the
        # preloaded library inside the trace directory, so the length of the
        # trace's path moves the program's stack (argv's address in bt).
        counted = t.record("counter" + opt, [exe], output="work 48", args=["--progress-counter"], env=env)
        m = re.search(r"progress counter: (\d+) branches counted \(.*, (\d+) through moved blocks\).*gdb_counted_loop\)",
                      t.record_output)
        t.expect(m is not None and int(m.group(1)) >= 1 and (via is None or int(m.group(2)) >= 1),
                 "%s: the loop's branches are counted%s" % (opt, "" if via is None else ", through moved blocks"),
                 t.record_output)
        plain = t.record("nocount" + opt, [exe], output="work 48", args=["--no-progress-counter"],
                         env=env)  # the same environment, the same stack
        script = ["break work", "continue"] + ["next"] * 8 + ["info registers rip"] + ["stepi"] * 6 + \
                 ["info registers rip"] + ["reverse-stepi"] * 6 + ["info registers rip"] + ["reverse-next"] * 4 + \
                 ["bt", "finish"]
        outs = []
        for trace in (counted, plain):
            out = t.gdb(trace, script)
            outs.append([l for l in out.splitlines() if not l.startswith("[Inferior ")])
        r = rips("\n".join(outs[0]))
        t.expect(len(r) == 3 and r[0] == r[2] and r[1] != r[0], "%s: 6 stepi then 6 reverse-stepi come back: %r" % (opt, r),
                 "\n".join(outs[0]))
        t.expect("Value returned is $1 = 48" in outs[0], "%s: finish returns work's value" % opt, "\n".join(outs[0]))
        t.expect(outs[0] == outs[1], "%s: gdb prints the same with and without the counter" % opt,
                 "\n".join(difflib.unified_diff(outs[1], outs[0], "plain", "counted", lineterm="")))


def ticks(t):
    """Going back by the progress counter's ticks (docs/progress-counter.md,
    "gdb: going back by ticks"): in a trace recorded with the counter, the
    point one instruction back is reached by replaying to the tick before
    the point and stepping from there. The same session (a reverse watch in
    a loop of one long stretch, reverse-stepi across the loop's branch and
    its stub, a reverse-continue over a conditional breakpoint, checkpoints
    there and restarts) prints the same registers, values and ticks on
    every road: ticks (the default), ticks without breakpoint counters
    (RR_GDB_COUNTERS=0: the fallback of a machine that has none), and the
    breakpoint counters (RR_GDB_TICKS=0). (Single steps, both off, take
    minutes for this session: `counted` compares that road.) About 45 s."""
    trace = t.record("loop", [t.build("gdb_loop")])
    script = ["watch flag", "continue", "continue", "reverse-continue", "print i", "info registers", "when-ticks",
              "checkpoint"] + ["reverse-stepi", "info registers rip", "when-ticks"] * 20 + \
             ["info registers", "checkpoint", "stepi", "info registers rip", "when-ticks",
              "delete", "break gdb_loop.c:12 if i == 2985", "reverse-continue", "print i", "info registers",
              "when-ticks", "reverse-stepi", "reverse-stepi", "info registers", "when-ticks", "checkpoint",
              "restart 1", "print i", "info registers", "when-ticks", "restart 2", "info registers", "when-ticks",
              "restart 3", "print i", "info registers", "when-ticks", "reverse-stepi", "info registers"]
    roads = [("ticks", {}), ("ticks, no breakpoint counters", {"RR_GDB_COUNTERS": "0"}),
             ("breakpoint counters", {"RR_GDB_TICKS": "0"})]
    seen = []
    for name, env in roads:
        out = t.gdb(trace, script, env=env)
        # What gdb shows; not how each road names its checkpoints.
        shown = [l for l in out.splitlines() if not l.startswith(("[Inferior ", "rr: going back", "Checkpoint "))]
        described = re.findall(r"^Checkpoint \d+ at (.*)$", out, re.M)
        seen.append((name, shown, described, SLOW_ROAD.findall(out), out))
    name0, shown0, described0, slow0, out0 = seen[0]
    ticks_shown = re.findall(r"^Current tick: (\d+) \(counted branches since event (\d+)\)$", out0, re.M)
    t.expect(values(out0) == ["2990", "2985", "2990", "2984"] and len(ticks_shown) == script.count("when-ticks") and
             len(set(ticks_shown)) >= 4,
             "ticks: the session ran, with a tick count at each point: %r %r" % (values(out0), ticks_shown), out0)
    # A point the ticks reached is described by its tick piece, or named by
    # its tick position (EVT:tT+S).
    by_ticks = lambda d: re.search(r"tick |:t\d", d) is not None
    t.expect(not slow0 and len(described0) == 3 and all(by_ticks(d) for d in described0[1:]),
             "ticks: no single-step road, the points found by ticks: %r %r" % (described0, slow0), out0)
    for name, shown, described, slow, out in seen[1:]:
        t.expect(shown == shown0, "%s: gdb prints the same as by ticks" % name,
                 "\n".join(difflib.unified_diff(shown0, shown, "ticks", name, lineterm="")))
    t.expect(not seen[1][3] and all(by_ticks(d) for d in seen[1][2][1:]),
             "ticks without breakpoint counters: no single-step road: %r %r" % (seen[1][2], seen[1][3]), seen[1][4])
    t.expect(not any(by_ticks(d) for d in seen[2][2]), "breakpoint counters: no tick pieces: %r" % seen[2][2], seen[2][4])


# The loop iterations the positions cases stop at. gdb evaluates each
# condition at every pass, a stop of the replay each: under ASan on a loaded
# machine, 700 and 900 took the case past ctest's limit. The sanitized
# build's run (RR_TEST_SANITIZED=1, scripts/run-tests) stops ten times
# less often, on the same roads.
EARLY, LATE = (20, 30) if sanitized_run() else (200, 300)


def positions(t):
    """Positions (docs/architecture.md): a point inside an event is named (event,
    instruction X, times X ran since the event), reached with an execution
    counter (`run EVT:0xX:K`), and two of them at different instructions are
    ordered by re-running the stretch (info checkpoints lists them in replay
    order, `*` at the current one). Without counters, no position is given,
    rr says why, and the session goes on."""
    # The breakpoint counters' road (the trace's ticks name points first:
    # tick_positions tests that road).
    os.environ["RR_GDB_TICKS"] = "0"
    trace = t.record("loop", [t.build("gdb_loop")])
    have, why = counters_available()
    no_counters = t.gdb(trace, ["break gdb_loop.c:12 if i == %d" % EARLY, "continue", "when-position", "print i"],
                        env={"RR_GDB_COUNTERS": "0"})
    t.expect("rr: no position here: hardware breakpoint counters cannot be used: turned off by RR_GDB_COUNTERS=0" in no_counters
             and values(no_counters) == [str(EARLY)],
             "without counters, when-position says why there is no position and the replay goes on", no_counters)
    session = ["break gdb_loop.c:13 if i == %d" % LATE, "continue", "checkpoint", "delete",
               "break gdb_loop.c:12 if i == %d" % EARLY, "reverse-continue", "print i", "info registers rip",
               "when-position", "stepi", "stepi", "when-position", "checkpoint", "delete",
               "info checkpoints", "restart 1", "info checkpoints", "print i"]
    out = t.gdb(trace, session)
    if not have:
        t.expect("rr: no position here: hardware breakpoint counters cannot be used on this machine" in out and
                 values(out) == [str(EARLY), str(LATE)], "without counters here (%s), no positions and the session goes on" % why, out)
        print("not checked: when-position, reverse-continue to a position and info checkpoints' order by "
              "positions, which need the hardware breakpoint counters this machine lacks (%s)" % why)
        return
    pos = re.findall(r"^Current position: (\d+):(0x[0-9a-f]+):(\d+)$", out, re.M)
    r = rips(out)
    t.expect(len(pos) == 2 and len(r) == 1 and pos[0][1] == r[0] and pos[0][2] == str(EARLY) and pos[1][2] == str(EARLY)
             and pos[1][1] != pos[0][1], "when-position at i == EARLY, and two instructions later: %r %r" % (pos, r), out)
    listed = re.findall(r"^(\* )?(\d+)\tposition (\d+:0x[0-9a-f]+:\d+)\t", out, re.M)
    t.expect(len(listed) == 4 and [l[1] for l in listed] == ["2", "1", "2", "1"] and
             [bool(l[0]) for l in listed] == [True, False, False, True] and len(pos) == 2 and
             listed[0][2] == "%s:%s:%s" % pos[1],
             "info checkpoints in replay order, the current one marked: %r" % listed, out)
    t.expect(values(out) == [str(EARLY), str(LATE)], "reverse-continue to i == EARLY, restart 1 at LATE: %r" % values(out), out)
    # The same session with every step's debug exception taken as one whose
    # cause the machine lost (as some VMs do): the steps here run with the
    # stretch's counter armed, which replay once could not read and stopped.
    lost = t.gdb(trace, session, env={"RR_LOSE_STEP_CAUSES": "1", "RR_LOG": "1"})
    read = re.findall(r"came without its cause: (the step|nothing)", lost)
    t.expect(re.findall(r"^Current position: .*$", lost, re.M) == re.findall(r"^Current position: .*$", out, re.M)
             and values(lost) == values(out) and rips(lost) == rips(out) and "the step" in read,
             "with every step's cause lost, the same positions, values and registers: %r" % sorted(set(read)), lost)
    # A counter that misses executions on the way back to a point reached
    # before (RR_GDB_COUNTER_SKEW=1: every counted navigation stops one
    # execution late) arrives with other registers: rr says so and stops
    # rather than serve gdb a point one iteration off (when-position goes
    # back to the point by its position to check it).
    skewed = t.gdb(trace, session[:session.index("when-position") + 1], env={"RR_GDB_COUNTER_SKEW": "1"})
    t.expect("by the hardware breakpoint counters, with other registers" in skewed and
             not re.search(r"^Current position: ", skewed, re.M) and values(skewed) == [str(EARLY)],
             "a counted arrival with registers other than the point's stops the replay, naming why", skewed)
    if pos:
        e, x, k = pos[0]
        out = t.gdb(trace, ["run %s:%s:%s" % (e, x, k), "print i", "info registers rip", "when-position",
                            "run %s:%s:99999999" % (e, x), "when"])
        t.expect(values(out) == [str(EARLY)] and rips(out) == [x] and "Current position: %s:%s:%s" % (e, x, k) in out,
                 "run to a position reaches i == EARLY at it", out)
        t.expect("does not run 100000000 times after event %s" % e in out and "Current event: %d" % (int(e) + 1) in out,
                 "a position past its stretch stops at the next event", out)


TICK_POSITION = re.compile(r"^Current position: (\d+):t(\d+)(?:\+(\d+))?$", re.M)


def tick_positions(t):
    """Positions by the progress counter's ticks (docs/progress-counter.md,
    "Positions by ticks"): in a trace recorded with the counter a point
    inside an event is named EVT:tT+S (tick T of the stretch, then S single
    steps), without hardware breakpoint counters (RR_GDB_COUNTERS=0 here):
    when-position names it, `run EVT:tT+S` and `seek-ticks T` go there, two
    gdb checkpoints of one stretch are listed in replay order by their ticks
    (no re-run), a reverse-continue arrives at its hit by ticks (the
    checkpoint taken there is at a tick position), and a checkpoint there
    saved with write-checkpoints (format 6.1) restores in a new session at
    the same registers and position. A trace without the counter refuses a
    tick position with one line."""
    trace = t.record("loop", [t.build("gdb_loop")])
    script = ["break gdb_loop.c:13 if i == %d" % LATE, "continue", "checkpoint", "delete",
              "break gdb_loop.c:12 if i == %d" % EARLY, "reverse-continue", "checkpoint", "print i",
              "info registers rip", "when-position", "stepi", "stepi", "when-position", "print i", "delete",
              "info checkpoints", "restart 1", "info checkpoints", "print i"]
    out = t.gdb(trace, script, env={"RR_GDB_COUNTERS": "0"})
    pos = TICK_POSITION.findall(out)
    r = rips(out)
    t.expect(len(pos) == 2 and len(r) == 1 and pos[0][0] == pos[1][0] and
             (int(pos[0][1]), int(pos[0][2] or 0)) < (int(pos[1][1]), int(pos[1][2] or 0)),
             "when-position names the points by ticks, the second after the first: %r" % pos, out)
    t.expect(values(out) == [str(EARLY), str(EARLY), str(LATE)],
             "reverse-continue to i == EARLY, restart 1 at LATE: %r" % values(out), out)
    cps = re.findall(r"^Checkpoint (\d+) at (.*)\.$", out, re.M)
    t.expect(len(cps) == 2 and re.fullmatch(r"position \d+:t\d+(\+\d+)?", cps[1][1]) is not None,
             "the reverse-continue arrived at its hit by ticks: the checkpoint there is at a tick position: %r" % cps, out)
    listed = re.findall(r"^(\* )?(\d+)\tposition (\d+:t\d+(?:\+\d+)?)\t", out, re.M)
    t.expect(len(listed) == 4 and [l[1] for l in listed] == ["2", "1", "2", "1"] and
             [bool(l[0]) for l in listed] == [False, False, False, True],
             "info checkpoints in replay order by ticks (checkpoint 2, taken second, comes first), "
             "the current one marked after restart 1: %r" % listed, out)
    t.expect("no position here" not in out and not SLOW_ROAD.findall(out), "no position missing, no slow road", out)
    bp = re.findall(r"^Breakpoint 2 at (0x[0-9a-f]+): file", out, re.M)
    t.expect(len(bp) == 1 and r[:1] == bp, "the reverse-continue stopped at the breakpoint's address: %r %r" % (bp, r), out)
    if len(pos) == 2:
        e, tk, st = pos[0]
        p = "%s:t%s" % (e, tk) + ("+" + st if st else "")
        out = t.gdb(trace, ["run " + p, "print i", "info registers rip", "when-position", "seek-ticks %s" % tk,
                            "when-ticks", "when-position", "run %s:t99999999" % e, "when", "run %s:t5+3x" % e],
                    env={"RR_GDB_COUNTERS": "0"})
        t.expect(values(out) == [str(EARLY)] and rips(out) == r and "Current position: %s\n" % p in out,
                 "run %s reaches i == EARLY at the same rip and names it the same" % p, out)
        t.expect("Current tick: %s (counted branches since event %s)" % (tk, e) in out and
                 "Current position: %s:t%s\n" % (e, tk) in out, "seek-ticks %s goes to that tick" % tk, out)
        t.expect("rr: the stretch after event %s ends before %s:t99999999; stopping at event %d" % (e, e, int(e) + 1) in out
                 and "Current event: %d" % (int(e) + 1) in out, "a tick past the stretch stops at the next event", out)
        t.expect("rr: run takes an event number or a position EVT:tT+S or EVT:0xADDR:K, not '%s:t5+3x'" % e in out,
                 "a malformed tick position is refused with one line", out)
    # A gdb checkpoint reached by ticks, saved without breakpoint counters:
    # its file keeps the tick piece (format 6.0) and restores in a new
    # session at the same point, named the same.
    no_counters = {"RR_GDB_COUNTERS": "0"}
    out1 = t.gdb(trace, ["break gdb_loop.c:12 if i == %d" % LATE, "continue", "delete",
                         "break gdb_loop.c:12 if i == %d" % EARLY, "reverse-continue", "checkpoint", "stepi",
                         "checkpoint", "print i", "info registers rip rsp rax", "write-checkpoints"], env=no_counters)
    cp = re.search(r"^Checkpoint 2 at position (\d+:t\d+(?:\+\d+)?)\.$", out1, re.M)
    t.expect(cp is not None and "Wrote 2 checkpoints to the trace." in out1,
             "checkpoints at tick positions are written without breakpoint counters", out1)
    files = [f for f in os.listdir(os.path.join(trace, "checkpoints")) if "-" in f]
    versions = [open(os.path.join(trace, "checkpoints", f), "rb").read(16)[8:16] for f in files]
    t.expect(len(files) == 2 and versions == [struct.pack("<II", 6, 1)] * 2,
             "their files are of format 6.1 (a tick piece): %r %r" % (files, versions))
    # Loaded in replay order: 1 is the hit, 2 one instruction after it. From
    # the restored hit, going back one instruction is by ticks too: the
    # file's ticks and its restored task's registers name the point.
    out2 = t.gdb(trace, ["load-checkpoints", "info checkpoints", "restart 2", "print i", "info registers rip rsp rax",
                         "when-position", "restart 1", "reverse-stepi", "when-position"], env=no_counters)
    back = TICK_POSITION.findall(out2)
    t.expect(len(back) == 2 and not SLOW_ROAD.findall(out2) and "no position here" not in out2,
             "reverse-stepi from a restored checkpoint file's tick position goes back by ticks: %r" % back, out2)
    r1 = re.findall(r"^(rip|rsp|rax) +(0x[0-9a-f]+)", out1, re.M)
    r2 = re.findall(r"^(rip|rsp|rax) +(0x[0-9a-f]+)", out2, re.M)
    t.expect(cp is not None and re.search(r"^2\tposition %s\t" % re.escape(cp.group(1)), out2, re.M) is not None and
             values(out2) == values(out1) == [str(EARLY)] and len(r1) == 3 and r1 == r2 and
             "Current position: %s\n" % cp.group(1) in out2,
             "the saved tick position restores in a new session: %r %r %r" % (values(out2), r1, r2), out2)
    plain_trace = t.record("plain", [t.build("gdb_loop")], args=["--no-progress-counter"])
    out = t.gdb(plain_trace, ["run 5:t3", "when"])
    t.expect("rr: 5:t3 names a point by the progress counter's ticks, which this trace does not have" in out,
             "a trace without the counter refuses a tick position", out)


def try_command(command):
    """gdb script lines that run COMMAND and print its error, if any, instead
    of ending the batch script there."""
    return ["python", "try:", "    gdb.execute(%r)" % command, "except gdb.error as e:",
            "    print('command failed: %s' % e)", "end"]


def calls(t):
    """print/call into the replayed program (diversions): a list walked, a
    string allocated and returned, a global changed by a call and by set
    var, a register written, a write to stdout run and a file's creation
    refused; then the replay goes on as recorded, forward and back. A call
    that crashes is reported and the replay goes on; a breakpoint inside a
    called function stops it, and finish ends the call; a watchpoint does
    not stop a call (as natively) but the replay after it; a clock read in
    a call; ^C stops a call that never returns."""
    trace = t.record("calls", [t.build("gdb_calls")], output="sum 15")
    created = os.path.join(t.tmp, "created")
    out = t.gdb(trace, ["break step_done if i == 3", "continue", "print sum(head)", "print describe(3)",
                        "call add_to_total(100)", "print total", "set var total = 5", "print total",
                        "print say(7)", "print make_file(%s)" % ('"' + created + '"'),
                        "print $rax = 12345", "print $rax", "delete", "break step_done", "continue",
                        "print total", "print i", "print $rax", "reverse-continue", "print total", "print i",
                        "delete", "continue"])
    v = values(out)
    t.expect(len(v) >= 6 and v[0] == "6" and v[1].endswith('"a list of 3 nodes"') and v[2:5] == ["106", "106", "5"],
             "sum(head), describe(3), add_to_total(100), set var in the diversion: %r" % v, out)
    t.expect(re.search(r"^said 7$", out, re.M) is not None and len(v) >= 6 and v[5] == "7",
             "a call's write to stdout runs", out)
    t.expect(len(v) >= 7 and v[6] == "-1" and not os.path.exists(created), "a call cannot create a file: %r" % v, out)
    t.expect(v[7:9] == ["12345", "12345"], "a register written in the diversion: %r" % v, out)
    t.expect(v[9:11] == ["10", "4"] and v[11] != "12345", "continue: the replay goes on as recorded: %r" % v, out)
    t.expect(v[12:14] == ["6", "3"], "reverse-continue: the recorded values before the calls: %r" % v, out)
    t.expect("sum 15" in out and "diverged" not in out, "the replay ends as recorded", out)

    out = t.gdb(trace, ["break step_done if i >= 2", "continue", *try_command("print crash(0)"), "bt 2", "continue",
                        "print total", "print i", "break sum", *try_command("print sum(head)"), "bt 2", "finish",
                        "delete", "print total", "continue"])
    v = values(out)
    t.expect("Program received signal SIGSEGV" in out and "signaled while in a function called from GDB" in out and
             re.search(r"^#1 +<function called from gdb>", out, re.M) is not None, "a crashing call is reported", out)
    t.expect(v[:2] == ["6", "3"], "after the crash, continue goes on with the replay: %r" % v, out)
    t.expect(re.search(r"Breakpoint \d+, sum \(n=0x[0-9a-f]+\)", out) is not None and
             "stopped while in a function called from GDB" in out, "a breakpoint inside a called function", out)
    t.expect(re.search(r"Value returned is \$\d+ = 6", out) is not None and v[-1] == "6",
             "finish ends the call; the replay is unchanged: %r" % v, out)
    t.expect("sum 15" in out and "diverged" not in out, "the replay ends as recorded after the calls", out)

    # A watchpoint does not stop a call (gdb does not stop there natively
    # either) and then stops the replay at the recorded write, with the
    # recorded values; a clock read runs; next after a call steps the replay.
    out = t.gdb(trace, ["break step_done if i == 3", "continue", "watch total", "print add_to_total(100)",
                        "print now() > 1700000000", "print total", "continue", "print total", "print add_to_total(1)",
                        "next", "print total"])
    v = values(out)
    t.expect(v == ["106", "1", "106", "10", "11", "10"] and re.search(r"Old value = 6\nNew value = 10\n", out) is not None,
             "watchpoint, clock read and next around calls: %r" % v, out)

    # ^C stops a call that never returns; resuming goes back to the replay.
    exe = os.path.join(t.tmp, "gdb_calls")
    spin = int(re.search(r"^([0-9a-f]+) T spin$", run(["nm", exe]).stdout, re.M).group(1), 16) + 0x555555554000

    def interrupted_call(sock):
        replies = [exchange(sock, "qSupported"), exchange(sock, "?"), exchange(sock, "qXfer:siginfo:read::0,80"),
                   exchange(sock, "P10=" + spin.to_bytes(8, "little").hex()), exchange(sock, "p10"),
                   exchange(sock, "vCont;c", then=b"\x03"), exchange(sock, "vCont;c")]
        t.expect(replies[3] == "OK" and replies[4] == spin.to_bytes(8, "little").hex(),
                 "the pc written in a diversion: %r" % replies[3:5])
        t.expect(replies[5].startswith("T02thread:"), "^C stops a call that spins: %r" % replies[5])
        t.expect(replies[6].startswith("T09thread:"), "continue goes on with the replay, to its exit: %r" % replies[6])
    t.served([trace], interrupted_call, "after an interrupted call")


def libraries(t):
    """info sharedlibrary and a breakpoint in a library set before it loads,
    with the library list served by rr (qXfer:libraries-svr4) rather than
    walked by gdb; the same packet from a gdb started by hand."""
    trace = t.record("t", [t.build("gdb_target")])
    out = t.gdb(trace, ["info sharedlibrary", "set breakpoint pending on", "break printf", "continue", "bt 1",
                        "info sharedlibrary"], env={"RR_GDB_LOG": "1"})
    t.expect("gdb-> qXfer:libraries-svr4:read" in out, "gdb asks rr for the library list", out)
    t.expect(re.search(r"Breakpoint 1, [_a-z]*printf", out) is not None, "a pending breakpoint in libc hits", out)
    t.expect(re.search(r"^0x[0-9a-f]+ +0x[0-9a-f]+ +Yes.*libc\.so\.6$", out, re.M) is not None,
             "info sharedlibrary lists libc", out)

    def library_list(sock):
        replies = [exchange(sock, "qSupported"), exchange(sock, "qXfer:libraries-svr4:read::0,fffff")]
        t.expect("qXfer:libraries-svr4:read+" in replies[0], "libraries-svr4 offered: %r" % replies[0])
        t.expect(replies[1].startswith("l<library-list-svr4 version=\"1.0\" main-lm=\"0x") and
                 re.search(r'<library name="[^"]*libc\.so\.6" lm="0x[0-9a-f]+" l_addr="0x[0-9a-f]+"', replies[1])
                 is not None, "the list at the end holds libc: %r" % replies[1][:300])
    t.served(["-e", trace], library_list, "after the library list")


def exec_events(t):
    """catch exec stops at each execve of the debugged process with gdb on
    the new program; a breakpoint in the last image hits, also with no
    catchpoint (gdb follows the exec by itself)."""
    trace = t.record("exec", [t.build("gdb_exec")], output="image 0")
    out = t.gdb(trace, ["catch exec", "continue", "continue", "break last_image", "continue", "print n", "continue"])
    t.expect(len(re.findall(r"^Catchpoint 1 \(exec'd .*gdb_exec.*\)", out, re.M)) == 2,
             "catch exec stops at both execs", out)
    t.expect(re.search(r"Breakpoint 2, last_image \(n=0\)", out) is not None and values(out) == ["0"],
             "a breakpoint in the last image", out)
    out = t.gdb(trace, ["break last_image", "continue", "print n"])
    t.expect(re.search(r"Breakpoint 1, last_image \(n=0\)", out) is not None and values(out) == ["0"] and
             "Catchpoint" not in out, "gdb follows the execs by itself", out)


def processes(t):
    """gdb's inferiors for a program's processes (multiprocess extensions,
    fork events): catch fork, both processes in info inferiors with
    detach-on-fork off, a breakpoint in the child, the child's exit stop
    and reverse-continue from it back into the child, its exit, the parent
    going on, the vfork child's and the parent's exits; reverse execution
    back across the fork and forward again; with gdb's default
    (detach-on-fork on) the child is left alone."""
    trace = t.record("fork", [t.build("gdb_fork")], output="parent saw 3")
    out = t.gdb(trace, ["set detach-on-fork off", "catch fork", "continue", "info inferiors", "break child_work",
                        "continue", "info inferiors", "print n", "print worked", "finish", "print worked", "continue",
                        "print worked", "reverse-continue", "print worked", "continue", "continue",
                        "inferior 1", "break parent_done", "continue", "print child_status", "continue", "continue",
                        "inferior 1", "continue", "continue"])
    v = values(out)
    t.expect(re.search(r"^Catchpoint 1 \(forked process (\d+)\)", out, re.M) is not None, "catch fork stops", out)
    t.expect(len(re.findall(r"hit Breakpoint 2\.\d, child_work \(n=10\)", out)) == 2,
             "the breakpoint in the child hits, and again going back from its exit", out)
    t.expect(re.search(r"^  1 +process \d+ .*\n\* 2 +process \d+ ", out, re.M) is not None,
             "info inferiors lists both processes, the child current", out)
    t.expect(v[:3] == ["10", "0", "45"] and "Value returned is $3 = 45" in out,
             "the child's values: n, worked before and after child_work: %r" % v, out)
    # The child stops at its exit, still there (rr's SIGKILL): gdb goes
    # back into it from there; continuing then tells gdb how it ended.
    t.expect(re.search(r"^Thread 2\.1 received signal SIGKILL", out, re.M) is not None and v[3:5] == ["45", "0"],
             "the child stops at its exit, and reverse-continue goes back into it: %r" % v, out)
    t.expect(len(re.findall(r"^\[Inferior 2 \(process \d+\) exited with code 03\]", out, re.M)) == 1,
             "the child's exit is reported once, after its exit stop", out)
    t.expect(re.search(r"Breakpoint 3(\.\d)?, parent_done \(child_status=3\)", out) is not None and v[-1] == "3",
             "the parent goes on to parent_done: %r" % v, out)
    # The vfork child (inferior 3, followed into its exec) and the last
    # process the same way: the exit stop, then the exit.
    t.expect(re.search(r"^Thread 3\.1 received signal SIGKILL.*\n(.*\n){0,3}\[Inferior 3 \(process \d+\) exited normally\]",
                       out, re.M) is not None, "the vfork child's exit stop, then its exit", out)
    t.expect(re.search(r"^Thread 1(\.1)? received signal SIGKILL.*\n(.*\n){0,3}\[Inferior 1 \(process \d+\) exited normally\]",
                       out, re.M) is not None, "the parent's exit stop, then its exit", out)

    # Back across the fork (to the start: no earlier hit) and forward again:
    # the child's inferior is the same one and its breakpoint hits again.
    out = t.gdb(trace, ["set detach-on-fork off", "break child_work", "continue", "print worked", "reverse-continue",
                        "continue", "info inferiors", "print n", "print worked"])
    t.expect(len(re.findall(r"hit Breakpoint 1\.\d, child_work \(n=10\)", out)) == 2 and
             "No more reverse-execution history" in out and values(out) == ["0", "10", "0"],
             "reverse-continue back before the fork, then the child's breakpoint again", out)
    t.expect(len(re.findall(r"^\*? +\d +process \d+ ", out, re.M)) == 2 and "internal-error" not in out,
             "two inferiors after going back and forth", out)

    # gdb's default: it detaches from the child, whose breakpoint stays out.
    out = t.gdb(trace, ["break child_work", "break parent_done", "continue", "info inferiors"])
    t.expect(re.search(r"\[Detaching after fork from child process \d+\]", out) is not None and
             "child_work (n=" not in out and re.search(r"Breakpoint 2, parent_done \(child_status=3\)", out),
             "detach-on-fork on: the child runs untouched, the parent stops", out)
    t.expect(len(re.findall(r"^\*? +\d +process \d+ ", out, re.M)) == 1, "one inferior after detaching", out)

    # follow-fork-mode child: gdb detaches from the parent and follows the child.
    out = t.gdb(trace, ["set follow-fork-mode child", "break child_work", "continue", "info inferiors", "print n"])
    t.expect(re.search(r"hit Breakpoint 1, child_work \(n=10\)", out) is not None and values(out) == ["10"] and
             re.search(r"^  1 +<null> .*\n\* 2 +process \d+ ", out, re.M) is not None,
             "follow-fork-mode child: the parent let go, the child's breakpoint hits", out)


def vfork_events(t):
    """catch vfork stops at the parent's vfork, whose registers and stack gdb
    reads while it waits inside the kernel; gdb detaches the child, and the
    parent's breakpoint after the vfork hits once gdb hears it returned
    (vforkdone). With detach-on-fork off the vfork child is an inferior of
    its own, followed into its exec."""
    trace = t.record("fork", [t.build("gdb_fork")], output="parent saw 3")
    rows = re.findall(r"^(\d+)\t(?:\d+|--)\t(\d+)\t(.*)$", run([t.rr, "ps", trace]).stdout, re.M)
    if not t.expect(len(rows) == 3, "rr ps lists the parent and its two children: %r" % rows):
        return
    parent, vforked = rows[0][0], rows[2][0]
    out = t.gdb(trace, ["catch vfork", "break vfork_returned", "continue", "bt 2", "continue", "print child",
                        "info inferiors"])
    t.expect(re.search(r"^Catchpoint 1 \(vforked process %s\), .*vfork" % vforked, out, re.M) is not None and
             re.search(r"^#1 +0x[0-9a-f]+ in main ", out, re.M) is not None,
             "catch vfork stops in the parent's vfork, its stack readable", out)
    t.expect("[Detaching after vfork from child process %s]" % vforked in out and
             re.search(r"^Breakpoint 2, vfork_returned \(child=%s\)" % vforked, out, re.M) is not None and
             values(out) == [vforked] and len(re.findall(r"^\*? +\d +process \d+ ", out, re.M)) == 1,
             "the child detached, the parent's breakpoint after its vfork hits", out)
    out = t.gdb(trace, ["set detach-on-fork off", "catch vfork", "continue", "continue", "inferior 1", "continue",
                        "break vfork_returned", "continue", "info inferiors"])
    t.expect(re.search(r"hit Catchpoint 1 \(vforked process %s\)" % vforked, out) is not None and
             "[New inferior 3 (process %s)]" % vforked in out and
             "process %s is executing new program" % vforked in out,
             "detach-on-fork off: the vfork child becomes inferior 3 and gdb follows its exec", out)
    t.expect(re.search(r"hit Breakpoint 2\.1, vfork_returned \(child=%s\)" % vforked, out) is not None and
             re.search(r"^\* 1 +process %s .*\n  3 +process %s " % (parent, vforked), out, re.M) is not None,
             "the parent's breakpoint after the vfork, both processes in info inferiors", out)


def process_starts(t):
    """rr replay -f PID and -p PID start gdb in that process's inferior; gdb's
    attach takes on another recorded process that exists there (vAttach)."""
    trace = t.record("fork", [t.build("gdb_fork")], output="parent saw 3")
    ps = run([t.rr, "ps", trace]).stdout
    rows = re.findall(r"^(\d+)\t(?:\d+|--)\t(\d+)\t(.*)$", ps, re.M)
    t.expect(len(rows) == 3, "rr ps lists the parent and its two children", ps)
    if len(rows) != 3:
        return
    parent, child, vforked = rows[0][0], rows[1][0], rows[2][0]
    out = t.gdb(trace, ["info inferiors", "break child_work", "continue", "print n", "add-inferior", "inferior 2",
                        "attach " + parent, "info inferiors", "bt"], extra=["-f", child])
    t.expect(re.search(r"^\* 1 +process %s " % child, out, re.M) is not None, "-f: gdb starts in the child", out)
    t.expect(re.search(r"Breakpoint 1, child_work \(n=10\)", out) is not None and values(out)[:1] == ["10"],
             "-f: the child's breakpoint", out)
    t.expect(re.search(r"^  1 +process %s .*\n\* 2 +process %s " % (child, parent), out, re.M) is not None and
             re.search(r"#\d+ +0x[0-9a-f]+ in main ", out) is not None,
             "attach: the parent becomes inferior 2, its stack readable", out)
    out = t.gdb(trace, ["info inferiors", "break main", "continue", "print argc", "print argv[1]", "add-inferior",
                        "inferior 2", "attach 999999"], extra=["-p", vforked])
    t.expect("rr: process 999999 does not exist at this point of the replay" in out,
             "attach to a process that does not exist here is refused with a reason", out)
    t.expect(re.search(r"^\* 1 +process %s " % vforked, out, re.M) is not None and values(out)[:1] == ["2"] and
             re.search(r'^\$2 = 0x[0-9a-f]+ "vforked"$', out, re.M) is not None,
             "-p: gdb starts in the exec'd vfork child, at its main with its arguments", out)
    out = run([t.rr, "replay", "-p", "999999", trace]).stdout
    t.expect("process 999999 never execs in this trace" in out, "-p of a process that is not in the trace", out)


def exit_records(t):
    """A child's exit stop, whose event holds the syscall buffer's record of
    its last call: gdb hears the child ended and goes on with the parent, so
    the replay runs past that exit; its records were checked at the stop and
    are not checked again against the emptied buffer. The same with the
    child detached (gdb's default), whose exit stop gdb never sees."""
    trace = t.record("exit", [t.build("gdb_exit_records")])
    dump = run([t.rr, "dump", trace]).stdout
    child = re.search(r"^  buffered before it: read = 1 \(1 calls\)\nevent \d+ tid (\d+) syscall exit_group\(", dump, re.M)
    if not t.expect(child is not None, "the child's exit_group event carries its buffered read", dump):
        return
    out = t.gdb(trace, ["set detach-on-fork off", "break child_gone", "continue", "continue", "inferior 1",
                        "continue", "print status"])
    t.expect(re.search(r"^Thread 2\.1 received signal SIGKILL.*\n(.*\n){0,3}\[Inferior 2 \(process %s\) exited with code 05\]"
                       % child.group(1), out, re.M) is not None, "the child's exit stop, then its exit", out)
    t.expect(re.search(r"hit Breakpoint 1\.1, child_gone \(status=5\)", out) is not None and values(out) == ["5"] and
             "diverged" not in out, "the parent goes on past the child's exit to its breakpoint", out)
    # gdb's default: the child detached, the replay stops at its exit all the
    # same (for no one) and goes on at once.
    out = t.gdb(trace, ["break child_gone", "continue", "print status"])
    t.expect("[Detaching after fork from child process %s]" % child.group(1) in out and
             re.search(r"^Breakpoint 1, child_gone \(status=5\)", out, re.M) is not None and values(out) == ["5"] and
             "diverged" not in out, "detach-on-fork on: the parent's breakpoint past the detached child's exit", out)


def interrupt(t):
    """^C during a reverse-continue stops it where the search is."""
    exe = t.build("gdb_hot")
    trace = t.record("hot", [exe])
    tick = int(re.search(r"^([0-9a-f]+) T tick$", run(["nm", exe]).stdout, re.M).group(1), 16)

    def interrupted_search(sock):
        replies = [exchange(sock, "qSupported"), exchange(sock, "?"),
                   exchange(sock, "Z0,%x,1" % (0x555555554000 + tick)), exchange(sock, "bc", then=b"\x03"),
                   exchange(sock, "qRcmd," + "when".encode().hex())]
        t.expect(replies[1].startswith("T09") and replies[2] == "OK", "at the exit with a breakpoint: %r" % replies)
        t.expect(replies[3].startswith("T02thread:"), "^C stops a reverse-continue: %r" % replies)
    t.served(["-e", trace], interrupted_search, "after an interrupted search")


def packets(t):
    """rr replay -s PORT with a gdb started by hand, and packets gdb would
    never send."""
    trace = t.record("t", [t.build("gdb_target")])

    def odd_packets(sock):
        replies = [exchange(sock, pkt) for pkt in ["qSupported", "?", "m0,8", "mzz", "Z9,0,0", "vCont;x",
                                                    "p999", "Pzz", "qXfer:features:read:target.xml:0,40",
                                                    "H", "qRcmd,7768656e", "g", "bogus"]]
        t.expect(replies[1].startswith("T05thread:"), "stop reply: %r" % replies[1])
        t.expect(replies[2] == "E01" and replies[3] == "E01" and replies[6] == "E01", "bad reads are errors: %r" % replies)
        t.expect(replies[8].startswith("m<?xml"), "target.xml: %r" % replies[8][:20])
        t.expect(len(replies[11]) > 400, "registers: %d hex digits" % len(replies[11]))
    t.served([trace], odd_packets, "after detach")


CASES = {f.__name__: f for f in (forward, reverse, stepping, checkpoints, persistent, threads, sqlite, signals,
                                 hot, counted, ticks, counter_steps, positions, tick_positions, interrupt, packets, calls,
                                 libraries, exec_events, processes, vfork_events, process_starts, exit_records)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rr", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--case", required=True, choices=sorted(CASES))
    a = p.parse_args()
    with scratch_dir("rr-gdb-test-") as tmp:
        t = Scenario(a.rr, a.src, tmp)
        CASES[a.case](t)
    t.failures.report("gdb.%s passed" % a.case)


if __name__ == "__main__":
    main()
