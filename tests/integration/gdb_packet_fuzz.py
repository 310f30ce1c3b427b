#!/usr/bin/env python3
"""Malformed gdb packets never crash or hang rr's gdb server (fixed seed).

Starts `rr replay -s PORT TRACE` on a small trace and plays a debugger that
sends malformed, oversized and random packets: random bodies, known commands
with broken or huge arguments, broken framing (bad or missing checksums,
escapes and run-length marks in the wrong place, interrupt bytes), bodies of
up to 1.5 MB, monitor commands with nonsense. After each one it asks the
server for `monitor when`: the server must answer it (after a reply, an
error reply or a rejection of the bad packet), or end the connection and
exit cleanly, with no signal, no "internal error" and at most one line of
its own, and every packet it sends back must be well formed. A server that
neither answers nor ends within the time limit is a hang. After a clean end
a new server is started for the packets that follow.

    gdb_packet_fuzz.py --rr RR --program PROG [--packets N] [--seed S]

The suite runs 300 packets (under a minute); run it by hand with
--packets 3000 (or more) and other seeds for a longer search. Prints one
line of counts: tried, clean error (an error reply, a rejected packet or a
clean end with one line), harmless (any other answer or a clean end),
silent-wrong (a malformed reply), crash, hang."""
import argparse
import os
import random
import signal
import socket
import subprocess
import threading
import time

from testlib import Failures, fatal, free_port, scratch_dir, try_run

failures = Failures()
# Seconds the server may take to answer the probe after a packet before it
# counts as a hang (a loaded machine makes replay steps slow).
HANG_SECONDS = 30
PROBE = b"qRcmd," + b"when".hex().encode()
# Resident memory (MiB) that rr and its tracees may reach together on the
# trace of a tiny program; more means a packet made the server run away,
# which is stopped before it takes the machine.
MEMORY_LIMIT_MB = 1536

COMMANDS = [
    "m", "M", "X", "g", "G", "p", "P", "Z0,", "Z1,", "Z2,", "Z3,", "Z4,", "z0,", "z1,", "z2,", "z3,", "z4,",
    "H", "Hg", "Hc", "T", "c", "s", "C", "S", "?", "!", "t", "r", "R", "A", "bc", "bs", "b",
    "qSupported", "qSupported:", "qXfer:features:read:target.xml:", "qXfer:auxv:read::",
    "qXfer:exec-file:read:", "qXfer:threads:read::", "qXfer:", "qfThreadInfo", "qsThreadInfo", "qC",
    "qAttached", "qAttached:", "qTStatus", "qOffsets", "qSymbol::", "qSymbol:", "QPassSignals:",
    "QProgramSignals:", "QNonStop:", "QThreadEvents:", "QListThreadsInStopReply", "qRcmd,", "vCont?",
    "vCont;", "vCont;c", "vCont;s:", "vCont;C", "vCont;S", "vCont;t", "vCont;r", "vFile:open:",
    "vFile:pread:", "vFile:close:", "vFile:setfs:", "vMustReplyEmpty", "vRun;", "vAttach;", "vStopped",
    "qThreadExtraInfo,", "qGetTLSAddr:", "QCatchSyscalls:", "qL", "qP", "jThreadsInfo", "qHostInfo",
    "qProcessInfo", "QDisableRandomization:", "QEnvironmentHexEncoded:", "QSetWorkingDir:",
    "QStartNoAckMode", "qTfV", "qTfP", "qSearch:memory:", "qCRC:", "QAllow:", "qMemTags:", "qIsAddressTagged:",
]
# Packets that end a session by design: sent rarely, each costs a restart.
ENDING = ["k", "D", "D;1", "vKill;1", "vKill"]
MONITOR = ["run", "when-position", "checkpoint", "restart", "delete checkpoint", "info checkpoints",
           "write-checkpoints", "load-checkpoints", "help", "run c", "elapsed-time", "", "stats", "when ignored"]


def checksum(body):
    return b"%02x" % (sum(body) % 256)


def frame(body):
    return b"$" + body + b"#" + checksum(body)


def number(rng):
    return rng.choice([
        "0", "1", "-1", "%x" % rng.getrandbits(rng.choice([8, 16, 32, 48, 64])), "ffffffffffffffff",
        "1" + "0" * rng.randint(16, 200), "%x" % rng.getrandbits(12), "7ffffffff000", "555555554000",
        "", "zz", "0x10", " 1", "1" * rng.randint(1, 40), "-", "+5", "%d" % -rng.getrandbits(20),
    ])


def junk(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def argument(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return number(rng).encode()
    if kind == 1:
        return ("%s,%s" % (number(rng), number(rng))).encode()
    if kind == 2:
        return ("%s,%s:%s" % (number(rng), number(rng), junk(rng, rng.randint(0, 40)).hex())).encode()
    if kind == 3:
        return rng.choice([b";", b":", b",", b";;", b"::", b",,", b"p1.-1", b"p-1.1", b"-1", b"0"]) + number(rng).encode()
    if kind == 4:
        return junk(rng, rng.randint(0, 64))
    return b""


def monitor(rng):
    cmd = rng.choice(MONITOR)
    arg = rng.choice(["", " " + number(rng), " %s:0x%s:%s" % (number(rng), number(rng), number(rng)),
                      " " + junk(rng, 8).hex(), " c" + number(rng), " -5", " 1 2 3"])
    text = (cmd + arg).encode()
    return b"qRcmd," + (text.hex().encode() if rng.random() < 0.9 else text)


def fuzz_input(rng):
    """One malformed input: (what, bytes)."""
    roll = rng.random()
    if roll < 0.45:
        body = rng.choice(COMMANDS).encode() + argument(rng)
        return "command", frame(body)
    if roll < 0.55:
        return "monitor", frame(monitor(rng))
    if roll < 0.68:
        return "random body", frame(junk(rng, rng.randint(0, 300)))
    if roll < 0.90:
        body = rng.choice(COMMANDS).encode() + argument(rng)
        form = rng.randrange(9)
        if form == 0:
            return "bad checksum", b"$" + body + b"#" + rng.choice([b"zz", b"00", b"x", b"", b"0"])
        if form == 1:
            return "escape at end", frame(body + b"}")
        if form == 2:
            return "run-length mark", frame(b"*" + body) if rng.random() < 0.5 else frame(body + b"*" + bytes([rng.randrange(256)]))
        if form == 3:
            return "interrupts", b"\x03" * rng.randint(1, 5) + frame(body)
        if form == 4:
            return "acks", rng.choice([b"+", b"-"]) * rng.randint(1, 50)
        if form == 5:
            return "no start", body + b"#" + checksum(body)
        if form == 6:
            return "dollar inside", b"$" + body[: len(body) // 2] + b"$" + body + b"#" + checksum(body)
        if form == 7:
            return "raw junk", junk(rng, rng.randint(1, 200))
        return "unterminated", b"$" + body
    if roll < 0.97:
        n = rng.choice([4096, 65536, 1 << 19, (1 << 20) - 16, (1 << 20) + 16, 3 << 19])
        return "oversized", frame(rng.choice([b"m", b"M0,1:", b"X0,1:", b"qRcmd,", b"G", b"vCont;"]) + b"0" * n)
    return "ending", frame(rng.choice(ENDING).encode())


def descendants(pid):
    """pid and every process below it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def resident_mb(pids):
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total // 1024


class MemoryWatch(threading.Thread):
    """Kills a server whose processes together grow past MEMORY_LIMIT_MB."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc = proc
        self.peak_mb = 0
        self.tripped = False
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.05):
            if self.proc.poll() is not None:
                return
            pids = descendants(self.proc.pid)
            mb = resident_mb(pids)
            self.peak_mb = max(self.peak_mb, mb)
            if mb > MEMORY_LIMIT_MB:
                self.tripped = True
                for p in reversed(pids):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                return


class Server:
    """One `rr replay -s` and the connection to it."""

    def __init__(self, rr, trace, tmp, noack):
        self.port = free_port()
        self.err_path = os.path.join(tmp, "server.err")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([rr, "replay", "-s", str(self.port), trace], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        self.watch = MemoryWatch(self.proc)
        self.watch.start()
        self.buf = b""
        self.closed = False
        self.ack = True
        self.sock = None
        deadline = time.time() + 60
        while time.time() < deadline and self.proc.poll() is None:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        if self.sock is None:
            raise ConnectionError("rr replay -s %d did not listen: %r" % (self.port, self.stderr()[-300:]))
        self.sock.setblocking(False)
        self.banner = 0
        if noack:
            self.send(frame(b"QStartNoAckMode"))
            got = self.wait_probe_free(b"OK", 30)
            if got is None:
                raise ConnectionError("no answer to QStartNoAckMode")
            self.ack = False

    def stderr(self):
        self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read()

    def send(self, data):
        if self.closed:
            return
        view = memoryview(data)
        deadline = time.time() + HANG_SECONDS
        while view and time.time() < deadline:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                # The server reads as it parses; it may also be answering.
                self.pump(0.01)
                if self.closed:
                    return
            except OSError:
                self.closed = True
                return

    def pump(self, wait):
        """Reads what arrived within `wait` seconds."""
        end = time.time() + wait
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    self.closed = True
                    return
                self.buf += chunk
                continue
            except BlockingIOError:
                pass
            except OSError:
                self.closed = True
                return
            left = end - time.time()
            if left <= 0:
                return
            time.sleep(min(left, 0.002))

    def packets(self):
        """Takes the complete replies out of the buffer: (kind, payload, well_formed)."""
        out = []
        while self.buf:
            c = self.buf[:1]
            if c in (b"+", b"-"):
                out.append(("ack" if c == b"+" else "nak", b"", True))
                self.buf = self.buf[1:]
                continue
            if c != b"$":
                # Replies are packets and acks only.
                out.append(("stray", self.buf[:1], False))
                self.buf = self.buf[1:]
                continue
            end = self.buf.find(b"#")
            if end < 0 or len(self.buf) < end + 3:
                break
            body, sum_ = self.buf[1:end], self.buf[end + 1:end + 3]
            self.buf = self.buf[end + 3:]
            good = sum_ == checksum(body)
            if self.ack:
                self.send(b"+")
            out.append(("packet", body, good))
        return out

    def wait_probe_free(self, want, seconds, seen=None):
        """Reads replies until one whose body is `want`; returns the replies
        read before it, or None when none came within `seconds`."""
        end = time.time() + seconds
        got = [] if seen is None else seen
        while time.time() < end:
            self.pump(0.02)
            for kind, body, good in self.packets():
                if kind == "packet" and body == want:
                    return got
                got.append((kind, body, good))
            if self.closed:
                return None
        return None

    def settle(self, seconds):
        """Reads (and acknowledges) what the server says within `seconds`,
        until shortly after its first reply packet: gdb sends nothing new
        before it has acknowledged the last reply."""
        got = []
        end = time.time() + seconds
        while time.time() < end and not self.closed:
            self.pump(0.005)
            for r in self.packets():
                got.append(r)
                if r[0] == "packet":
                    end = min(end, time.time() + 0.03)
        return got

    def probe(self, seconds):
        """Sends `monitor when` and waits for its answer: the replies that
        came before it, or None."""
        self.send(frame(PROBE))
        got = []
        answered = False
        end = time.time() + seconds
        while time.time() < end:
            self.pump(0.02)
            for kind, body, good in self.packets():
                if answered and kind == "packet" and body == b"OK":
                    # The end of the answer, acknowledged as gdb would before
                    # its next packet.
                    return got
                if kind == "packet" and body.startswith(b"O") and not answered:
                    try:
                        text = bytes.fromhex(body[1:].decode())
                    except ValueError:
                        text = b""
                    if text.startswith(b"Current event:"):
                        answered = True
                        continue
                got.append((kind, body, good))
            if self.closed:
                return None
        return None

    def end(self, timeout):
        """Closes our side and waits for rr: its exit status, or None."""
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        self.watch.stop.set()
        if self.proc.poll() is None:
            for p in reversed(descendants(self.proc.pid)):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait()
        self.err.close()


def judge_end(server, status, name):
    """A server that ended the connection: how it ended."""
    # What it printed before the debugger came (where to connect) is not
    # about the packets.
    if server.watch.tripped:
        failures.append("%s: the server's memory grew past %d MiB" % (name, MEMORY_LIMIT_MB))
        return "crash"
    err = server.stderr()[server.banner:].decode(errors="replace")
    lines = [l for l in err.splitlines() if l.strip()]
    if status is None:
        failures.append("%s: the server closed the connection but did not exit" % name)
        return "hang"
    if status < 0 or "internal error" in err or "Sanitizer" in err or "runtime error" in err:
        failures.append("%s: the server crashed (status %d): %r" % (name, status, err[-400:]))
        return "crash"
    ours = [l for l in lines if l.startswith("rr:")]
    if len(ours) > 1 or len(lines) > len(ours):
        failures.append("%s: the server ended with more than one line: %r" % (name, err[-400:]))
        return "silent-wrong"
    return "clean error" if ours or status != 0 else "harmless"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rr", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--packets", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--verbose", action="store_true", help="a line per packet: its verdict and time")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tally = {k: 0 for k in ("clean error", "harmless", "silent-wrong", "crash", "hang")}
    by_kind = {}
    started = time.time()
    with scratch_dir("rr-gdbfuzz-") as tmp:
        trace = os.path.join(tmp, "t")
        r = try_run([a.rr, "record", "-q", "-o", trace, a.program], timeout=120)
        if not r or r.returncode != 0:
            fatal("cannot record %s" % a.program)
        server = None
        sessions = 0
        try:
            for i in range(a.packets):
                if server is None:
                    sessions += 1
                    server = Server(a.rr, trace, tmp, noack=sessions % 2 == 0)
                    if server.probe(HANG_SECONDS) is None:
                        fatal("a fresh server does not answer `monitor when`: %r" % server.stderr()[-300:])
                    server.banner = len(server.stderr())
                what, data = fuzz_input(rng)
                name = "packet %d (%s: %r)" % (i, what, data[:80])
                t0 = time.time()
                server.send(data)
                # A packet with no answer waits the whole settle; one that
                # swallows the probe, the first probe's wait (the suite's
                # time is mostly these two waits).
                before = server.settle(0.1)
                got = server.probe(1)
                if got is None and not server.closed:
                    # An unterminated packet swallows the probe: end it, ask again.
                    server.send(b"#00")
                    got = server.probe(HANG_SECONDS)
                    if got is not None:
                        # The first probe may have been answered late, too:
                        # its answer must not stand for the next packet's.
                        server.pump(0.5)
                        server.packets()
                if got is not None:
                    got = before + got
                    if any(not good for _, _, good in got):
                        bad = [body for _, body, good in got if not good]
                        failures.append("%s: malformed reply %r" % (name, bad[:3]))
                        verdict = "silent-wrong"
                    elif any(kind == "nak" or (kind == "packet" and body.startswith(b"E")) for kind, body, _ in got):
                        verdict = "clean error"
                    else:
                        verdict = "harmless"
                elif server.closed or server.proc.poll() is not None:
                    verdict = judge_end(server, server.end(HANG_SECONDS), name)
                    server.kill()
                    server = None
                elif server.watch.tripped:
                    failures.append("%s: the server's memory grew past %d MiB" % (name, MEMORY_LIMIT_MB))
                    verdict = "crash"
                    server.kill()
                    server = None
                else:
                    failures.append("%s: the server neither answered nor ended in %d s" % (name, HANG_SECONDS))
                    verdict = "hang"
                    server.kill()
                    server = None
                tally[verdict] += 1
                if a.verbose:
                    print("%s: %s in %.2f s" % (name, verdict, time.time() - t0))
                k = by_kind.setdefault(what, {})
                k[verdict] = k.get(verdict, 0) + 1
        finally:
            if server is not None:
                status = server.end(HANG_SECONDS)
                if status is None or status < 0:
                    failures.append("the last server did not end cleanly when its debugger left (status %r)" % status)
                server.kill()
    print("packets %d in %d sessions, %.0f s: %s" % (a.packets, sessions, time.time() - started,
                                                    ", ".join("%s %d" % kv for kv in tally.items())))
    for what in sorted(by_kind):
        print("  %-16s %s" % (what, ", ".join("%s %d" % kv for kv in sorted(by_kind[what].items()))))
    failures.report("no crash, hang or malformed reply from the gdb server", most=40)


if __name__ == "__main__":
    main()
