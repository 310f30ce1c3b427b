#!/usr/bin/env python3
"""Real programs nobody here wrote, recorded and replayed by rrtest.py.

Each case names a command line; inputs are generated deterministically in a
temporary directory first, so native, recorded and replayed runs see the same
files. Usage: real_programs.py --rr PATH CASE  (or --list)."""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

PYTHON_SNIPPET = r"""
import os, time, random, json, hashlib, tempfile, math, collections
d = tempfile.mkdtemp()
p = os.path.join(d, "f.txt")
with open(p, "w") as f:
    f.write("".join("line %d\n" % i for i in range(5000)))
with open(p) as f:
    data = f.read()
print(len(data), hashlib.sha256(data.encode()).hexdigest())
t0 = time.time(); t1 = time.monotonic()
print("time sane:", t0 > 1e9, time.monotonic() >= t1)
r = random.Random(1234)
print("seeded random:", [r.randint(0, 99) for _ in range(5)])
print("os.urandom len:", len(os.urandom(16)))
print(json.dumps(collections.Counter("mississippi").most_common(2)))
print(round(math.pi * 1e6))
os.unlink(p); os.rmdir(d)
"""

PERL_SNIPPET = r"""
use strict; use warnings;
my %h; $h{$_} = $_ * 2 for 1 .. 10000;
my $sum = 0; $sum += $_ for values %h;
print "keys ", scalar(keys %h), " sum $sum\n";
my @sorted = sort { $a <=> $b } map { ($_ * 7919) % 10007 } 1 .. 1000;
print "first @sorted[0..4]\n";
printf "time ok %d\n", time() > 1000000000;
"""

SQL = """
create table t(id integer primary key, name text, v real);
with recursive c(x) as (select 1 union all select x+1 from c where x < 5000)
insert into t(name, v) select 'n' || x, x * 1.5 from c;
create index ti on t(name);
select count(*), sum(v), min(name), max(name) from t;
select name from t where name like 'n49%' order by id limit 3;
"""


def make_inputs(d):
    rnd = random.Random(42)
    with open(os.path.join(d, "lines.txt"), "w") as f:
        for _ in range(200000):
            f.write("%08x %s\n" % (rnd.getrandbits(32), "".join(rnd.choice("abcdefghij") for _ in range(12))))
    with open(os.path.join(d, "blob.bin"), "wb") as f:
        f.write(bytes(rnd.getrandbits(8) for _ in range(1 << 20)) * 8)
    tree = os.path.join(d, "tree")
    for i in range(20):
        sub = os.path.join(tree, "dir%02d" % (i % 5))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "file%02d.txt" % i), "w") as f:
            f.write(("content %d\n" % i) * (100 * i + 1))
    with open(os.path.join(d, "query.sql"), "w") as f:
        f.write(SQL)
    with open(os.path.join(d, "data.json"), "w") as f:
        f.write('{"a": [1, 2, {"b": "c"}], "n": 3.5, "s": "text"}\n')


def cases(d):
    return {
        "ls": (["ls", "-la", "/usr/bin"], None),
        "sort": (["sort", os.path.join(d, "lines.txt")], None),
        "sha256sum": (["sha256sum", os.path.join(d, "blob.bin")], None),
        "python3": (["/usr/bin/python3", "-c", PYTHON_SNIPPET], None),
        "perl": (["perl", "-e", PERL_SNIPPET], None),
        "sqlite3": (["sqlite3", ":memory:"], os.path.join(d, "query.sql")),
        "gzip": (["gzip", "-c", os.path.join(d, "blob.bin")], None),
        "xz": (["xz", "-T1", "-c", os.path.join(d, "lines.txt")], None),
        "tar": (["tar", "c", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", os.path.join(d, "tree"), "."], None),
        "openssl": (["openssl", "dgst", "-sha256", os.path.join(d, "blob.bin")], None),
        "jq": (["jq", ".a[2].b", os.path.join(d, "data.json")], None),
        "file": (["file", os.path.join(d, "blob.bin"), "/usr/bin/ls"], None),
        "tclsh": (["tclsh"], os.path.join(d, "script.tcl")),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rr")
    p.add_argument("--list", action="store_true")
    p.add_argument("case", nargs="?")
    a = p.parse_args()
    if a.list:
        print("\n".join(cases("/tmp").keys()))
        return
    d = tempfile.mkdtemp(prefix="rr-real-")
    try:
        make_inputs(d)
        with open(os.path.join(d, "script.tcl"), "w") as f:
            f.write('set s 0\nfor {set i 0} {$i < 100000} {incr i} {incr s $i}\nputs "sum $s"\nputs [string reverse hello]\n')
        argv, stdin = cases(d)[a.case]
        if shutil.which(argv[0]) is None:
            print("FAIL: %s is not installed (scripts/install-deps installs it)" % argv[0])
            sys.exit(1)
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "rrtest.py"), "--rr", a.rr]
        if stdin:
            cmd += ["--stdin", stdin]
        sys.exit(subprocess.call(cmd + ["--"] + argv))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
