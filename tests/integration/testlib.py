"""What the integration tests of tests/integration share, kept once: running
a command, showing its output in a message, a scratch folder, the list of
failures and the closing report, the command line of rrtest.py, the
environment the recorder gives a program, and a connection to
`rr replay -s PORT`.

Scripts import it from their own folder (sys.path[0] is the script's folder).
A test that copies a script elsewhere (nonroot_test.py) copies this module
beside it."""
import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def sanitized_run():
    """Whether this is the ASan/UBSan build's run (RR_TEST_SANITIZED=1,
    scripts/run-tests), where the cases that scale do less of the same."""
    return os.environ.get("RR_TEST_SANITIZED") == "1"


def arguments(doc, **required):
    """Parses a test's command line: --rr, the rr under test, and for each
    name=help in `required` an option --name (underscores written as
    dashes) that must be given; returns the parsed namespace."""
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--rr", required=True, help="the rr under test")
    for name, text in required.items():
        p.add_argument("--" + name.replace("_", "-"), required=True, help=text)
    return p.parse_args()


def run(argv, timeout=300, stdin=None, cwd=None, env=None, text=False, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, new_session=False):
    """Runs argv to its end and returns the CompletedProcess; stdin is a
    file's path (or None for /dev/null), stdout and stderr are collected
    unless told otherwise; new_session starts it in a session (and process
    group) of its own. Raises subprocess.TimeoutExpired past `timeout`."""
    stdin_file = open(stdin, "rb") if stdin else subprocess.DEVNULL
    try:
        return subprocess.run(argv, stdin=stdin_file, stdout=stdout, stderr=stderr, timeout=timeout, cwd=cwd,
                              env=env, text=text, start_new_session=new_session)
    finally:
        if stdin:
            stdin_file.close()


def try_run(argv, timeout=300, **kwargs):
    """run(), but None when the command outlives its timeout: for tests that
    report a hang as a failure of their own and go on."""
    try:
        return run(argv, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        return None


def read_first_line(stream):
    """The first line a child writes to the pipe `stream` (its stdout),
    read byte by byte from the pipe itself: a buffered readline could take
    more than the line, which communicate() would then not see. Returns
    what came before the pipe closed if no newline did."""
    line = b""
    while not line.endswith(b"\n"):
        c = os.read(stream.fileno(), 1)
        if not c:
            break
        line += c
    return line


def flip_byte(path, at=64):
    """Changes one bit of the byte at `at` of a file (made writable first):
    a trace's copy damaged as a disk or a hand would."""
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 1]))


def show(data, limit=600):
    """Output for a failure message: text, cut after `limit` characters with
    a note of how much more there was."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text if len(text) <= limit else text[:limit] + "...[%d more bytes]" % (len(text) - limit)


def show_difference(a, b, names=("expected", "got")):
    """Two outputs that differ, for a failure message: where they first
    differ, with the bytes around that place in each (a long output cut at
    its start hides a difference further on)."""
    at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    lo = max(0, at - 80)
    return "first difference at byte %d of %d and %d\n %s: %s\n %s: %s" % (
        at, len(a), len(b), names[0], show(a[lo:at + 120]), names[1], show(b[lo:at + 120]))


def fatal(message):
    """Ends the test at once: a failure after which nothing else can be
    checked (the reference trace could not be recorded, ...)."""
    print("FAIL: " + message)
    sys.exit(1)


class Failures(list):
    """The failures a test found so far, each a message saying what was
    expected and what came; the test goes on after each, and report() prints
    them all at the end."""

    def expect(self, cond, what):
        if not cond:
            self.append(what)
        return cond

    def report(self, ok_line, most=None):
        """Prints every failure (the first `most` of them) and exits 1, or
        prints ok_line when there was none."""
        if self:
            for f in self[:most]:
                print("FAIL: " + f)
            sys.exit(1)
        print(ok_line)


def usable_checkpoint_events(rr, trace, failures):
    """The events of the trace's checkpoints (rr checkpoints --json), each
    expected usable; a failure is noted in `failures`."""
    import json
    r = run([rr, "checkpoints", "--json", trace], text=True)
    failures.expect(r.returncode == 0, "rr checkpoints --json %s failed: %s" % (trace, show(r.stderr)))
    entries = json.loads(r.stdout) if r.returncode == 0 else []
    failures.expect(all(e["usable"] for e in entries), "unusable checkpoints in %s: %r" % (trace, entries))
    return [e["event"] for e in entries]


def state_at(rr, trace, event, *extra, timeout=300):
    """rr state -g EVENT [EXTRA...] TRACE, as text."""
    return run([rr, "state", "-g", str(event)] + list(extra) + [trace], timeout=timeout, text=True)


def states_in_one_replay(rr, trace, events, *extra, timeout=300):
    """`rr state -g E1,E2,... [EXTRA...] TRACE`: the state at each event
    (ascending, no repeats) from one replay, as {event: bytes}; or the reason
    it could not be had, as a string."""
    r = run([rr, "state", "-g", ",".join(str(e) for e in events)] + list(extra) + [trace], timeout=timeout)
    if r.returncode != 0:
        return "rr state -g %s %s failed: %s" % (",".join(str(e) for e in events), " ".join(extra), show(r.stderr))
    parts = [p for p in re.split(rb"(?m)^(?=event \d+\n)", r.stdout) if p]
    states = {}
    for p in parts:
        m = re.match(rb"event (\d+)\n", p)
        if m:
            states[int(m.group(1))] = p
    if sorted(states) != list(events) or len(parts) != len(events):
        return "rr state -g %s printed the states of events %s" % (",".join(str(e) for e in events), sorted(states))
    return states


def same_states_through_checkpoints(rr, trace, events, name, failures, what):
    """rr state -g E through the checkpoint of each event (`what` names
    them) equals the state a replay from the start reaches (--ignore-pcp;
    one replay through all the events)."""
    events = sorted(set(events))
    if not events:
        return
    from_start = states_in_one_replay(rr, trace, events, "--ignore-pcp")
    if isinstance(from_start, str):
        failures.expect(False, "%s: %s" % (name, from_start))
        return
    for ev in events:
        x = run([rr, "state", "-g", str(ev), trace], timeout=300)
        failures.expect(x.returncode == 0 and not x.stderr and x.stdout == from_start[ev],
                        "%s: rr state -g %d through the %s (%s) differs from a replay's"
                        % (name, ev, what, show(x.stderr)))


def checkpoint_task_states(path):
    """The threads' saved state in checkpoint `path`, one string per process,
    as `capnp decode` prints its TaskState list (registers, signal mask and
    actions, signal stack, robust list, tid address, whether it is held at a
    call's entry); or why it cannot be read, as a string. Left out: the
    XSAVE bytes (their bookkeeping bytes differ from run to run; `rr state`
    compares the FPU state) and SIGTRAP's bit of the mask, which the kernel
    clears when it forces the SIGTRAP of a breakpoint or a single step on a
    thread that blocks it: rr's injected calls and replay's own steps
    leave it cleared on either road."""
    import struct
    schema = os.path.join(HERE, "..", "..", "src", "checkpoint", "checkpoint.capnp")
    with open(path, "rb") as f:
        header = f.read(64)
        offset, size = struct.unpack_from("<QQ", header, 40)
        f.seek(offset)
        info = f.read(size)
    r = subprocess.run(["capnp", "decode", schema, "CheckpointInfo"], input=info, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        return "capnp decode of %s failed: %s" % (path, show(r.stderr))
    text = r.stdout.decode()
    text = re.sub(r'xsave = "(?:[^"\\]|\\.)*"', "xsave = ...", text)
    text = re.sub(r"sigmask = (\d+)", lambda m: "sigmask = %d" % (int(m.group(1)) & ~(1 << 4)), text)
    lists = []
    at = 0
    while True:
        start = text.find("tasks = [", at)
        if start < 0:
            break
        depth, end, quoted, escaped = 0, start, False, False
        for end in range(start + len("tasks = "), len(text)):
            c = text[end]
            if quoted:
                quoted = escaped or c != '"'
                escaped = not escaped and c == "\\"
                continue
            quoted = c == '"'
            depth += {"[": 1, "]": -1}.get(c, 0)
            if depth == 0:
                break
        lists.append(text[start:end + 1])
        at = end
    return lists or "no tasks in %s" % path


def same_task_states_as_replay(rr, trace, events, name, failures, what, scratch):
    """For each event, the threads' saved state in the trace's checkpoint
    there (`what` names them) equals the one `rr create-checkpoints` writes
    at the same event by replaying a copy of the trace from its start."""
    for ev in events:
        copy = os.path.join(scratch, "replayed-%s-%d" % (name.replace(" ", "_"), ev))
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(trace, copy, ignore=shutil.ignore_patterns("checkpoints"))
        r = run([rr, "create-checkpoints", "-i", "1000000000", "-s", str(ev), "-e", str(ev), copy], text=True)
        replayed = os.path.join(copy, "checkpoints", "%d.rrcp" % ev)
        if not failures.expect(r.returncode == 0 and os.path.exists(replayed),
                               "%s: create-checkpoints at %d failed: %s" % (name, ev, show(r.stderr))):
            continue
        mine = checkpoint_task_states(os.path.join(trace, "checkpoints", "%d.rrcp" % ev))
        theirs = checkpoint_task_states(replayed)
        failures.expect(mine == theirs, "%s: the threads saved in the %s at %d differ from a replay's: %s"
                        % (name, what, ev, show_difference(str(theirs), str(mine), ("replay", what))))
        shutil.rmtree(copy, ignore_errors=True)


def replays_on_from_checkpoint(rr, trace, event, expected_out, name, failures, what):
    """rr replay -a -g EVENT (through the checkpoint `what` names) goes on to
    the program's end and prints the end of what the recording printed."""
    r = run([rr, "replay", "-a", "-g", str(event), trace], timeout=300, text=True)
    failures.expect(r.returncode == 0 and not r.stderr.strip() and expected_out.endswith(r.stdout),
                    "%s: replay -a -g %d from the %s: status %d, stderr %s, stdout %s (the recording printed %s)"
                    % (name, event, what, r.returncode, show(r.stderr), show(r.stdout), show(expected_out)))


def python_heap_workload(d):
    """python3 and a script in folder `d` that changes one page of an 8 MiB
    heap buffer at a time between short sleeps and prints a digest (a
    program whose memory barely changes, by seconds of recording)."""
    python = shutil.which("python3")
    if not python:
        fatal("python3 is not installed")
    script = os.path.join(d, "work.py")
    with open(script, "w") as f:
        f.write("import time, hashlib\n"
                "blob = bytearray(8 << 20)\n"
                "h = hashlib.sha256()\n"
                "for i in range(60):\n"
                "    blob[i * 4096] = i & 255\n"
                "    h.update(blob[:65536])\n"
                "    time.sleep(0.02)\n"
                "print(h.hexdigest())\n")
    return python, script


@contextlib.contextmanager
def scratch_dir(prefix, keep_on_failure=False):
    """A temporary folder for traces and inputs, removed when the block ends.
    With keep_on_failure, a block that fails leaves it in place and says
    where, for whoever debugs the failure."""
    d = tempfile.mkdtemp(prefix=prefix)
    passed = False
    try:
        yield d
        passed = True
    except SystemExit as e:
        passed = e.code in (0, None)
        raise
    finally:
        if passed or not keep_on_failure:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("the trace is kept in %s for debugging" % d)


def dumps_with_and_without_buffer(rr, program, failures, scratch):
    """Records PROGRAM with the syscall buffer and without it, expects each
    recording and its replay to print what the program prints natively, and
    returns {"buffered": dump, "plain": dump}: the text of rr dump of each
    (None when the program failed natively)."""
    native = run([program], text=True)
    if native.returncode != 0:
        failures.expect(False, "the program failed natively: %s" % show(native.stderr))
        return None
    dumps = {}
    for name, flags in (("buffered", []), ("plain", ["--no-syscall-buffer"])):
        trace = "%s/%s" % (scratch, name)
        rec = run([rr, "record", "-q", "-o", trace] + flags + [program], text=True, timeout=120)
        failures.expect(rec.returncode == 0 and rec.stdout == native.stdout,
                        "%s: record printed %r (status %d), natively %r; %s"
                        % (name, rec.stdout, rec.returncode, native.stdout, show(rec.stderr)))
        rep = run([rr, "replay", "-a", trace], text=True, timeout=120)
        failures.expect(rep.returncode == 0 and rep.stdout == native.stdout,
                        "%s: replay printed %r (status %d); %s" % (name, rep.stdout, rep.returncode, show(rep.stderr)))
        dump = run([rr, "dump", trace], text=True)
        failures.expect(dump.returncode == 0, "rr dump %s failed: %s" % (trace, show(dump.stderr)))
        dumps[name] = dump.stdout
    return dumps


def rrtest_argv(rr):
    """The command line of rrtest.py with the rr under test; the program and
    rrtest's options go after it."""
    return [sys.executable, os.path.join(HERE, "rrtest.py"), "--rr", rr]


def recorder_env(rr, scratch):
    """The variables the recorder adds to a program's environment to keep it
    deterministic (src/record/record_session.cc, kDeterminismEnv), asked of
    the recorder itself: `env` recorded with an environment of only the
    cache variables prints them and the recorder's. A native run given these
    is the run rr records."""
    trace = os.path.join(scratch, "recorder-env")
    # Only where rr keeps its caches (of code plans and file copies), which
    # the recording reads as any other would instead of making them again.
    cache_vars = {k: os.environ[k] for k in ("RR_PLAN_CACHE", "RR_FILE_CACHE", "XDG_CACHE_HOME", "HOME")
                  if k in os.environ}
    r = run([rr, "record", "-q", "-o", trace, "/usr/bin/env"], env=cache_vars, timeout=120)
    shutil.rmtree(trace, ignore_errors=True)
    if r.returncode != 0:
        fatal("cannot record /usr/bin/env to learn the recorder's environment: %s" % show(r.stderr))
    env = dict(line.split("=", 1) for line in r.stdout.decode().splitlines() if "=" in line)
    for k, v in cache_vars.items():
        if env.get(k) == v:
            del env[k]
    # The syscall buffer's library, in the trace just removed: only a
    # recording loads it.
    env.pop("LD_PRELOAD", None)
    return env


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (for rr replay -s)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port, tries=200):
    """Connects to `rr replay -s PORT` once it listens (it takes a moment to
    start); raises ConnectionError when it does not within `tries` tries."""
    for _ in range(tries):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except OSError:
            time.sleep(0.05)
    raise ConnectionError("rr replay -s %d did not listen" % port)
