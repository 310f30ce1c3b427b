#!/usr/bin/env python3
"""`rr replay -a` echoes exactly what the recording wrote to stdout and
stderr, for every syscall that writes to a descriptor, and reports a
divergence instead of printing other bytes:
  - cat FILE > file (copy_file_range), >> file, and | pipe;
  - python3's os.sendfile(1, ...) to a pipe and to a file, and
    os.copy_file_range(fd, 1, ...) to a file;
  - bytes spliced from a socket (which the recorder cannot capture) are
    reported missing by the recorder and by replay -a, never silently lost;
  - a write whose bytes differ in replay (an rdrand value from code made at run time) is a divergence;
  - a trace whose recorded echo was tampered with is a divergence."""
import os
import re
import sys

from testlib import Failures, arguments, run, scratch_dir

failures = Failures()
A = None
TMP = None


def record(name, argv, out_file=None, append=False):
    """Records argv; returns (trace, what it printed to stdout, stderr)."""
    trace = os.path.join(TMP, name)
    if out_file:
        with open(out_file, "ab" if append else "wb") as f:
            r = run([A.rr, "record", "-q", "-o", trace] + argv, stdout=f)
        with open(out_file, "rb") as f:
            out = f.read()
    else:
        r = run([A.rr, "record", "-q", "-o", trace] + argv)
        out = r.stdout
    if r.returncode != 0:
        failures.append("%s: rr record exited %d: %r" % (name, r.returncode, r.stderr[-500:]))
        return None, None, None
    return trace, out, r.stderr


def replay(trace):
    return run([A.rr, "replay", "-a", trace])


def expect_identical(name, argv, want, out_file=None, append=False, syscall=None):
    """Recording prints `want`; replay -a prints exactly the same; and, when
    `syscall` is named, the trace shows it wrote to stdout (so the test
    exercises what it means to)."""
    trace, out, err = record(name, argv, out_file, append)
    if trace is None:
        return
    if out_file and append:
        out = out[len(b"already here\n"):]
    if out != want:
        failures.append("%s: the recording printed %d bytes, expected %d" % (name, len(out), len(want)))
        return
    if syscall:
        dump = run([A.rr, "dump", trace]).stdout.decode()
        if not re.search(r"syscall %s\(.*\[echo fd 1\]" % syscall, dump):
            failures.append("%s: no %s to stdout in the trace; the test no longer covers it" % (name, syscall))
            return
    rep = replay(trace)
    if rep.returncode != 0:
        failures.append("%s: rr replay -a exited %d: %r" % (name, rep.returncode, rep.stderr[-500:]))
    elif rep.stdout != want:
        failures.append("%s: replay -a printed %d bytes (%r...), the recording %d bytes (%r...)"
                        % (name, len(rep.stdout), rep.stdout[:60], len(want), want[:60]))
    elif rep.stderr != err:
        failures.append("%s: replay -a stderr %r differs from the recording's %r" % (name, rep.stderr, err))
    else:
        print("ok: %s: %d bytes echoed identically" % (name, len(want)))


PY_SENDFILE = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
off = 0
while off < size:
    off += os.sendfile(1, fd, off, min(65536, size - off))
os.sendfile(1, fd, None, 100)  # from the file position: the first 100 bytes
"""

PY_COPY_FILE_RANGE = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
done = 0
while done < size:
    done += os.copy_file_range(fd, 1, size - done)
"""

PY_SPLICE_SOCKET = r"""
import os, socket, sys
a, b = socket.socketpair()
a.sendall(b"bytes from a socket\n")
sys.stdout.write("before\n"); sys.stdout.flush()
n = os.splice(b.fileno(), 1, 4096)
sys.stdout.write("after %d\n" % n); sys.stdout.flush()
"""


def check_lost_bytes_are_reported():
    trace, out, err = record("splice_socket", [sys.executable, "-c", PY_SPLICE_SOCKET])
    if trace is None:
        return
    if out != b"before\nbytes from a socket\nafter 20\n":
        failures.append("splice_socket: the recording printed %r" % out)
        return
    if b"could not be recorded" not in err:
        failures.append("splice_socket: the recorder did not say it lost bytes: %r" % err)
        return
    rep = replay(trace)
    if rep.returncode != 0:
        failures.append("splice_socket: replay -a exited %d: %r" % (rep.returncode, rep.stderr))
    elif rep.stdout != b"before\nafter 20\n":
        failures.append("splice_socket: replay -a printed %r" % rep.stdout)
    elif not re.search(rb"^rr: event \d+: 20 bytes that splice wrote to stdout were not recorded", rep.stderr, re.M):
        failures.append("splice_socket: replay -a did not say bytes are missing: %r" % rep.stderr)
    else:
        print("ok: splice_socket: the lost bytes are reported by record and replay")


def check_divergent_bytes():
    trace, out, err = record("echo_diverge", [os.path.join(A.bindir, "echo_diverge")])
    if trace is None:
        return
    rep = replay(trace)
    # The bytes differ; the scratch registers snprintf left may differ too,
    # and then the register check at the write's entry speaks first. The
    # echo check alone is what the tampered traces below test.
    m = re.search(rb"^rr: replay diverged at event (\d+), tid (\d+): (write wrote other bytes to stdout in the "
                  rb"recording: 17 bytes of XXH64 0x[0-9a-f]+ there, 17 bytes of XXH64 0x[0-9a-f]+ in replay|"
                  rb"registers differ at the entry of write)", rep.stderr, re.M)
    if rep.returncode == 0 or not m:
        failures.append("echo_diverge: expected a divergence naming the write; exit %d, stdout %r, stderr %r"
                        % (rep.returncode, rep.stdout, rep.stderr))
    elif rep.stdout:
        failures.append("echo_diverge: replay -a printed the other bytes %r" % rep.stdout)
    else:
        print("ok: echo_diverge: %s" % rep.stderr.decode().strip())


def check_tampered(name, argv, syscall):
    trace, out, err = record(name, argv)
    if trace is None:
        return
    t = run([A.tamper, trace, syscall])
    m = re.match(rb"tampered event (\d+)", t.stdout)
    if t.returncode != 0 or not m:
        failures.append("%s: echo_tamper failed: %r %r" % (name, t.stdout, t.stderr))
        return
    rep = replay(trace)
    want = rb"^rr: replay diverged at event %s, tid \d+: %s wrote other bytes to stdout" % (m.group(1), syscall.encode())
    if rep.returncode == 0 or not re.search(want, rep.stderr, re.M):
        failures.append("%s: a tampered echo of %s (event %s) was not reported: exit %d, stderr %r"
                        % (name, syscall, m.group(1).decode(), rep.returncode, rep.stderr[-500:]))
    else:
        print("ok: %s: tampered %s reported" % (name, syscall))


def main():
    global A, TMP
    A = arguments(__doc__, bindir="where echo_diverge and splice_stdout are", tamper="the echo_tamper tool")
    with scratch_dir("rr-echo-") as TMP:
        src = os.path.join(TMP, "input.txt")
        data = b"".join(b"line %06d of the input\n" % i for i in range(40000))
        with open(src, "wb") as f:
            f.write(data)
        out = os.path.join(TMP, "out.txt")
        expect_identical("cat_to_file", ["cat", src], data, out_file=out, syscall="copy_file_range")
        with open(out, "wb") as f:
            f.write(b"already here\n")
        expect_identical("cat_appending", ["cat", src], data, out_file=out, append=True)
        expect_identical("cat_to_pipe", ["cat", src], data)
        expect_identical("python_sendfile_to_pipe", [sys.executable, "-c", PY_SENDFILE, src], data + data[:100],
                         syscall="sendfile")
        expect_identical("python_sendfile_to_file", [sys.executable, "-c", PY_SENDFILE, src], data + data[:100],
                         out_file=out, syscall="sendfile")
        expect_identical("python_copy_file_range", [sys.executable, "-c", PY_COPY_FILE_RANGE, src], data,
                         out_file=out, syscall="copy_file_range")
        check_lost_bytes_are_reported()
        check_divergent_bytes()
        check_tampered("tamper_sendfile", [sys.executable, "-c", PY_SENDFILE, src], "sendfile")
        check_tampered("tamper_write", [os.path.join(A.bindir, "splice_stdout")], "write")
        check_tampered("tamper_splice", [os.path.join(A.bindir, "splice_stdout")], "splice")
    failures.report("every writer echoed as recorded")


if __name__ == "__main__":
    main()
