"""What the gdb scenarios (gdb_test.py) share: running rr and gdb,
building and recording the tracee programs of tests/gdb, a gdb
remote-protocol client for `rr replay -s PORT`, and an independent probe of
the hardware breakpoint counters the fast roads need. What every
integration test shares is in testlib.py."""
import ctypes
import os
import re
import shlex
import subprocess

import testlib
from testlib import Failures, connect, free_port


class Scenario:
    """One gdb scenario: a scratch folder, the rr under test and the sources
    of tests/gdb, and the failures found so far (each says what was expected
    and shows the end of the output it saw)."""

    def __init__(self, rr, src, tmp):
        self.rr = os.path.abspath(rr)
        self.src = src
        self.tmp = tmp
        self.failures = Failures()

    def expect(self, cond, what, out=""):
        return self.failures.expect(cond, what + ("\n--- output ---\n" + out[-3000:] if out else ""))

    def build(self, name, *flags):
        """Compiles tests/gdb/NAME.c at -O0 -g; returns the binary's path."""
        exe = os.path.join(self.tmp, name)
        subprocess.run(["cc", "-O0", "-g", *flags, "-o", exe, os.path.join(self.src, name + ".c")], check=True)
        return exe

    def record(self, name, argv, status=0, output=None, args=(), env=None):
        """Records argv into a trace called NAME (with rr record's ARGS);
        checks its exit status and, if given, a piece of its output."""
        trace = os.path.join(self.tmp, name)
        # RR_TEST_RECORD_ARGS: more record arguments for every scenario
        # (`RR_TEST_RECORD_ARGS=--progress-counter ctest -R gdb.`).
        extra = shlex.split(os.environ.get("RR_TEST_RECORD_ARGS", ""))
        r = run([self.rr, "record", "-q", *args, *extra, "-o", trace, *argv], env=env)
        self.record_output = r.stdout
        self.expect(r.returncode == status and (output is None or output in r.stdout),
                    "recording %s: status %d, wanted %d%s" % (name, r.returncode, status,
                                                               "" if output is None else " and %r" % output), r.stdout)
        return trace

    def gdb(self, trace, commands, extra=(), env=None):
        """Replays TRACE under gdb in batch mode with COMMANDS; returns what
        rr and gdb printed (rr's own lines on stderr included)."""
        script = os.path.join(self.tmp, "script.gdb")
        with open(script, "w") as f:
            f.write("\n".join(commands) + "\n")
        full_env = dict(os.environ, **(env or {}))
        return run([self.rr, "replay", *extra, trace, "--", "-batch", "-nx", "-x", script], env=full_env).stdout

    def served(self, args, talk, when):
        """Runs `rr replay -s PORT ARGS`, lets talk(sock) exchange packets,
        then detaches and checks that rr ends cleanly."""
        port = free_port()
        server = subprocess.Popen([self.rr, "replay", "-s", str(port), *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            sock = connect(port)
            talk(sock)
            exchange(sock, "D")
            sock.close()
            server.wait(timeout=60)
            self.expect(server.returncode == 0, "rr replay -s ends cleanly %s (status %r)" % (when, server.returncode))
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


def run(argv, timeout=540, env=None):
    """What argv printed on stdout and stderr, as text in one stream (rr's
    lines among gdb's, in order)."""
    # Under the ASan build on a busy machine one gdb session of the
    # positions scenario has taken over 180 s; ctest ends a scenario at 600 s.
    return testlib.run(argv, timeout=timeout, env=env, text=True, stderr=subprocess.STDOUT)


def values(out):
    """Every value gdb printed for `print` ($N = V), in order."""
    return re.findall(r"^\$\d+ = (.*)$", out, re.M)


def rips(out):
    """Every rip `info registers rip` printed, in order."""
    return re.findall(r"^rip +(0x[0-9a-f]+)", out, re.M)


def counters_available():
    """Whether this machine gives the hardware breakpoint counters rr's fast
    roads use (perf_event_open, PERF_TYPE_BREAKPOINT on an instruction, both
    counting and stopping with a synchronous SIGTRAP), probed here without
    rr; returns (available, what the kernel answered)."""
    libc = ctypes.CDLL(None, use_errno=True)
    target = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    for stop in (False, True):
        attr = bytearray(128)  # struct perf_event_attr, PERF_ATTR_SIZE_VER7 and more
        def put(off, size, v):
            attr[off:off + size] = v.to_bytes(size, "little")
        put(0, 4, 5)             # type = PERF_TYPE_BREAKPOINT
        put(4, 4, len(attr))     # size
        put(16, 8, 1 if stop else 0)  # sample_period
        flags = (1 << 5) | (1 << 6)    # exclude_kernel, exclude_hv
        if stop:
            flags |= (1 << 36) | (1 << 37)  # remove_on_exec, sigtrap
        put(40, 8, flags)
        put(52, 4, 4)            # bp_type = HW_BREAKPOINT_X
        put(56, 8, target)       # bp_addr
        put(64, 8, 8)            # bp_len = sizeof(long)
        buf = (ctypes.c_char * len(attr)).from_buffer(attr)
        fd = libc.syscall(298, buf, 0, -1, -1, 8)  # perf_event_open(attr, self, any cpu, no group, CLOEXEC)
        if fd < 0:
            return False, os.strerror(ctypes.get_errno())
        os.close(fd)
    return True, ""


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
