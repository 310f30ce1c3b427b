#!/usr/bin/env python3
"""Real programs nobody here wrote, recorded and replayed by rrtest.py.

Each case names a command line; inputs are generated deterministically in a
temporary directory first, so native, recorded and replayed runs see the same
files. Usage: real_programs.py --rr PATH CASE  (or --list)."""
import argparse
import os
import random
import shlex
import shutil
import subprocess
import sys

from testlib import fatal, rrtest_argv, scratch_dir

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

PYTHON_SENDFILE = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size, off = os.fstat(fd).st_size, 0
while off < size:
    off += os.sendfile(1, fd, off, size - off)
sys.stdout.write("sent %d bytes\n" % off)
"""

NODE_SNIPPET = r"""
const fs = require('fs'), os = require('os'), path = require('path');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-node-'));
const f = path.join(dir, 'a.txt');
fs.writeFileSync(f, 'hello\n'.repeat(100));
let n = 0;
const t = setInterval(() => {
  fs.appendFileSync(f, `tick ${++n}\n`);
  if (n < 5) return;
  clearInterval(t);
  setTimeout(() => fs.readFile(f, 'utf8', (err, data) => {
    console.log('lines', data.split('\n').length, 'last', data.trim().split('\n').pop());
    fs.rmSync(dir, { recursive: true });
    Promise.resolve(42).then(v => console.log('promise', v, 'sum', [...Array(1000).keys()].reduce((a, b) => a + b)));
  }), 20);
}, 10);
"""

# numpy's linear algebra runs in Debian's OpenBLAS (threads of its own).
NUMPY_SNIPPET = r"""
import numpy as np
rng = np.random.default_rng(7)
a = rng.standard_normal((300, 300))
b = a @ a.T
print("trace %.6f" % np.trace(b))
print("slogdet sign", np.linalg.slogdet(b + np.eye(300))[0])
print("largest eigenvalue %.4f" % np.linalg.eigvalsh(b).max())
"""

# go build of a one-file module, with a build cache and module path of its
# own (empty: the compiler, assembler and linker all run), then the program.
# The go command and its tools are threaded Go programs that end by
# exit_group from their main thread, and go runs its tools with vfork.
GO_BUILD_SCRIPT = r"""
set -e
export GOCACHE="$(mktemp -d)" GOPATH="$(mktemp -d)" GOFLAGS=-mod=mod GOTOOLCHAIN=local GOTELEMETRY=off
cd "$0"
go build -o "$GOCACHE/hello" .
"$GOCACHE/hello"
chmod -R u+w "$GOCACHE" "$GOPATH"
rm -rf "$GOCACHE" "$GOPATH"
"""

# A shell script: a pipeline, subshells, a trap on a signal the script
# sends itself, background jobs and wait (the jobs write files, printed in
# order after: their own order is the machine's).
BASH_SCRIPT = r"""
trap 'echo caught USR1' USR1
seq 1 3000 | grep 7 | wc -l
(cd / && echo "subshell in $(pwd)"; exit 3); echo "subshell status $?"
kill -USR1 $$
d=$(mktemp -d)
for i in 1 2 3; do (sleep 0.0$i; echo "job $i" > $d/job$i) & done
wait
cat $d/job1 $d/job2 $d/job3; rm -r $d
echo "x=$(( $(echo 6) * 7 ))"
"""

# An AddressSanitizer build; with "overflow" it overflows a heap block, with
# "leak" it loses one, and ASan's report and exit status must come back in
# replay. Its leak check at exit (on by default) runs a helper process that
# shares the program's memory and ptraces its threads.
ASAN_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void *volatile kept;
int main(int argc, char **argv) {
    char *p = malloc(64);
    strcpy(p, "asan under rr");
    printf("%s %zu\n", p, strlen(p));
    free(p);
    if (argc > 1 && !strcmp(argv[1], "overflow")) { char *q = malloc(8); q[8] = 1; free(q); }
    if (argc > 1 && !strcmp(argv[1], "leak")) { kept = malloc(4000); kept = 0; }
    return 0;
}
"""

# A program gdb runs inside the recording: a breakpoint, steps, and the
# crash's backtrace.
CRASH_PROGRAM = r"""
#include <stdio.h>
static int depth(int n) {
    int x = n * 2;
    if (n == 0) { int *volatile p = 0; return *p + x; }
    return depth(n - 1) + x;
}
int main(void) { puts("about to crash"); fflush(stdout); return depth(3); }
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


PYTHON_THREADS = r"""
import threading, queue
q = queue.Queue()
lock = threading.Lock()
totals = []
def worker(n):
    s = sum(i * i for i in range(n * 20000))
    with lock:
        totals.append(s)
    q.put(n)
threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 5)]
for t in threads: t.start()
for t in threads: t.join()
print("threads done:", sorted(q.get() for _ in range(4)), "sum", sum(totals))
ev = threading.Event()
t = threading.Timer(0.01, ev.set); t.start()
print("timer fired:", ev.wait(5))
"""

PYTHON_MULTIPROCESSING = r"""
import multiprocessing as mp
def square(x):
    return x * x
if __name__ == "__main__":
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        print("squares:", sum(pool.map(square, range(200))))
    q = ctx.Queue()
    p = ctx.Process(target=q.put, args=("from a child",))
    p.start()
    print(q.get())
    p.join()
    print("child exit code", p.exitcode)
"""

MAKEFILE = (
    "OBJS = a.o b.o c.o d.o\n"
    "prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n"
    "%.o: %.c\n\t$(CC) -O1 -c -o $@ $<\n"
)

GIT_SCRIPT = (
    "set -e; d=$(mktemp -d); cd $d; git init -q; echo hello > f.txt; git add f.txt; "
    "GIT_AUTHOR_DATE=2000-01-01T00:00:00+0000 GIT_COMMITTER_DATE=2000-01-01T00:00:00+0000 git -c user.name=rr -c user.email=rr@example.com commit -q -m first; "
    "git log --format=%s; git cat-file -p HEAD:f.txt; cd /; rm -rf $d"
)


JAVA_PROGRAM = r'''
import java.util.*;
public class Hello {
    public static void main(String[] args) {
        Map<Integer, Long> m = new HashMap<>();
        long s = 0;
        for (int i = 0; i < 300000; i++) { s += i % 7; m.merge(i % 100, (long) i, Long::sum); }
        System.out.println("sum " + s + " keys " + m.size() + " m[42] " + m.get(42));
    }
}
'''


# A passphrase-encrypted message, decrypted again, in a fresh home, with
# no gpg-agent (starting one takes seconds).
GPG_SCRIPT = r"""
rm -rf "$0" && mkdir -m 700 "$0" && export GNUPGHOME="$0"
echo 'a secret line' | gpg --batch --no-autostart --pinentry-mode loopback --passphrase x --symmetric -o - |
  gpg --batch --no-autostart --pinentry-mode loopback --passphrase x --decrypt 2>/dev/null
"""


# Python's hashlib computes these digests with OpenSSL's libcrypto.
PYTHON_DIGESTS = """
import hashlib, sys
data = open(sys.argv[1], 'rb').read()
for name in ('sha1', 'sha512', 'sha256', 'md5', 'sha3_256'):
    print(name, hashlib.new(name, data).hexdigest())
"""


def make_inputs(d):
    rnd = random.Random(42)
    with open(os.path.join(d, "lines.txt"), "w") as f:
        for _ in range(200000):
            f.write("%08x %s\n" % (rnd.getrandbits(32), "".join(rnd.choice("abcdefghij") for _ in range(12))))
    # Its first 50,000 lines (1.1 MB): what xz compresses in 0.4 s here.
    with open(os.path.join(d, "lines.txt")) as f, open(os.path.join(d, "quarter.txt"), "w") as q:
        q.writelines(f.readlines()[:50000])
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
    # A database in WAL mode: sqlite maps its -shm file shared and writable.
    with open(os.path.join(d, "wal.sql"), "w") as f:
        f.write("PRAGMA journal_mode=WAL;\n" + SQL)
    with open(os.path.join(d, "data.json"), "w") as f:
        f.write('{"a": [1, 2, {"b": "c"}], "n": 3.5, "s": "text"}\n')
    proj = os.path.join(d, "proj")
    os.mkdir(proj)
    with open(os.path.join(proj, "Makefile"), "w") as f:
        f.write(MAKEFILE)
    for i, name in enumerate("abcd"):
        with open(os.path.join(proj, name + ".c"), "w") as f:
            if name == "a":
                f.write("int b(void); int c(void); int d(void);\n#include <stdio.h>\n"
                        "int main(void) { printf(\"%d\\n\", b() + c() + d()); return 0; }\n")
            else:
                f.write("int %s(void) { return %d; }\n" % (name, i * 10))
    with open(os.path.join(d, "asan.c"), "w") as f:
        f.write(ASAN_PROGRAM)
    os.mkdir(os.path.join(d, "gomod"))
    with open(os.path.join(d, "gomod", "go.mod"), "w") as f:
        f.write("module example.com/hello\n\ngo 1.19\n")
    with open(os.path.join(d, "gomod", "main.go"), "w") as f:
        f.write('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from go", 6*7) }\n')
    with open(os.path.join(d, "crash.c"), "w") as f:
        f.write(CRASH_PROGRAM)
    with open(os.path.join(d, "hello.c"), "w") as f:
        f.write('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')


def cases(d):
    return {
        "ls": (["ls", "-la", "/usr/bin"], None),
        # Writers whose bytes never pass through the program's memory:
        # replay -a must echo what the recorder captured (echo_test.py also
        # runs these with stdout redirected to a file).
        "cat": (["cat", os.path.join(d, "lines.txt"), os.path.join(d, "blob.bin")], None),
        "python3_sendfile": (["/usr/bin/python3", "-c", PYTHON_SENDFILE, os.path.join(d, "lines.txt")], None),
        "sort": (["sort", os.path.join(d, "lines.txt")], None),
        "sha256sum": (["sha256sum", os.path.join(d, "blob.bin")], None),
        "python3": (["/usr/bin/python3", "-c", PYTHON_SNIPPET], None),
        "perl": (["perl", "-e", PERL_SNIPPET], None),
        "sqlite3": (["sqlite3", ":memory:"], os.path.join(d, "query.sql")),
        "sqlite3_wal": (["sh", "-c", 'rm -f "$0" "$0-wal" "$0-shm"; sqlite3 "$0" < "$1"', os.path.join(d, "wal.db"),
                         os.path.join(d, "wal.sql")], None),
        # The JVM maps its perf data file (hsperfdata) shared and writable.
        "java": (["java", "-XX:+UsePerfData", "-cp", d, "Hello"], None),
        "gzip": (["gzip", "-c", os.path.join(d, "blob.bin")], None),
        "xz": (["xz", "-1", "-T1", "-c", os.path.join(d, "quarter.txt")], None),
        "tar": (["tar", "c", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", os.path.join(d, "tree"), "."], None),
        "openssl": (["openssl", "dgst", "-sha256", os.path.join(d, "blob.bin")], None),
        # libcrypto keeps its digests' round constants in .text, between its
        # functions: with the progress counter on they must stay as they are
        # (the digests equal the native run's).
        "openssl_counter": (["/usr/bin/python3", "-c", PYTHON_DIGESTS, os.path.join(d, "small.bin")], None),
        # libgcrypt gathers entropy with rdrand where cpuid offers it.
        "gpg": (["sh", "-c", GPG_SCRIPT, os.path.join(d, "gnupg")], None),
        "jq": (["jq", ".a[2].b", os.path.join(d, "data.json")], None),
        "file": (["file", os.path.join(d, "blob.bin"), "/usr/bin/ls"], None),
        "tclsh": (["tclsh"], os.path.join(d, "script.tcl")),
        # Processes and threads.
        "make_j2": (["make", "-B", "-s", "-j2", "-C", os.path.join(d, "proj")], None),
        "gcc": (["gcc", "-O2", "-o", os.path.join(d, "hello"), os.path.join(d, "hello.c")], None),
        "sh_pipeline": (["sh", "-c", "seq 1 20000 | sort -r | head -3; echo done | tr a-z A-Z; ls / | wc -l"], None),
        "git": (["sh", "-c", GIT_SCRIPT], None),
        "python3_threading": (["/usr/bin/python3", "-c", PYTHON_THREADS], None),
        "python3_multiprocessing": (["/usr/bin/python3", "-c", PYTHON_MULTIPROCESSING], None),
        "xz_T2": (["xz", "-1", "-T2", "--block-size=256KiB", "-c", os.path.join(d, "quarter.txt")], None),
        # Two threads compressing 2 MiB blocks of a 4 MiB file in liblzma
        # (0.8 s each here) while the main one waits to run: they are
        # preempted in liblzma (the same with 8 MiB blocks of 16 MiB stops
        # after 3 s without the progress counter; too slow for the suite).
        "xz_T2_counter": (["xz", "-1", "-T2", "--block-size=2MiB", "-c", os.path.join(d, "big.txt")], None),
        "node": (["node", "-e", NODE_SNIPPET], None),
        "numpy": (["/usr/bin/python3", "-c", NUMPY_SNIPPET], None),
        "bash_script": (["bash", "-c", BASH_SCRIPT], None),
        "go_build": (["sh", "-c", GO_BUILD_SCRIPT, os.path.join(d, "gomod")], None),
        "asan": (["env", "ASAN_OPTIONS=detect_leaks=0", os.path.join(d, "asan")], None),
        "asan_error": (["env", "ASAN_OPTIONS=detect_leaks=0", os.path.join(d, "asan"), "overflow"], None),
        # Default options: LeakSanitizer runs at exit and reports the leak.
        "asan_leak": ([os.path.join(d, "asan"), "leak"], None),
        # A tracer inside the recording: strace following a pipeline's
        # processes (fork events, syscall stops, its reads of their memory).
        "strace_pipeline": (["strace", "-f", "-qq", "-e", "trace=execve,pipe2,write,exit_group", "sh", "-c",
                             "seq 1 3 | tr 1-3 a-c; echo done"], None),
        # gdb inside the recording: it runs the program through a shell,
        # stops at a breakpoint (written through /proc/PID/mem), steps by
        # lines and instructions (PTRACE_SINGLESTEP), and prints the crash's
        # backtrace.
        "gdb_bt": (["gdb", "-nx", "-batch", "-ex", "break depth", "-ex", "run", "-ex", "next", "-ex", "stepi",
                    "-ex", "delete", "-ex", "continue", "-ex", "bt", os.path.join(d, "crash")], None),
        # PID namespaces the program makes: a shell as pid 1 of a new one,
        # with a /proc of its own, and what ps sees there.
        "unshare_pid": (["unshare", "-U", "-r", "--pid", "--fork", "--mount-proc", "sh", "-c",
                         "echo $$; ps -o pid,ppid,comm; cut -d' ' -f1,4 /proc/self/stat"], None),
    }


# rrtest options of some cases: the status they exit with, what they print.
# Every case but those marked --no-all-checkpoints runs with
# --all-checkpoints: create-checkpoints achieves every requested point
# (shared writable file mappings in java and sqlite3_wal, memory shared
# between processes in node, thread groups in go_build, ASan's shadow).
CASE_OPTIONS = {
    "gpg": ["--dump-matches", "rdrand/rdseed = "],
    "strace_pipeline": ["--nondet"],  # strace prints the pids, which differ from run to run
    "asan_error": ["--exit", "1"],
    # The leak report names pids and thread ids, which differ from the
    # native run's; it must be there, and replay must print it again.
    "asan_leak": ["--exit", "1", "--nondet", "--stderr-has", "ERROR: LeakSanitizer: detected memory leaks"],
    # Nothing is saved while a PID namespace the program made has tasks
    # (README, "What works today").
    "unshare_pid": ["--no-all-checkpoints"],
    # The progress counter is on by default; xz_T2 records the plain way
    # (xz_T2_counter is the default's), as it did before the counter.
    "xz_T2": ["--record-arg=--no-progress-counter"],
    "openssl_counter": ["--record-arg=--progress-counter", "--states", "2"],
    "xz_T2_counter": ["--record-arg=--progress-counter", "--dump-matches", "progress trap", "--states", "2"],
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
    with scratch_dir("rr-real-") as d:
        make_inputs(d)
        with open(os.path.join(d, "script.tcl"), "w") as f:
            f.write('set s 0\nfor {set i 0} {$i < 100000} {incr i} {incr s $i}\nputs "sum $s"\nputs [string reverse hello]\n')
        if a.case == "java" and shutil.which("javac"):
            with open(os.path.join(d, "Hello.java"), "w") as f:
                f.write(JAVA_PROGRAM)
            subprocess.check_call(["javac", "-d", d, os.path.join(d, "Hello.java")])
        if a.case == "gdb_bt":
            subprocess.check_call(["gcc", "-g", "-O0", "-o", os.path.join(d, "crash"), os.path.join(d, "crash.c")])
        if a.case.startswith("asan"):
            subprocess.check_call(["gcc", "-g", "-fsanitize=address", "-o", os.path.join(d, "asan"),
                                   os.path.join(d, "asan.c")])
        if a.case == "openssl_counter":
            with open(os.path.join(d, "blob.bin"), "rb") as f:
                small = f.read(256 << 10)
            with open(os.path.join(d, "small.bin"), "wb") as f:
                f.write(small)
        if a.case == "xz_T2_counter":
            with open(os.path.join(d, "lines.txt"), "rb") as f:
                lines = f.read()
            with open(os.path.join(d, "big.txt"), "wb") as f:
                f.write(lines[:4 << 20])
        argv, stdin = cases(d)[a.case]
        if a.case == "go_build" and shutil.which("go") is None:
            fatal("go is not installed (scripts/install-deps installs golang-go)")
        if shutil.which(argv[0]) is None:
            fatal("%s is not installed (scripts/install-deps installs it)" % argv[0])
        opts = CASE_OPTIONS.get(a.case, [])
        if "--no-all-checkpoints" in opts:
            opts = [o for o in opts if o != "--no-all-checkpoints"]
        else:
            opts = ["--all-checkpoints"] + opts
        # RR_TEST_RECORD_ARGS: more rr record options, as for the program
        # tests (`RR_TEST_RECORD_ARGS="--checkpoint-every 200" ctest -R real.`).
        for extra in shlex.split(os.environ.get("RR_TEST_RECORD_ARGS", "")):
            opts += ["--record-arg=" + extra]
        cmd = rrtest_argv(a.rr) + opts
        if stdin:
            cmd += ["--stdin", stdin]
        status = subprocess.call(cmd + ["--"] + argv)
    sys.exit(status)


if __name__ == "__main__":
    main()
