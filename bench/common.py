"""Helpers shared by the benchmarks of bench/."""
import argparse
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def arguments(doc, **extra):
    """An argument parser with --rr and --runs; `extra` adds options with
    their defaults (name=default), of the default's type."""
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--rr", default=os.path.join(HERE, "..", "build", "rr"))
    p.add_argument("--runs", type=int, default=3)
    for name, default in extra.items():
        p.add_argument("--" + name, type=type(default), default=default)
    a = p.parse_args()
    a.rr = os.path.abspath(a.rr)
    return a


def timed(argv, env=None):
    """Runs argv; returns (seconds, stdout+stderr). Exits when it fails."""
    t = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    took = time.monotonic() - t
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), r.stdout[-2000:]))
    return took, r.stdout


def build_and_record(rr, tmp, source, args=(), flags=("-O1", "-g")):
    """Compiles bench/SOURCE into TMP and records it; returns the trace's path."""
    prog = os.path.join(tmp, os.path.splitext(source)[0])
    subprocess.run(["cc", *flags, "-o", prog, os.path.join(HERE, source)], check=True)
    trace = os.path.join(tmp, "trace")
    timed([rr, "record", "-q", "-o", trace, prog, *args])
    return trace


def random_blob(path, mib, seed):
    """Writes `mib` MiB of pseudo-random bytes (one random MiB, rotated per
    MiB) to `path`; returns the generator, for more inputs from the same seed."""
    rnd = random.Random(seed)
    chunk = bytes(rnd.getrandbits(8) for _ in range(1 << 20))
    with open(path, "wb") as f:
        for i in range(mib):
            f.write(chunk[i:] + chunk[:i])
    return rnd
