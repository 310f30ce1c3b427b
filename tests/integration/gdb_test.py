#!/usr/bin/env python3
"""rr replay under real gdb (Debian's gdb 13): forward debugging, reverse
execution, gdb checkpoints, persistent gdb checkpoints, rr's own commands,
threads, a real program, `rr replay -s PORT`, and malformed packets.

Each case runs `rr replay TRACE -- -batch -nx -x SCRIPT` and checks gdb's
output."""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

failures = []


def run(argv, timeout=180, env=None):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env)


def expect(cond, what, out=""):
    if not cond:
        failures.append(what + ("\n--- output ---\n" + out[-3000:] if out else ""))


def gdb(rr, trace, commands, extra=(), env=None):
    script = os.path.join(os.path.dirname(trace), "script.gdb")
    with open(script, "w") as f:
        f.write("\n".join(commands) + "\n")
    r = run([rr, "replay", *extra, trace, "--", "-batch", "-nx", "-x", script], env=env)
    return r.stdout


def values(out, name):
    """Every value gdb printed for `print` ($N = V), in order."""
    return re.findall(r"^\$\d+ = (.*)$", out, re.M)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rr", required=True)
    p.add_argument("--src", required=True)
    a = p.parse_args()
    rr = os.path.abspath(a.rr)
    tmp = tempfile.mkdtemp(prefix="rr-gdb-test-")
    try:
        target = os.path.join(tmp, "gdb_target")
        threads = os.path.join(tmp, "gdb_threads")
        subprocess.run(["cc", "-O0", "-g", "-o", target, os.path.join(a.src, "gdb_target.c")], check=True)
        subprocess.run(["cc", "-O0", "-g", "-pthread", "-o", threads, os.path.join(a.src, "gdb_threads.c")], check=True)
        trace = os.path.join(tmp, "t")
        r = run([rr, "record", "-q", "-o", trace, target])
        expect(r.returncode == 0, "recording gdb_target failed", r.stdout)

        # 1. Forward: break, continue, print, backtrace, step, next, finish, watch.
        out = gdb(rr, trace, ["break bump", "continue", "print by", "continue", "print by", "bt", "finish",
                              "next", "step", "delete", "watch counter", "continue", "continue", "print counter"])
        expect("Breakpoint 1, bump (by=0) at" in out and "Breakpoint 1, bump (by=1) at" in out, "break/continue", out)
        expect(re.search(r"#1 +0x[0-9a-f]+ in main \(\) at .*gdb_target.c:\d+", out) is not None, "backtrace", out)
        expect("Value returned is $3 = 1" in out, "finish returns bump's value", out)
        expect("Old value = 1" in out and "New value = 3" in out and "New value = 6" in out, "watch counter", out)
        expect(values(out, "")[:2] == ["0", "1"] and values(out, "")[-1] == "6", "print values", out)

        # 2. Conditional breakpoint; reverse-continue to an earlier hit;
        #    reverse watch finds the last write; reverse-finish; start of history.
        out = gdb(rr, trace, ["break bump if by == 7", "continue", "print counter", "delete",
                              "break bump", "reverse-continue", "print by", "print counter",
                              "delete", "watch counter", "reverse-continue", "print counter",
                              "delete", "break bump", "continue", "next", "delete", "reverse-finish",
                              "print i", "reverse-continue", "info registers rip"])
        v = values(out, "")
        expect(v[:3] == ["21", "6", "15"], "conditional break and reverse-continue to by=6 (counter 15): %r" % v, out)
        expect("Old value = 15" in out and "New value = 10" in out, "reverse watch stops before the last write", out)
        expect(len(v) >= 5 and v[3] == "10", "counter before the write is 10: %r" % v, out)
        expect(re.search(r"0x[0-9a-f]+ in main \(\) at .*gdb_target.c:\d+\n\d+\s+int v = bump\(i\);", out) is not None,
               "reverse-finish back to the call in main", out)
        expect(len(v) >= 5 and v[4] == "6", "reverse-finish lands in main's iteration 6: %r" % v, out)
        expect("No more reverse-execution history." in out and "_start" in out, "reverse-continue to the start", out)

        # 2a. reverse-continue from a forward watchpoint stop goes back over
        #     the write just made, to just before it (in bump(1), not bump(0)).
        out = gdb(rr, trace, ["break bump", "continue", "continue", "delete", "watch counter", "continue",
                              "print counter", "reverse-continue", "print counter", "print by"])
        expect(values(out, "") == ["1", "0", "1"], "reverse from after the write of 1 to before it: %r" % values(out, ""), out)

        # 2d. A 12-byte watchpoint (two debug registers), forward and back.
        out = gdb(rr, trace, ["watch *(int(*)[3])&history[1]", "continue", "print i", "continue", "print i",
                              "reverse-continue", "print i", "print history[2]"])
        expect(values(out, "") == ["1", "2", "2", "0"], "12-byte watch over history[1..3]: %r" % values(out, ""), out)

        # 2b. reverse-next and reverse-step by lines (gdb steps ranges: vCont;r).
        out = gdb(rr, trace, ["break gdb_target.c:16", "continue", "continue", "print i", "reverse-next",
                              "reverse-step", "bt 1", "print counter", "reverse-next", "reverse-next", "print counter"])
        v = values(out, "")
        expect(re.search(r"^15\s+history\[i\] = v;", out, re.M) is not None, "reverse-next to line 15", out)
        expect(re.search(r"^#0 +bump \(by=1\)", out, re.M) is not None, "reverse-step into bump(1)", out)
        expect(v == ["1", "1", "0"], "i, then counter after and before bump(1) adds: %r" % v, out)
        expect(re.search(r"^9\s+counter \+= by;", out, re.M) is not None, "reverse-next back to line 9", out)

        # 2c. `next` stops at a breakpoint inside its step range (its third instruction:
        #     gdb steps the first one alone).
        out = gdb(rr, trace, ["break gdb_target.c:15", "continue",
                              "python f = gdb.selected_frame(); d = f.architecture().disassemble(f.pc(), count=3); "
                              "gdb.execute('break *%d' % d[2]['addr'])", "next",
                              "info breakpoints"])
        expect(re.search(r"Breakpoint 2, 0x[0-9a-f]+ in main \(\) at .*gdb_target.c:15", out) is not None,
               "next stops at the breakpoint inside line 15", out)

        # 3. Stepping back and forth by instruction; rr's when and run EVT;
        #    the end of the trace.
        out = gdb(rr, trace, ["break bump", "continue", "stepi", "stepi", "info registers rip", "reverse-stepi",
                              "reverse-stepi", "info registers rip", "stepi", "stepi", "info registers rip",
                              "when", "run 30", "when", "delete", "continue"])
        rips = re.findall(r"^rip +(0x[0-9a-f]+)", out, re.M)
        expect(len(rips) == 3 and rips[0] == rips[2] and rips[1] != rips[0], "stepi/reverse-stepi agree: %r" % rips, out)
        whens = re.findall(r"Current event: (\d+)", out)
        expect(len(whens) == 2 and whens[1] == "30", "when / run 30: %r" % whens, out)
        expect("Program received signal SIGKILL" in out, "continue to the end stops at the exit", out)

        # 4. gdb checkpoints: checkpoint, restart N, info checkpoints, delete checkpoint.
        #    They are in-memory copies (forked tracees); with RR_GDB_CLONES=0
        #    they are files, and the two roads must agree.
        script4 = ["break bump if by == 3", "continue", "next", "checkpoint", "print counter",
                   "info registers rip rsp", "delete", "break bump if by == 5", "continue", "print counter", "checkpoint",
                   "info checkpoints", "restart 1", "print counter", "info registers rip rsp",
                   "delete checkpoint 2", "info checkpoints", "restart 2"]
        out = gdb(rr, trace, script4)
        v = values(out, "")
        regs = re.findall(r"^(rip|rsp) +(0x[0-9a-f]+)", out, re.M)
        expect(v[:3] == ["6", "10", "6"], "restart 1 brings counter back to 6: %r" % v, out)
        expect(len(regs) == 4 and regs[:2] == regs[2:], "restart 1 brings rip and rsp back: %r" % regs, out)
        expect("Checkpoint 1 at event" in out and "Checkpoint 2 at event" in out, "checkpoint replies", out)
        expect("Deleted checkpoint 2." in out and "rr: no checkpoint 2" in out, "delete checkpoint", out)
        expect(len(re.findall(r"^(?:\* )?\d+\t.*\(in memory\)$", out, re.M)) == 3, "gdb checkpoints are kept in memory", out)
        files = gdb(rr, trace, script4, env=dict(os.environ, RR_GDB_CLONES="0"))
        expect("(in memory)" not in files and values(files, "") == v and
               re.findall(r"^(rip|rsp) +(0x[0-9a-f]+)", files, re.M) == regs,
               "checkpoints in files and in memory agree: %r vs %r" % (values(files, ""), v), files)

        # 5. write-checkpoints, then a new gdb session: load-checkpoints and restart.
        out1 = gdb(rr, trace, ["break bump if by == 5", "continue", "next", "checkpoint", "print counter",
                               "print by", "info registers rip rsp rax", "write-checkpoints"])
        expect("Wrote 1 checkpoints to the trace." in out1, "write-checkpoints", out1)
        out2 = gdb(rr, trace, ["load-checkpoints", "info checkpoints"])
        # Saved by its position (event, instruction, executions since the event).
        ids = re.findall(r"^(\d+)\s+position \d+:0x[0-9a-f]+:\d+\t", out2, re.M)
        expect(len(ids) == 1, "load-checkpoints lists the saved gdb checkpoint at its position: %r" % ids, out2)
        if ids:
            out2 = gdb(rr, trace, ["load-checkpoints", "restart " + ids[0], "print counter", "print by",
                                   "info registers rip rsp rax"])
            expect(values(out1, "") == values(out2, "") and len(values(out1, "")) == 2,
                   "variables after restart in a new session: %r vs %r" % (values(out1, ""), values(out2, "")), out2)
            r1 = re.findall(r"^(rip|rsp|rax) +(0x[0-9a-f]+)", out1, re.M)
            r2 = re.findall(r"^(rip|rsp|rax) +(0x[0-9a-f]+)", out2, re.M)
            expect(len(r1) == 3 and r1 == r2, "registers after restart in a new session: %r vs %r" % (r1, r2), out2)
        # The positioned file never seeds -g: a replay to its event still equals one from the start.
        cks = os.listdir(os.path.join(trace, "checkpoints"))
        expect(any("-" in c for c in cks), "a gdb checkpoint file inside an event: %r" % cks)
        r1 = run([rr, "checkpoints", "--json", trace])
        expect(r1.returncode == 0 and r1.stdout.strip() == "[]", "rr checkpoints ignores gdb checkpoint files: " + r1.stdout)

        # 6. Threads: info threads, a breakpoint in one thread, reverse-continue.
        ttrace = os.path.join(tmp, "threads")
        r = run([rr, "record", "-q", "-o", ttrace, threads])
        expect(r.returncode == 0, "recording gdb_threads failed", r.stdout)
        out = gdb(rr, ttrace, ["break work if id == 2", "continue", "info threads", "continue", "print shared[2]",
                               "reverse-continue", "print shared[2]"])
        expect(len(re.findall(r"^[ *] +\d+ +Thread \d+", out, re.M)) == 4, "info threads shows 4 threads", out)
        expect("hit Breakpoint 1, work (id=2)" in out and values(out, "") == ["3", "0"], "thread breakpoint and reverse", out)
        # A checkpoint of four threads, copied in memory, and restarted.
        out = gdb(rr, ttrace, ["break work if id == 2", "continue", "continue", "print shared[2]", "checkpoint",
                               "info checkpoints", "continue", "print shared[2]", "restart 1", "print shared[2]",
                               "info threads", "continue", "print shared[2]"])
        expect(values(out, "") == ["3", "6", "3", "6"] and "(in memory)" in out,
               "restart of an in-memory checkpoint of threads: %r" % values(out, ""), out)
        expect(len(re.findall(r"^[ *] +\d+ +Thread \d+", out, re.M)) == 4, "4 threads after restart", out)

        # 7. A real program: a function of sqlite3's library.
        sqlite = shutil.which("sqlite3")
        if sqlite is None:
            failures.append("sqlite3 is not installed (scripts/install-deps installs it)")
        else:
            strace = os.path.join(tmp, "sqlite")
            r = run([rr, "record", "-q", "-o", strace, sqlite, ":memory:", "create table t(x); insert into t values (42); select x * 2 from t;"])
            expect(r.returncode == 0 and "84" in r.stdout, "recording sqlite3", r.stdout)
            out = gdb(rr, strace, ["break sqlite3_prepare_v2", "continue", "bt 2", "x/s $rsi", "continue",
                                   "x/s $rsi", "reverse-continue", "x/s $rsi"])
            stmts = re.findall(r':\s+"([^"]*)"', out)
            expect(len(stmts) == 3 and "create table" in stmts[0] and stmts[2] == stmts[0] and stmts[1] != stmts[0],
                   "sqlite3_prepare_v2 statements forward and back: %r" % stmts, out)

        # 9. Signals: a handled one stops gdb, stepi enters its handler, one
        #    gdb passes silently does not stop; a crash stops, stays stuck, and
        #    a reverse watch from it finds the write that broke the pointer.
        crash = os.path.join(tmp, "gdb_crash")
        subprocess.run(["cc", "-O0", "-g", "-o", crash, os.path.join(a.src, "gdb_crash.c")], check=True)
        ctrace = os.path.join(tmp, "crash")
        r = run([rr, "record", "-q", "-o", ctrace, crash])
        expect(r.returncode == 128 + 11 and "usr1 10 alrm 14" in r.stdout, "recording gdb_crash (status %d)" % r.returncode, r.stdout)
        out = gdb(rr, ctrace, ["handle SIGALRM nostop noprint", "continue", "stepi", "print $pc == (long)on_usr1",
                               "continue", "bt 1", "print alrm_seen", "continue", "when", "continue", "when",
                               "watch target", "reverse-continue", "print i", "bt 1"])
        v = values(out, "")
        whens = re.findall(r"Current event: (\d+)", out)
        expect("Program received signal SIGUSR1" in out, "SIGUSR1 stops gdb", out)
        expect("SIGALRM" not in out, "SIGALRM passes silently", out)
        expect(len(v) >= 1 and v[0] == "1", "stepi from the SIGUSR1 stop enters on_usr1: %r" % v, out)
        expect("Program received signal SIGSEGV" in out and re.search(r"^#0 +main \(\) at .*gdb_crash.c:32", out, re.M) is not None,
               "the crash stops in main", out)
        expect(len(v) >= 2 and v[1] == "14", "the passed SIGALRM reached its handler: %r" % v, out)
        expect("Program received signal SIGKILL" in out and len(whens) == 2 and whens[0] == whens[1],
               "continuing from the crash stays there: %r" % whens, out)
        expect(re.search(r"Old value = \(int \*[^)]*\) 0x10\n", out) is not None and re.search(r"#0 .*fill \(n=8\)", out) is not None and
               len(v) >= 3 and v[2] == "5", "reverse watch from the crash finds the bad write at i == 5: %r" % v, out)

        # 10. A conditional breakpoint hit 3000 times in one stretch: the
        #     point stays a few pieces long, and reverse-continue finds the
        #     hit before it.
        hot = os.path.join(tmp, "gdb_hot")
        subprocess.run(["cc", "-O0", "-g", "-o", hot, os.path.join(a.src, "gdb_hot.c")], check=True)
        htrace = os.path.join(tmp, "hot")
        r = run([rr, "record", "-q", "-o", htrace, hot])
        expect(r.returncode == 0, "recording gdb_hot", r.stdout)
        out = gdb(rr, htrace, ["break tick if i == 2990", "continue", "checkpoint", "delete", "break tick",
                               "reverse-continue", "print i", "restart 1", "print i"])
        m = re.search(r"Checkpoint 1 at event \d+ \+ (\d+) runs, (\d+) steps \((\d+) pieces\)", out)
        expect(m is not None and int(m.group(1)) >= 2991 and int(m.group(3)) <= 4,
               "2991 hits make a point of a few pieces: %r" % ((m.groups() if m else None),), out)
        expect(values(out, "") == ["2989", "2990"], "reverse-continue and restart at i 2990: %r" % values(out, ""), out)

        # 12. A reverse watch deep inside one long stretch: the point before
        #     the write is reached with an execution counter (a counted
        #     piece), and lands where the stepping road (counters off) does.
        loop = os.path.join(tmp, "gdb_loop")
        subprocess.run(["cc", "-O0", "-g", "-o", loop, os.path.join(a.src, "gdb_loop.c")], check=True)
        ltrace = os.path.join(tmp, "loop")
        r = run([rr, "record", "-q", "-o", ltrace, loop])
        expect(r.returncode == 0, "recording gdb_loop", r.stdout)
        script = ["watch flag", "continue", "continue", "reverse-continue", "print i", "info registers rip",
                  "checkpoint", "reverse-stepi", "info registers rip", "stepi", "info registers rip"]
        roads = []
        for env in ({}, {"RR_GDB_COUNTERS": "0"}):
            path = os.path.join(tmp, "loop.gdb")
            with open(path, "w") as f:
                f.write("\n".join(script) + "\n")
            out = run([rr, "replay", ltrace, "--", "-batch", "-nx", "-x", path], env={**os.environ, **env}).stdout
            rips = re.findall(r"^rip +(0x[0-9a-f]+)", out, re.M)
            counted = re.search(r"Checkpoint 1 at event \d+ \+ .*?(, (\d+) counted)? \(", out)
            roads.append((values(out, ""), rips, counted.group(2) if counted else None, out))
        (v1, rips1, c1, out1), (v2, rips2, c2, out2) = roads
        expect(v1 == ["2990"] and "Old value = 2990" in out1 and len(rips1) == 3 and rips1[0] == rips1[2] and rips1[1] != rips1[0],
               "reverse watch in the loop, then reverse-stepi/stepi: %r %r" % (v1, rips1), out1)
        expect(c1 == "1", "the point before the write is a counted piece: %r" % c1, out1)
        expect(c2 is None and v2 == v1 and rips2 == rips1, "the stepping road agrees: %r %r" % (v2, rips2), out2)

        # 13. Positions (DESIGN section 2): a point inside an event is named
        #     (event, instruction X, times X ran since the event), reached
        #     with an execution counter (`run EVT:0xX:K`), and two of them
        #     at different instructions are ordered by re-running the stretch
        #     (info checkpoints lists them in replay order, `*` at the current one).
        out = gdb(rr, ltrace, ["break gdb_loop.c:13 if i == 900", "continue", "checkpoint", "delete",
                               "break gdb_loop.c:12 if i == 700", "reverse-continue", "print i", "info registers rip",
                               "when-position", "stepi", "stepi", "when-position", "checkpoint", "delete",
                               "info checkpoints", "restart 1", "info checkpoints", "print i"])
        pos = re.findall(r"^Current position: (\d+):(0x[0-9a-f]+):(\d+)$", out, re.M)
        rips = re.findall(r"^rip +(0x[0-9a-f]+)", out, re.M)
        expect(len(pos) == 2 and len(rips) == 1 and pos[0][1] == rips[0] and pos[0][2] == "700" and pos[1][2] == "700"
               and pos[1][1] != pos[0][1], "when-position at i == 700, and two instructions later: %r %r" % (pos, rips), out)
        listed = re.findall(r"^(\* )?(\d+)\tposition (\d+:0x[0-9a-f]+:\d+)\t", out, re.M)
        expect(len(listed) == 4 and [l[1] for l in listed] == ["2", "1", "2", "1"] and
               [bool(l[0]) for l in listed] == [True, False, False, True] and listed[0][2] == "%s:%s:%s" % pos[1],
               "info checkpoints in replay order, the current one marked: %r" % listed, out)
        expect(values(out, "") == ["700", "900"], "reverse-continue to i == 700, restart 1 at 900: %r" % values(out, ""), out)
        if pos:
            e, x, k = pos[0]
            out = gdb(rr, ltrace, ["run %s:%s:%s" % (e, x, k), "print i", "info registers rip", "when-position",
                                   "run %s:%s:99999999" % (e, x), "when"])
            expect(values(out, "") == ["700"] and re.findall(r"^rip +(0x[0-9a-f]+)", out, re.M) == [x] and
                   "Current position: %s:%s:%s" % (e, x, k) in out, "run to a position reaches i == 700 at it", out)
            expect("does not run 100000000 times after event %s" % e in out and "Current event: %d" % (int(e) + 1) in out,
                   "a position past its stretch stops at the next event", out)
        out = run([rr, "replay", ltrace, "--", "-batch", "-nx", "-ex", "break gdb_loop.c:12 if i == 700", "-ex", "continue",
                   "-ex", "when-position", "-ex", "print i"], env={**os.environ, "RR_GDB_COUNTERS": "0"}).stdout
        expect("rr: no position here: hardware breakpoint counters cannot be used" in out and values(out, "") == ["700"],
               "without counters, when-position says there is no position and the replay goes on", out)

        # 11. ^C during a reverse-continue stops it where the search is.
        tick = int(re.search(r"^([0-9a-f]+) T tick$", run(["nm", hot]).stdout, re.M).group(1), 16)

        def interrupted_search(sock):
            replies = [exchange(sock, "qSupported"), exchange(sock, "?"),
                       exchange(sock, "Z0,%x,1" % (0x555555554000 + tick)), exchange(sock, "bc", then=b"\x03"),
                       exchange(sock, "qRcmd," + "when".encode().hex())]
            expect(replies[1].startswith("T09") and replies[2] == "OK", "at the exit with a breakpoint: %r" % replies)
            expect(replies[3].startswith("T02thread:"), "^C stops a reverse-continue: %r" % replies)
        served(rr, ["-e", htrace], interrupted_search, "after an interrupted search")

        # 8. rr replay -s PORT with a gdb started by hand, and packets gdb would never send.
        def odd_packets(sock):
            replies = [exchange(sock, pkt) for pkt in ["qSupported", "?", "m0,8", "mzz", "Z9,0,0", "vCont;x",
                                                        "p999", "Pzz", "qXfer:features:read:target.xml:0,40",
                                                        "H" , "qRcmd,7768656e", "g", "bogus"]]
            expect(replies[1].startswith("T05thread:"), "stop reply: %r" % replies[1])
            expect(replies[2] == "E01" and replies[3] == "E01" and replies[6] == "E01", "bad reads are errors: %r" % replies)
            expect(replies[8].startswith("m<?xml"), "target.xml: %r" % replies[8][:20])
            expect(len(replies[11]) > 400, "registers: %d hex digits" % len(replies[11]))
        served(rr, [trace], odd_packets, "after detach")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("gdb tests passed")


def served(rr, args, talk, when):
    """Runs `rr replay -s PORT ARGS`, lets talk(sock) exchange packets, then
    detaches and checks that rr ends cleanly."""
    port = free_port()
    server = subprocess.Popen([rr, "replay", "-s", str(port), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        sock = connect(port)
        talk(sock)
        exchange(sock, "D")
        sock.close()
        server.wait(timeout=60)
        expect(server.returncode == 0, "rr replay -s ends cleanly %s (status %r)" % (when, server.returncode))
    finally:
        if server.poll() is None:
            server.kill()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(port):
    for _ in range(200):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("rr replay -s did not listen")


def exchange(sock, payload, then=b""):
    """Sends one packet (acknowledging mode), and `then` right after it, and
    returns the reply's payload, skipping console output (O packets)."""
    csum = sum(payload.encode()) % 256
    sock.sendall(b"$" + payload.encode() + b"#%02x" % csum + then)
    buf = b""
    while True:
        while b"#" not in buf or len(buf) < buf.index(b"#") + 3:
            chunk = sock.recv(65536)
            if not chunk:
                return ""
            buf += chunk
        start = buf.index(b"$")
        end = buf.index(b"#", start)
        body = buf[start + 1:end].decode("latin-1")
        buf = buf[end + 3:]
        sock.sendall(b"+")
        if body.startswith("O") and body != "OK":
            continue
        return body


if __name__ == "__main__":
    main()
