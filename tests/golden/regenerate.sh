#!/bin/bash
# Makes a new set of golden checkpoints (tests/golden/README.md): builds
# golden.c, records it, writes one checkpoint of each kind the format has
# and the expected states. Run it only when the checkpoint format's major
# version changes, into a new folder; never over a set already committed.
#
#   tests/golden/regenerate.sh RR OUTDIR      (e.g. build/rr tests/golden/v8)
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 RR OUTDIR" >&2
  exit 2
fi
rr=$(realpath "$1")
out=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ -e "$out" ]; then
  echo "$out exists: a committed golden set is never regenerated, make a new one" >&2
  exit 1
fi
mkdir -p "$out/expected"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O1 -g0 -static -nostdlib -fno-stack-protector -fcf-protection=none -o "$work/golden" "$here/golden.c"
# A fixed, small environment: the stack the checkpoints hold stays the same
# whoever regenerates.
(cd "$work" && env -i PATH=/usr/bin:/bin "$rr" record -q -o "$out/trace" ./golden > "$out/expected/output.txt")
trace=$out/trace
# Event 10: full, codec none (2.x: no shared memory yet). Event 14:
# incremental on 10 (5.x). Event 24: full with the shared mapping, zlib
# (4.x). Event 36: full, after the program tagged pages with protection keys
# (7.x). Event 39: incremental on 36 (7.x).
"$rr" create-checkpoints --full --codec none -s 10 -i 100 -e 10 "$trace"
"$rr" create-checkpoints --codec zstd -s 14 -i 100 -e 14 "$trace"
"$rr" create-checkpoints --full --codec zlib -s 24 -i 100 -e 24 "$trace"
"$rr" create-checkpoints --full --codec zstd -s 36 -i 100 -e 36 "$trace"
"$rr" create-checkpoints --codec zstd -s 39 -i 100 -e 39 "$trace"
# Two gdb checkpoints inside event 2, in the loop that fills the private
# memory: 500 instructions in, named by the hardware breakpoint counters
# (3.x: a position inside an event), and 700 instructions in, named by the
# progress counter's ticks (6.x: tick pieces).
printf 'stepi 500\ncheckpoint\nwrite-checkpoints\n' > "$work/s.gdb"
RR_GDB_TICKS=0 "$rr" replay -g 2 "$trace" -- -batch -nx -x "$work/s.gdb" > /dev/null
printf 'stepi 700\nwhen-position\ncheckpoint\nwrite-checkpoints\n' > "$work/t.gdb"
RR_GDB_COUNTERS=0 "$rr" replay -g 2 "$trace" -- -batch -nx -x "$work/t.gdb" > /dev/null
for ev in 10 14 24 36 39; do
  "$rr" state -g "$ev" "$trace" > "$out/expected/state-$ev.txt"
done
# What gdb shows at each gdb checkpoint, in load-checkpoints' numbering.
for n in 1 2; do
  printf 'load-checkpoints\nrestart %d\ninfo registers rip rax rcx\nx/4xb $rax-3\n' "$n" > "$work/p.gdb"
  "$rr" replay "$trace" -- -batch -nx -x "$work/p.gdb" 2>&1 | grep -E '^(rip|rax|rcx) |^0x[0-9a-f]+:' > "$out/expected/position-$n.txt"
done
# The format version of each file, from its header (major, minor at byte 8).
for f in "$trace"/checkpoints/*.rrcp; do
  python3 -c 'import struct, sys; print(sys.argv[2], "%d.%d" % struct.unpack_from("<II", open(sys.argv[1], "rb").read(16), 8))' "$f" "$(basename "$f")"
done > "$out/expected/versions.txt"
# Every kind the format has must be in the set, a file of each major from 2
# to the newest: a machine without breakpoint counters (3) or protection
# keys (7) cannot make one. (A new major's kind needs a line above too.)
majors=$(cut -d' ' -f2 "$out/expected/versions.txt" | cut -d. -f1 | sort -n -u | tr '\n' ' ')
newest=$(echo $majors | awk '{print $NF}')
if [ "$majors" != "$(seq -s ' ' 2 "$newest") " ] || [ "$newest" -lt 7 ]; then
  echo "the set has checkpoints of majors $majors, not each of 2 to the newest, 7 or later (breakpoint counters and protection keys are needed): not a complete set" >&2
  exit 1
fi
cat "$out/expected/versions.txt"
