#!/usr/bin/env python3
"""Code images (core/code_image.h): the rewritten code is a file that the
recording and its replay map, not patches written into every process.

- `cat /proc/self/maps` recorded with a plan store in a scratch folder: its
  code is mapped from the store's images (the maps it prints name them),
  the trace links each image it used (the same inode as the store's file)
  under images/, listed in its sums; replay prints what the recording did;
- `rr state` at a checkpoint of that trace equals the state replay reaches
  without it (the image mappings are trace files a checkpoint names);
- a second recording uses the store's images as they are (the same
  inodes), and the same recording with the store off maps none and replays;
- an image of the store damaged in place is made again by the next
  recording, which replays;
- a trace whose image was damaged (a copy of the trace, so the store's
  file stays whole) is refused by replay in one rr: line naming the image;
  one whose image is missing too;
- a trace on another file system than the store (/dev/shm) holds copies
  of the images, and replays;
- rdrand_rdseed copied and left to settle, so that its own code is mapped
  from an image: its rdrand sites (the original file's, by offset) trap in
  the image, the recording emulates them and replay prints the same
  values."""
import os
import re
import shutil
import tempfile
import time

from testlib import Failures, arguments, fatal, flip_byte, run, scratch_dir, show, state_at

failures = Failures()


def record(rr, trace, store, extra_env=None):
    env = dict(os.environ, RR_PLAN_CACHE=store, RR_LOG="1")
    env.update(extra_env or {})
    r = run([rr, "record", "-q", "-o", trace, "/bin/cat", "/proc/self/maps"], env=env, timeout=120)
    if r.returncode != 0:
        fatal("recording cat /proc/self/maps failed (%d): %s" % (r.returncode, show(r.stderr)))
    return r


def replays(rr, trace, rec, what):
    rep = run([rr, "replay", "-a", trace], timeout=120)
    failures.expect(rep.returncode == 0 and rep.stdout == rec.stdout,
                    "%s: expected replay -a to print what the recording did, got %d %s"
                    % (what, rep.returncode, show(rep.stderr)))


def inodes(folder):
    if not os.path.isdir(folder):
        return {}
    return {f: os.stat(os.path.join(folder, f)).st_ino for f in os.listdir(folder)}


def check_other_file_system(rr, store, stored):
    shm = "/dev/shm"
    if not os.path.isdir(shm) or os.stat(shm).st_dev == os.stat(store).st_dev:
        print("not checked: a trace on another file system than the store (no %s of another one)" % shm)
        return
    trace = tempfile.mkdtemp(prefix="rr-images-", dir=shm)
    try:
        rec = record(rr, os.path.join(trace, "t"), store)
        copies = inodes(os.path.join(trace, "t", "images"))
        failures.expect(copies and set(copies) <= set(stored) and
                        all(os.stat(os.path.join(trace, "t", "images", f)).st_nlink == 1 for f in copies),
                        "a trace on another file system: expected copies of the store's images, got %r" % copies)
        replays(rr, os.path.join(trace, "t"), rec, "a trace on another file system")
    finally:
        shutil.rmtree(trace, ignore_errors=True)


def check_rdrand(rr, program, tmp, store):
    copy = os.path.join(tmp, "rdrand_rdseed")
    shutil.copy(program, copy)
    fd = os.open(copy, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    # Settled: its times 10 s old (core/plan_store.h, settled_file).
    time.sleep(max(0.0, os.stat(copy).st_ctime + 11 - time.time()))
    if b"has no rdrand" in run([copy]).stdout:
        print("not checked: rdrand from a code image (this CPU has no rdrand or rdseed)")
        return
    trace = os.path.join(tmp, "rdrand")
    env = dict(os.environ, RR_PLAN_CACHE=store, RR_LOG="1")
    rec = run([rr, "record", "-q", "-o", trace, copy], env=env, timeout=120)
    log = rec.stderr.decode(errors="replace")
    trapped = re.findall(r"rdrand/rdseed at 0x[0-9a-f]+ \((\S+)\) traps", log)
    failures.expect(rec.returncode == 0 and trapped and
                    all(os.path.dirname(p) == os.path.realpath(os.path.join(store, "images")) for p in trapped),
                    "rdrand_rdseed settled: expected its rdrand sites trapped in its code image, got %d %r %s"
                    % (rec.returncode, trapped, show(rec.stderr)))
    failures.expect(rec.stdout.startswith(b"rdrand ") and b"ud2 raised its SIGILL: yes" in rec.stdout,
                    "rdrand_rdseed printed %s" % show(rec.stdout))
    replays(rr, trace, rec, "rdrand_rdseed from its code image")


def main():
    a = arguments(__doc__, rdrand="the rdrand_rdseed program")
    rr = a.rr
    with scratch_dir("rr-images-") as tmp:
        store = os.path.join(tmp, "plans")
        images = os.path.join(store, "images")
        trace = os.path.join(tmp, "first")
        rec = record(rr, trace, store)
        maps = rec.stdout.decode(errors="replace")
        real_images = os.path.realpath(images)
        lines = re.findall(r"^\S+ r-xp ([0-9a-f]+) \S+ \d+\s+(%s/[0-9a-f]{32})$" % re.escape(real_images), maps, re.M)
        mapped = set(path for _, path in lines)
        # Code at a file offset (a library's text), not only stubs (offset 0).
        code = set(path for offset, path in lines if int(offset, 16) != 0)
        failures.expect(len(code) >= 2,
                        "expected cat's code and its libraries' mapped from the store's images, got maps %s"
                        % show(maps.encode(), 1200))
        failures.expect(b"is not mapped" not in rec.stderr and b"no code image" not in rec.stderr,
                        "the first recording: every image expected mapped, got %s" % show(rec.stderr, 1500))
        linked = inodes(os.path.join(trace, "images"))
        stored = inodes(images)
        failures.expect(linked and all(stored.get(f) == ino for f, ino in linked.items()),
                        "expected the trace's images to be links of the store's, got %r and %r" % (linked, stored))
        with open(os.path.join(trace, "sums")) as fh:
            listed = set(re.findall(r" (images/[0-9a-f]{32})$", fh.read(), re.M))
        failures.expect(listed == {"images/" + f for f in linked},
                        "expected every image of the trace listed in its sums, got %r for %r" % (listed, linked))
        failures.expect(all(os.path.basename(p) in linked for p in mapped),
                        "an image the recording mapped is not in the trace: %r, %r" % (mapped, linked))
        replays(rr, trace, rec, "recorded with images")

        # A checkpoint's state (image mappings named as trace files) equals
        # replay's.
        made = run([rr, "create-checkpoints", "-i", "10", trace], timeout=300)
        failures.expect(made.returncode == 0, "create-checkpoints failed: %s" % show(made.stderr))
        ckpts = sorted(int(f.split(".")[0]) for f in os.listdir(os.path.join(trace, "checkpoints"))
                       if f.endswith(".rrcp")) if os.path.isdir(os.path.join(trace, "checkpoints")) else []
        failures.expect(ckpts, "expected checkpoints in %s" % trace)
        for ev in ckpts[-2:]:
            via, plain = state_at(rr, trace, ev), state_at(rr, trace, ev, "--ignore-pcp")
            failures.expect(via.returncode == 0 and via.stdout == plain.stdout and "images/" in via.stdout,
                            "rr state -g %d: expected the same state through the checkpoint as by replay, naming "
                            "the images, got %d %s and %d %s" % (ev, via.returncode, show(via.stdout),
                                                                plain.returncode, show(plain.stdout)))

        second = os.path.join(tmp, "second")
        rec2 = record(rr, second, store)
        failures.expect(inodes(images) == stored,
                        "a second recording: expected the store's images used as they are, got %r for %r"
                        % (inodes(images), stored))
        failures.expect(b"no code image" not in rec2.stderr, "a second recording: %s" % show(rec2.stderr))
        replays(rr, second, rec2, "the second recording")

        off = os.path.join(tmp, "off")
        rec3 = record(rr, off, "off")
        failures.expect(not os.path.exists(os.path.join(off, "images")) and b"/images/" not in rec3.stdout,
                        "with the store off: expected no images, got maps %s" % show(rec3.stdout, 1200))
        replays(rr, off, rec3, "recorded with the store off")

        # An image damaged in the store is made again.
        victim = sorted(linked)[0]
        os.chmod(os.path.join(images, victim), 0o644)
        size = os.path.getsize(os.path.join(images, victim))
        flip_byte(os.path.join(images, victim), size - 100)
        remade = os.path.join(tmp, "remade")
        rec4 = record(rr, remade, store)
        failures.expect(os.stat(os.path.join(images, victim)).st_ino != stored[victim],
                        "an image damaged in the store: expected it made again (a new file)")
        replays(rr, remade, rec4, "recorded after an image in the store was damaged")

        # Damaged or missing in a trace: refused.
        for name, change in (("damaged", lambda p: flip_byte(p, os.path.getsize(p) - 100)),
                             ("missing", os.unlink)):
            copy = os.path.join(tmp, "copy-" + name)
            shutil.copytree(remade, copy)
            path = os.path.join(copy, "images", victim)
            os.chmod(path, 0o644)
            change(path)
            r = run([rr, "replay", "-a", copy], timeout=120)
            lines = [l for l in r.stderr.decode(errors="replace").splitlines() if l.startswith("rr:")]
            failures.expect(r.returncode != 0 and len(lines) == 1 and "images/" + victim in lines[0],
                            "replay of a trace whose image is %s: expected one rr: line naming it, got %d %s"
                            % (name, r.returncode, show(r.stderr)))
        check_other_file_system(rr, store, stored)
        check_rdrand(rr, a.rdrand, tmp, store)
    failures.report("code images: mapped from the store and the trace, checked, made again when damaged")


if __name__ == "__main__":
    main()
