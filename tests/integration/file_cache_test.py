#!/usr/bin/env python3
"""The copies of mapped files kept between recordings (trace/file_cache.h),
on a real program (/usr/bin/python3, whose files are old enough to be
cached):

- a second recording links the copies the first one made (same inodes in
  both traces' files/), the originals' link counts do not move, and both
  traces replay with the recording's output;
- a cached copy written in place (the one of libc) is not linked into a
  third recording, which gets a copy of its own and replays; the trace that
  linked the written copy stops replay with one rr: line saying the file is
  damaged, never a replay from other bytes;
- RR_FILE_CACHE=off: every copy is the trace's own (one link)."""
import argparse
import os

from testlib import Failures, fatal, flip_byte, run, scratch_dir

failures = Failures()
PROGRAM = ["/usr/bin/python3", "-c", "print('cached')"]


def rr_lines(stderr):
    return [l for l in stderr.decode(errors="replace").splitlines() if l.startswith("rr:")]


def files_of(trace):
    """name -> stat of each copy in the trace's files/ (the preload library
    rr writes at every recording aside)."""
    d = os.path.join(trace, "files")
    return {f: os.stat(os.path.join(d, f)) for f in sorted(os.listdir(d)) if not f.startswith("librrpreload")}


def record(rr, trace, env):
    r = run([rr, "record", "-q", "-o", trace] + PROGRAM, env=env, timeout=120)
    if r.returncode != 0 or r.stdout != b"cached\n":
        fatal("recording %s failed (%d): %r %r" % (PROGRAM, r.returncode, r.stdout, r.stderr[-500:]))


def replays(rr, trace):
    r = run([rr, "replay", "-a", trace], timeout=120)
    return failures.expect(r.returncode == 0 and r.stdout == b"cached\n",
                           "replay -a %s: expected exit 0 and %r, got %d %r %r"
                           % (trace, b"cached\n", r.returncode, r.stdout, r.stderr[-300:]))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rr", required=True)
    a = p.parse_args()
    rr = a.rr
    with scratch_dir("rr-file-cache-") as tmp:
        cache = os.path.join(tmp, "cache")
        env = dict(os.environ, RR_FILE_CACHE=cache)
        exe = os.path.realpath(PROGRAM[0])
        links_before = os.stat(exe).st_nlink
        t1, t2, t3 = (os.path.join(tmp, n) for n in ("t1", "t2", "t3"))
        record(rr, t1, env)
        record(rr, t2, env)
        first, second = files_of(t1), files_of(t2)
        shared = [f for f in second if f in first and first[f].st_ino == second[f].st_ino]
        failures.expect(first.keys() == second.keys() and len(shared) == len(second) and len(shared) >= 3,
                        "the second recording: expected every copy (%d, at least python3's, libc's and the "
                        "loader's) linked from the first one's, got %d shared of %r"
                        % (len(second), len(shared), sorted(second)))
        failures.expect(os.stat(exe).st_nlink == links_before,
                        "%s: expected its link count to stay %d, got %d" % (exe, links_before, os.stat(exe).st_nlink))
        replays(rr, t1)
        replays(rr, t2)

        libc = [f for f in second if f.startswith("libc.so")]
        if not libc:
            fatal("no copy of libc in %r" % sorted(second))
        written = os.path.join(t2, "files", libc[0])
        flip_byte(written)
        record(rr, t3, env)
        third = files_of(t3)
        failures.expect(third[libc[0]].st_ino != second[libc[0]].st_ino,
                        "the third recording: expected a copy of libc of its own, not the cached one written "
                        "in place (inode %d)" % second[libc[0]].st_ino)
        replays(rr, t3)
        r = run([rr, "replay", "-a", t2], timeout=120)
        lines = rr_lines(r.stderr)
        failures.expect(r.returncode != 0 and len(lines) == 1 and "is damaged" in lines[0] and libc[0] in lines[0],
                        "replay of the trace whose linked libc was written: expected one rr: line saying %s is "
                        "damaged, got %d %r" % (libc[0], r.returncode, r.stderr[-500:]))

        t4 = os.path.join(tmp, "t4")
        record(rr, t4, dict(os.environ, RR_FILE_CACHE="off"))
        own = files_of(t4)
        failures.expect(all(st.st_nlink == 1 for st in own.values()),
                        "RR_FILE_CACHE=off: expected every copy the trace's own, got link counts %r"
                        % {f: st.st_nlink for f, st in own.items()})
        replays(rr, t4)
    failures.report("mapped files are copied once and linked into later traces; a written copy is never used")


if __name__ == "__main__":
    main()
