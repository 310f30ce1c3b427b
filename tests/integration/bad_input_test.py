#!/usr/bin/env python3
"""Bad input gets one clear line on stderr and a non-zero exit, never a crash
or a hang: missing, corrupt, truncated or newer traces, events past the end,
programs that are missing or not executable, a full disk, and programs that
use what is not supported yet."""
import os
import shutil
import subprocess

from testlib import Failures, arguments, connect, fatal, flip_byte, free_port, run, scratch_dir, try_run

failures = Failures()


def check(name, argv, expect_in_stderr, timeout=120, env=None):
    r = try_run(argv, timeout=timeout, env=env)
    if r is None:
        failures.append("%s: hung for %ds: %s" % (name, timeout, argv))
        return
    err = r.stderr.decode("utf-8", "replace")
    lines = [l for l in err.splitlines() if l.startswith("rr:")]
    if r.returncode == 0:
        failures.append("%s: exited 0, expected a failure; stderr: %r" % (name, err))
    elif r.returncode < 0:
        failures.append("%s: crashed with signal %d; stderr: %r" % (name, -r.returncode, err[-500:]))
    elif len(lines) != 1:
        failures.append("%s: expected exactly one 'rr:' line, got %r" % (name, err[-500:]))
    elif expect_in_stderr not in lines[0]:
        failures.append("%s: expected %r in the message, got %r" % (name, expect_in_stderr, lines[0]))
    else:
        print("ok: %s: %s" % (name, lines[0]))


def packet_too_long(rr, trace):
    """A debugger that sends a packet far longer than rr's PacketSize is cut
    off with one line; rr neither buffers it without limit nor hangs."""
    port = free_port()
    p = subprocess.Popen([rr, "replay", "-s", str(port), trace], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        try:
            conn = connect(port)
        except ConnectionError:
            failures.append("packet too long: could not connect to rr replay -s %d" % port)
            return
        with conn:
            try:
                conn.sendall(b"$" + b"m" * (4 << 20) + b"#00")
            except OSError:
                pass  # rr closed the connection while we were still sending
            _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        failures.append("packet too long: rr did not end after a 4 MB packet")
        return
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if b"packet of more than" not in err:
        failures.append("packet too long: expected rr to name the long packet, got %r" % err[-500:])
    else:
        print("ok: packet too long: %s" % err.decode().strip().splitlines()[-1])


def main():
    a = arguments(__doc__, hello="a tracee that prints and exits 0", header_tamper="tests/tools/header_tamper")
    rr = a.rr
    with scratch_dir("rr-bad-") as tmp:
        good = os.path.join(tmp, "good")
        r = run([rr, "record", "-q", "-o", good, a.hello])
        if r.returncode != 0:
            fatal("could not record the reference trace: %r" % r.stderr)

        def variant(name, mutate):
            d = os.path.join(tmp, name)
            shutil.copytree(good, d)
            mutate(d)
            return d

        check("missing trace", [rr, "replay", "-a", os.path.join(tmp, "nope")], "no trace at")
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        check("not a trace", [rr, "replay", "-a", empty], "not a trace")

        def newer(d):
            with open(os.path.join(d, "version"), "w") as f:
                f.write("99\n")
        check("newer version", [rr, "replay", "-a", variant("newer", newer)], "newer than this rr")

        def truncate_events(d):
            os.truncate(os.path.join(d, "events"), 200)
        check("truncated events", [rr, "replay", "-a", variant("trunc", truncate_events)], "truncated")

        def corrupt_events(d):
            with open(os.path.join(d, "events"), "r+b") as f:
                f.seek(100)
                f.write(b"garbage!")
        check("corrupt events", [rr, "replay", "-a", variant("corrupt", corrupt_events)], "corrupt")

        def corrupt_header(d):
            with open(os.path.join(d, "header"), "r+b") as f:
                data = f.read()
                f.seek(0)
                f.truncate()
                f.write(data[:30])
        check("corrupt header", [rr, "dump", variant("header", corrupt_header)], "corrupt")

        def missing_files(d):
            shutil.rmtree(os.path.join(d, "files"))
        check("missing mapped files", [rr, "replay", "-a", variant("nofiles", missing_files)], "incomplete")

        # A trace from another machine: refused in one line, replayed with the override.
        for field, value, message in (("boundCpu", str(os.cpu_count() + 7), "which rr cannot use here"),
                                      ("cpuid1Ecx", "+1", "CPU features differ"),
                                      ("cpuid7Ebx", "+8", "CPU features differ"),
                                      ("xsaveSize", "+64", "XSAVE area differs")):
            other = variant("machine-" + field, lambda d: None)
            subprocess.run([a.header_tamper, other, field, value], check=True)
            check("recorded on another machine (%s)" % field, [rr, "replay", "-a", other], message)
            check("recorded on another machine (%s), state" % field, [rr, "state", other], message)
            if field != "boundCpu":
                continue
            r = run([rr, "replay", "-a", other], env=dict(os.environ, RR_IGNORE_MACHINE="1"))
            if r.returncode != 0:
                failures.append("RR_IGNORE_MACHINE=1 did not replay a trace of another machine: %r" % r.stderr)

        def cut_at_block(d):
            # The end mark is the events' last block: 32 bytes of header, 16 of counts.
            p = os.path.join(d, "events")
            os.truncate(p, os.path.getsize(p) - 48)
        cut = variant("cut", cut_at_block)
        for command in (["dump"], ["ps"], ["replay", "-a"], ["state", "-g", "1000000"]):
            check("events cut at a block boundary (%s)" % command[0], [rr] + command + [cut], "without its end mark")
        r = run([rr, "ls"], env=dict(os.environ, _RR_TRACE_DIR=tmp))
        listed = [l for l in r.stdout.decode().splitlines() if l.startswith("cut ")]
        if len(listed) != 1 or "unfinished" not in listed[0]:
            failures.append("rr ls does not flag the cut trace as unfinished: %r" % r.stdout)

        def damage_file_copy(d):
            files = os.path.join(d, "files")
            flip_byte(os.path.join(files, sorted(os.listdir(files))[0]))
        check("a damaged copy in files/", [rr, "replay", "-a", variant("filecopy", damage_file_copy)], "is damaged")

        def damage_header_text(d):
            # A byte of the program's path: the header still parses.
            p = os.path.join(d, "header")
            data = bytearray(open(p, "rb").read())
            at = data.find(b"hello")
            data[at] ^= 0x20
            open(p, "wb").write(bytes(data))
        check("a header that parses but was changed", [rr, "state", variant("headertext", damage_header_text)], "header is damaged")

        def no_shared_files(d):
            os.unlink(os.path.join(d, "shared-files"))
        check("shared-files missing", [rr, "replay", "-a", variant("noshared", no_shared_files)], "shared-files")

        def no_sums(d):
            os.unlink(os.path.join(d, "sums"))
        check("sums missing", [rr, "dump", variant("nosums", no_sums)], "sums file is missing")

        def unlisted_copy(d):
            p = os.path.join(d, "sums")
            lines = open(p).read().splitlines(True)
            open(p, "w").write("".join(l for l in lines if "files/" not in l))
        check("a copy not in the sums", [rr, "replay", "-a", variant("unlisted", unlisted_copy)], "not listed")

        def no_events(d):
            os.unlink(os.path.join(d, "events"))
        check("missing events", [rr, "state", variant("noevents", no_events)], "cannot open")

        check("event past the end", [rr, "state", "-g", "1000000", good], "past the end")
        check("event zero", [rr, "state", "-g", "0", good], "event number")
        check("events out of order", [rr, "state", "-g", "5,3", good], "ascending order")
        check("an event repeated", [rr, "state", "-g", "3,3", good], "ascending order")
        check("an empty event in a list", [rr, "state", "-g", "3,", good], "ascending order")
        check("events and --json", [rr, "state", "-g", "1,3", "--json", good], "none of --clone-at")
        check("events and --clone-at", [rr, "state", "-g", "1,3", "--clone-at", "1", good], "none of --clone-at")
        check("a list past the end", [rr, "state", "-g", "1,1000000", good], "past the end")
        # Several events: the states one after the other, each as -g prints it.
        one = b"".join(run([rr, "state", "-g", str(e), good]).stdout for e in (1, 3, 5))
        listed = run([rr, "state", "-g", "1,3,5", good])
        if listed.returncode != 0 or listed.stdout != one or not one.startswith(b"event 1\n"):
            failures.append("rr state -g 1,3,5 does not print the three states -g prints (exit %d): %r"
                            % (listed.returncode, listed.stderr[-300:]))
        else:
            print("ok: rr state -g 1,3,5 prints the three states")
        check("bad event", [rr, "replay", "-a", "-g", "abc", good], "event number")
        check("program not found", [rr, "record", "-o", os.path.join(tmp, "t1"), "/nonexistent/prog"], "not found")
        check("program not on PATH", [rr, "record", "-o", os.path.join(tmp, "t2"), "no_such_prog_xyz"], "not found")
        plain = os.path.join(tmp, "plain.txt")
        with open(plain, "w") as f:
            f.write("not a program\n")
        os.chmod(plain, 0o644)
        check("not executable", [rr, "record", "-o", os.path.join(tmp, "t3"), plain], "not executable")
        os.chmod(plain, 0o755)
        check("not a binary", [rr, "record", "-o", os.path.join(tmp, "t5"), plain], "cannot execute")
        check("trace dir exists", [rr, "record", "-o", good, a.hello], "already exists")
        check("unknown command", [rr, "frobnicate"], "unknown command")
        check("-a with -p", [rr, "replay", "-a", "-p", "999999", good], "do not go with it")
        check("-a with -e", [rr, "replay", "-a", "-e", good], "do not go with it")
        check("-g with -e", [rr, "replay", "-a", "-g", "5", "-e", good], "use one of")
        check("checkpoints rm of a word", [rr, "checkpoints", "rm", "abc", good], "not an event number")
        check("checkpoints rm of nothing", [rr, "checkpoints", "rm", good], "needs event numbers")
        check("--memory with a bad address", [rr, "state", "--memory", "zz", "16", good], "--memory needs")
        check("--memory too long", [rr, "state", "--memory", "0x1000", "0xffffffffffff", good], "at most")
        check("ls of a missing trace root", [rr, "ls"], "does not exist",
              env=dict(os.environ, _RR_TRACE_DIR=os.path.join(tmp, "no-such-root")))

        def version_unreadable(d):
            os.unlink(os.path.join(d, "version"))
            os.mkdir(os.path.join(d, "version"))
        check("unreadable version file", [rr, "dump", variant("unreadable", version_unreadable)], "cannot read")
        packet_too_long(rr, good)
        # io_uring_setup (425): a syscall the engine cannot reproduce yet.
        check("unsupported syscall", [rr, "record", "-o", os.path.join(tmp, "t4"), "/usr/bin/perl", "-e", "syscall(425, 8, 0)"],
              "not supported yet")

        # A full disk: a tiny tmpfs (needs root; the suite runs as root).
        small = os.path.join(tmp, "small")
        os.mkdir(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small]).returncode == 0:
            try:
                check("full disk", [rr, "record", "-o", os.path.join(small, "t"), "/usr/bin/python3", "-c", "print(1)"],
                      "No space left")
                # Without -o: latest-trace goes back to the trace before.
                shutil.rmtree(os.path.join(small, "t"), ignore_errors=True)
                os.symlink("before", os.path.join(small, "latest-trace"))
                check("full disk, latest-trace", [rr, "record", "/usr/bin/python3", "-c", "print(1)"], "No space left",
                      env=dict(os.environ, _RR_TRACE_DIR=small))
                latest = os.readlink(os.path.join(small, "latest-trace"))
                if latest != "before":
                    failures.append("after a failed recording latest-trace points at %r, not at the trace before" % latest)
            finally:
                subprocess.run(["umount", small])
        else:
            failures.append("full disk: could not mount a small tmpfs to test it (needs root)")
    failures.report("all bad-input cases handled")


if __name__ == "__main__":
    main()
