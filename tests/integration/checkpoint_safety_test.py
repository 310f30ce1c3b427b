#!/usr/bin/env python3
"""Persistent checkpoints are never trusted blindly and never left half
written: a corrupt, truncated, foreign or newer checkpoint is reported in one
line and skipped for an earlier one (or the start), with the same result;
concurrent writers, a replay during creation, kill -9 in mid-write and a full
disk leave no partial file under a real name."""
import json
import os
import shutil
import signal
import struct
import subprocess
import time

from testlib import Failures, arguments, fatal, run, scratch_dir

failures = Failures()


def listing(rr, trace):
    r = run([rr, "checkpoints", "--json", trace])
    if r.returncode != 0:
        failures.append("rr checkpoints --json failed: %r" % r.stderr)
        return []
    return json.loads(r.stdout)


def expect_skip(rr, trace, event, reference, what, message):
    """rr state -g EVENT must skip the damaged checkpoint with one line naming
    `message`, and still print the reference state."""
    r = run([rr, "state", "-g", str(event), trace], timeout=60)
    err = r.stderr.decode()
    lines = [l for l in err.splitlines() if l.startswith("rr:")]
    if r.returncode != 0:
        failures.append("%s: rr state failed instead of skipping: %r" % (what, err))
    elif len(lines) != 1 or "skipping checkpoint" not in lines[0] or message not in lines[0]:
        failures.append("%s: expected one 'skipping checkpoint ... %s' line, got %r" % (what, message, err))
    elif r.stdout != reference:
        failures.append("%s: the state after skipping differs from a replay from the start" % what)
    else:
        print("ok: %s: %s" % (what, lines[0]))


def main():
    a = arguments(__doc__, program="a tracee with some events", big="a tracee with a large resident set")
    rr = a.rr
    with scratch_dir("rr-ckpt-safety-") as tmp:
        trace = os.path.join(tmp, "t")
        other = os.path.join(tmp, "other")
        for d in (trace, other):
            r = run([rr, "record", "-q", "-o", d, a.program])
            if r.returncode != 0:
                fatal("recording failed: %r" % r.stderr)
        r = run([rr, "create-checkpoints", "-i", "10", trace])
        if r.returncode != 0:
            fatal("create-checkpoints failed: %r" % r.stderr)
        run([rr, "create-checkpoints", "-i", "10", other])
        points = [e["event"] for e in listing(rr, trace)]
        if len(points) < 3:
            fatal("expected at least 3 checkpoints, got %r" % points)
        target = points[-1]
        path = os.path.join(trace, "checkpoints", "%d.rrcp" % target)
        reference = run([rr, "state", "-g", str(target), "--ignore-pcp", trace]).stdout
        pristine = open(path, "rb").read()

        def damage(what, message, data):
            with open(path, "wb") as f:
                f.write(data)
            expect_skip(rr, trace, target, reference, what, message)
            with open(path, "wb") as f:
                f.write(pristine)

        info_offset, info_size = struct.unpack_from("<QQ", pristine, 40)
        corrupt = bytearray(pristine)
        corrupt[info_offset + info_size // 2] ^= 0xFF
        damage("corrupt info", "corrupt", bytes(corrupt))
        block = bytearray(pristine)
        block[64 + 20] ^= 0xFF  # inside the first page block
        damage("corrupt page block", "corrupt", bytes(block))
        damage("truncated", "truncated", pristine[: len(pristine) // 2])
        damage("truncated header", "truncated", pristine[:30])
        newer = bytearray(pristine)
        struct.pack_into("<I", newer, 8, 99)
        damage("newer version", "newer than this rr", bytes(newer))
        foreign = open(os.path.join(other, "checkpoints", os.listdir(os.path.join(other, "checkpoints"))[0]), "rb").read()
        damage("foreign checkpoint", "another trace", foreign)
        # Sizes chosen so that offset + size wraps around 2^64.
        wraps = bytearray(pristine)
        struct.pack_into("<Q", wraps, 48, 2**64 - 8)
        with open(path, "wb") as f:
            f.write(bytes(wraps))
        usable = [e for e in listing(rr, trace) if e["event"] == target and e["usable"]]
        if usable:
            failures.append("a checkpoint whose info size wraps the file size is listed as usable: %r" % usable)
        damage("info size wrapping around", "truncated", bytes(wraps))
        # A FIFO under a checkpoint's name: nothing may wait for a writer.
        os.unlink(path)
        os.mkfifo(path)
        try:
            r = run([rr, "checkpoints", "--json", trace], timeout=30)
            entry = [e for e in json.loads(r.stdout) if e["event"] == target]
            if r.returncode != 0 or not entry or entry[0]["usable"]:
                failures.append("rr checkpoints with a FIFO as %d.rrcp: exit %d, entry %r" % (target, r.returncode, entry))
            expect_skip(rr, trace, target, reference, "a FIFO as a checkpoint", "not a regular file")
        except subprocess.TimeoutExpired:
            failures.append("a FIFO named %d.rrcp made rr wait for a writer" % target)
        os.unlink(path)
        with open(path, "wb") as f:
            f.write(pristine)

        # rm and --all; the newest checkpoint is no other's base (the
        # first one is: incremental_test.py checks that rm refuses it)
        r = run([rr, "checkpoints", "rm", str(points[-1]), trace])
        left = [e["event"] for e in listing(rr, trace)]
        if r.returncode != 0 or points[-1] in left or len(left) != len(points) - 1:
            failures.append("checkpoints rm %d: exit %d, left %r" % (points[-1], r.returncode, left))
        r = run([rr, "checkpoints", "rm", "999999999", trace])
        if r.returncode == 0:
            failures.append("checkpoints rm of a missing event exited 0")
        r = run([rr, "create-checkpoints", "-i", "0", trace])
        if r.returncode == 0 or b"-i 0" not in r.stderr:
            failures.append("create-checkpoints -i 0 was not refused: %r" % r.stderr)

        # Two writers at once, and a replay during creation.
        big = os.path.join(tmp, "big")
        run([rr, "record", "-q", "-o", big, a.big])
        w1 = subprocess.Popen([rr, "create-checkpoints", "-i", "5", big], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        w2 = subprocess.Popen([rr, "create-checkpoints", "-i", "7", big], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rep = run([rr, "replay", "-a", big])
        o1, e1 = w1.communicate()
        o2, e2 = w2.communicate()
        if w1.returncode or w2.returncode or rep.returncode:
            failures.append("concurrent writers / replay failed: %r %r %r" % (e1, e2, rep.stderr))
        entries = listing(rr, big)
        if not entries or not all(e["usable"] for e in entries):
            failures.append("after concurrent writers, unusable checkpoints: %r" % entries)
        else:
            print("ok: two writers and a replay at once left %d usable checkpoints" % len(entries))

        # kill -9 in mid-write: nothing partial under a real name.
        run([rr, "checkpoints", "rm", "--all", big])
        for delay in (0.05, 0.15, 0.3):
            w = subprocess.Popen([rr, "create-checkpoints", "-i", "1", big], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            w.send_signal(signal.SIGKILL)
            w.wait()
        entries = listing(rr, big)
        bad = [e for e in entries if not e["usable"]]
        for e in entries:
            r = run([rr, "state", "-g", str(e["event"]), big])
            if r.returncode != 0 or r.stderr:
                bad.append((e["event"], r.stderr))
        if bad:
            failures.append("kill -9 left unusable checkpoints: %r" % bad)
        else:
            print("ok: kill -9 in mid-write left %d checkpoints, all usable" % len(entries))
        # The next create-checkpoints removes what dead writers left behind
        # (one planted with a pid above pid_max), and nothing else.
        # Files of dead writers are removed once they are 10 s old (a live
        # writer in another PID namespace keeps its file fresh).
        ckdir = os.path.join(big, "checkpoints")
        open(os.path.join(ckdir, ".tmp-5-999999999-1"), "w").close()
        fresh_dead = os.path.join(ckdir, ".tmp-6-999999998-1")
        open(fresh_dead, "w").close()
        stale = [n for n in os.listdir(ckdir) if n.startswith(".tmp") and n != os.path.basename(fresh_dead)]
        old = time.time() - 60
        for n in stale:
            os.utime(os.path.join(ckdir, n), (old, old))
        before = sorted(n for n in os.listdir(ckdir) if not n.startswith(".tmp"))
        run([rr, "create-checkpoints", "-s", "2", "-e", "2", big])
        after = os.listdir(ckdir)
        if any(n in after for n in stale) or os.path.basename(fresh_dead) not in after or not set(before) <= set(after):
            failures.append("stale temporaries %r: after a new create-checkpoints the folder holds %r" % (stale, after))
        else:
            print("ok: %d old temporary files of dead writers removed, a fresh one kept" % len(stale))
        os.unlink(fresh_dead)

        # A full disk: a small tmpfs holding a copy of the trace, without
        # its checkpoints, and 256 KiB more: far less than the checkpoints
        # -i 1 writes. (Sized with the trace's checkpoints, the room left
        # depended on how far the killed writers above had got: once they
        # wrote 62 of the 63, every checkpoint fitted.)
        small = os.path.join(tmp, "small")
        os.mkdir(small)
        room = disk_usage_kb(big, skip="checkpoints") + 256
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk" % room, "tmpfs", small]).returncode == 0:
            try:
                copy = os.path.join(small, "big")
                shutil.copytree(big, copy, ignore=lambda d, names: ["checkpoints"] if d == big else [])
                r = run([rr, "create-checkpoints", "-i", "1", copy])
                err = r.stderr.decode()
                names = os.listdir(os.path.join(copy, "checkpoints")) if os.path.isdir(os.path.join(copy, "checkpoints")) else []
                if r.returncode == 0 or "No space left" not in err:
                    failures.append("full disk: expected a failure naming the full disk, got exit %d %r" % (r.returncode, err))
                elif any(n.startswith(".tmp") for n in names):
                    failures.append("full disk left a temporary file: %r" % names)
                else:
                    entries = listing(rr, copy)
                    if not all(e["usable"] for e in entries):
                        failures.append("full disk left an unusable checkpoint: %r" % entries)
                    else:
                        print("ok: full disk: %s (%d complete checkpoints kept)" % (err.strip().splitlines()[-1], len(entries)))
            finally:
                subprocess.run(["umount", small])
        else:
            failures.append("full disk: could not mount a small tmpfs (needs root)")
    failures.report("all checkpoint safety cases hold")


def disk_usage_kb(path, skip=None):
    """The KiB the files under `path` take (and 64 more), leaving out its
    folder named `skip`."""
    total = 0
    for dp, ds, fs in os.walk(path):
        if skip in ds and dp == path:
            ds.remove(skip)
        for f in fs:
            total += os.path.getsize(os.path.join(dp, f))
    return total // 1024 + 64


if __name__ == "__main__":
    main()
