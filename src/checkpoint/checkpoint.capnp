# A persistent checkpoint: the whole state of a replay at one event, in one
# self-contained file checkpoints/<event>.rrcp of the trace directory.
#
# File layout (little-endian):
#   bytes 0..63   header: magic "RRCKPT\0\1" (8), u32 formatMajor, u32 formatMinor,
#                 trace uuid (16), u64 event, u64 info offset, u64 info size (bytes),
#                 u64 XXH64 of the info bytes
#   info          one CheckpointInfo message (Cap'n Proto, unpacked, framed)
#   page data     blocks named by CheckpointInfo.blocks; blocks stored with codec
#                 "none" start page-aligned so that a reader could map them
# Field numbers are never reused.
@0xb8d1c2e4f5a69371;

$import "/capnp/c++.capnp".namespace("rr::ckpt");
using Trace = import "../trace/trace.capnp";

struct CheckpointInfo {
  event @0 :UInt64;              # the last event applied; replay continues with the next
  traceUuid @1 :Data;            # the trace this checkpoint belongs to (16 bytes)
  createdAtNs @2 :UInt64;        # wall-clock creation time, ns since the epoch
  eventsBlock @3 :UInt64;        # events stream position of the next frame: block file offset
  eventsIndex @4 :UInt32;        #   and record index in that block
  counters @5 :Counters;
  fds @6 :List(FdEntry);
  processes @7 :List(ProcessState);
  blocks @8 :List(PageBlock);
  residentBytes @9 :UInt64;      # bytes of tracee memory present (resident or swapped) when written
  # Since format 2.0 (several processes and threads):
  initialTid @10 :Int32;         # recorded pid of the trace's first process (its exit is the program's)
  initialExited @11 :Bool;       # that process has ended; exitCode / killedBy say how
  exitCode @12 :Int32;
  killedBy @13 :Int32;           # signal number, 0 when it exited
  # Since format 2.1: a point inside the event after `event`, where a gdb
  # checkpoint was taken. Such files are named <event>-<n>.rrcp (not
  # <event>.rrcp), so that they never seed `-g EVT` as the state at `event`.
  position @14 :List(Piece);
  # Since format 4.0: memory that processes share, and replay's own copies
  # of System V segments and emulated files (checkpoint/shared_objects.h).
  # A reader older than 4.0 would map such memory unshared and empty; it
  # refuses the file by its major version.
  objects @15 :List(SharedObject);
  # Since format 5.0: an incremental checkpoint, whose pages may be stored in
  # this earlier full checkpoint of the trace (PageRef.inBase). A reader
  # older than 5.0 would miss those pages; it refuses the file by its major.
  base @16 :BaseRef;
  # Since format 6.0: the progress counter's ticks the event's user code had
  # made at `position` (a hint for going back by ticks from the point; with
  # a tick piece in `position`, a reader older than 6.0 would take it for a
  # run to no breakpoint, and refuses the file by its major).
  positionTicksKnown @17 :Bool;
  positionTicks @18 :UInt64;
}

# The earlier checkpoint an incremental one takes unchanged pages from
# (itself full or incremental, to a depth of 9): the file
# checkpoints/<event>.rrcp whose header has this info checksum (a file
# written again at that event is another one, and the incremental one is
# then unusable, reported as such). Base block numbers count the base's
# own blocks first, then its base's, and so on.
struct BaseRef {
  event @0 :UInt64;              # 0: none, a full checkpoint
  infoChecksum @1 :UInt64;
}

# One object of shared memory: every mapping of it, in any process, names
# it (ProcessState.objectMaps), and a restore makes it once.
struct SharedObject {
  kind @0 :UInt8;                # 0 anonymous MAP_SHARED memory, 1 replay's copy of a System V
                                 # segment, 2 replay's copy of an emulated file
  size @1 :UInt64;               # bytes
  file @2 :Text;                 # kind 2: the trace file it is the copy of
  shmId @3 :Int64;               # kind 1: the recording's segment id
  removed @4 :Bool;              # kind 1: shmctl(IPC_RMID) was done
  pages @5 :List(PageRef);       # pages not zero; PageRef.addr is the offset in the object
}

# A mapping of a shared object: image mapping `mapping` of the process maps
# object `object` (at the mapping's offset), shared.
struct ObjectMap {
  mapping @0 :UInt32;            # index into ProcessState.image.mappings
  object @1 :UInt32;             # index into CheckpointInfo.objects
  writable @2 :Bool;             # its descriptor allowed writing (smaps VmFlags "mw")
}

# One piece of user code run since the event (see Piece in replay/position.h):
# `count` single steps, or `count` runs each to the next hit of the
# breakpoints and watchpoints listed (files before 2.2 always have 1).
struct Piece {
  step @0 :Bool;
  count @1 :UInt32;
  breaks @2 :List(UInt64);       # software breakpoint addresses
  watches @3 :List(Watch);       # debug-register breakpoints and watchpoints
  until @4 :UInt64;              # 2.2, nonzero: a counted piece, to just before
                                 # execution number `count` of this instruction
  whole @5 :Bool;                # 3.0: with `until`, the position (event, until,
                                 # count): `until` ran `count` times since the
                                 # event's user code began
  ticks @6 :Bool;                # 6.0: a tick piece: to the point where the
                                 # event's user code has made `count` ticks of
                                 # the progress counter (docs/progress-counter.md)
}

struct Watch {
  addr @0 :UInt64;
  len @1 :UInt8;
  kind @2 :UInt8;                # 0 execute, 1 write, 3 read, 4 access
}

# Supervisor statistics, so that `rr state` is the same on every road.
struct Counters {
  syscalls @0 :UInt64;
  emulated @1 :UInt64;
  executed @2 :UInt64;
  signals @3 :UInt64;
  rdtsc @4 :UInt64;
  bytesWritten @5 :UInt64;       # tracee memory written from the trace, bytes
}

# One entry of the emulated fd table.
struct FdEntry {
  fd @0 :Int32;
  kind @1 :UInt8;                # 0 stdin, 1 stdout, 2 stderr, 3 other, 4 own /proc/PID/mem (FdTable::Kind)
  cloexec @2 :Bool;
}

struct ProcessState {
  image @0 :Trace.ExecImage;     # mappings and mm fields; its `pages` list is empty here
  pages @1 :List(PageRef);       # pages whose contents are stored in this file
  tasks @2 :List(TaskState);     # the thread group leader first
  # Since format 2.0; a 1.x file has one process whose fds are CheckpointInfo.fds:
  tgid @3 :Int32;                # recorded process id
  fds @4 :List(FdEntry);         # the process's fd table as replay tracks it
  # Since format 4.0:
  objectMaps @5 :List(ObjectMap);  # its mappings of shared objects
  fdTableOf @6 :Int32;           # nonzero: it shares the fd table of this earlier process (CLONE_FILES)
  # Since format 7.0 (a 6.x reader would restore the pages untagged and the
  # keys not allocated: the file is written as 7.0 only where either is set):
  pkeys @7 :UInt16;              # bit k: the process holds protection key k (pkey_alloc)
}

# Where one page's 4096 bytes are: identical pages share one stored copy.
struct PageRef {
  addr @0 :UInt64;               # tracee address
  block @1 :UInt32;              # index into CheckpointInfo.blocks
  offset @2 :UInt32;             # byte offset in the block's raw (decompressed) data
  inBase @3 :Bool;               # 5.0: `block` is one of the base checkpoint's (CheckpointInfo.base)
}

# A run of page data, compressed as a whole.
struct PageBlock {
  fileOffset @0 :UInt64;         # where the stored bytes start in the file
  storedSize @1 :UInt32;         # bytes in the file
  rawSize @2 :UInt32;            # bytes after decompression (a multiple of 4096)
  codec @3 :UInt8;               # 0 none, 1 zstd, 2 zlib
  checksum @4 :UInt64;           # XXH64 of the raw bytes
  pageHashes @5 :Data;           # since 4.1, 3.3, 2.5: XXH128 of each page of the raw data (16 bytes
                                 # each, low half first), which a later incremental checkpoint
                                 # compares its pages with instead of reading these
}

struct TaskState {
  recordedTid @0 :Int32;
  regs @1 :Trace.Registers;      # general-purpose registers, fs/gs base included
  xsave @2 :Data;                # XSAVE area (FPU, SSE, AVX)
  sigmask @3 :UInt64;            # blocked signals
  sigactions @4 :List(SigAction);  # every signal whose action is not the default
  altStackSp @5 :UInt64;         # sigaltstack: base, flags and size
  altStackFlags @6 :Int32;
  altStackSize @7 :UInt64;
  robustListHead @8 :UInt64;     # set_robust_list
  robustListLen @9 :UInt64;
  tidAddress @10 :UInt64;        # set_tid_address (clear_child_tid)
  atSyscallEntry @11 :Bool;      # since 2.0: stopped at the entry of a syscall whose end is a later
                                 # event (a blocking syscall); regs are those at the entry
  seccompFiltered @12 :Bool;     # since 3.1 (2.3): a seccomp filter governed it in the recording
                                 # (ReplayTask::filtered); older files: none did
  altStackNeverSet @13 :Bool;    # since 7.1 (6.1, 5.1, 4.2, 3.4, 2.6): it never had an alternate
                                 # signal stack (altStackFlags, as sigaltstack answers, is SS_DISABLE
                                 # all the same); its signal frames show uc_stack.ss_flags 0, not the 2
                                 # of a stack dropped (an older reader drops it: its frames show 2)
}

struct SigAction {
  signo @0 :Int32;
  raw @1 :Data;                  # struct kernel_sigaction (32 bytes: handler, flags, restorer, mask)
}
