# The trace format. A trace directory holds:
#   version         one line: the format version, e.g. "1"
#   header          one TraceHeader message (Cap'n Proto, unpacked, framed)
#   events          a block stream (see block_stream.h) of Frame messages, one per event
#   files/          copies of every file the program mapped, named NAME-N (N: the order stored)
#   shared-files    trace files replay keeps an emulated copy of, one per line: the
#                   program mapped them from a descriptor open for writing (format 1.6
#                   on; before, MAP_SHARED and writable)
#   sums            "<XXH3-64 hex> <size> <path>" per line for header, shared-files and
#                   each files/ copy, appended as they are written (format 1.3; trace_sums.h)
#   checkpoints/    persistent checkpoints (see checkpoint.capnp)
# Field numbers are never reused. Units are in the field comments.
@0xd6f2a61c9e3b8a47;

$import "/capnp/c++.capnp".namespace("rr::trace");

# Written once when recording starts.
struct TraceHeader {
  formatMajor @0 :UInt32;     # readers refuse a major version newer than theirs
  formatMinor @1 :UInt32;     # additions that older readers can ignore
  uuid @2 :Data;              # 16 random bytes naming this trace; checkpoints carry it
  arch @3 :Text;              # "x86_64"
  exePath @4 :Text;           # the program as the user named it, resolved to an absolute path
  argv @5 :List(Text);        # the program's arguments, argv[0] first
  envCount @6 :UInt32;        # number of environment entries passed to the program
  cwd @7 :Text;               # working directory at record time
  recordedAtNs @8 :UInt64;    # wall-clock time when recording started, ns since the epoch
  cpuid1Ecx @9 :UInt32;       # CPUID leaf 1 ECX on the recording machine (features seen)
  cpuid7Ebx @10 :UInt32;      # CPUID leaf 7 subleaf 0 EBX
  xsaveSize @11 :UInt32;      # bytes of the XSAVE area (PTRACE_GETREGSET NT_X86_XSTATE)
  kernelRelease @12 :Text;    # uname -r of the recording machine
  boundCpu @13 :Int32;        # the CPU every tracee was pinned to; replay pins to the same one,
                              # because cpuid (APIC ids) and the kernel's CPU numbers depend on it
  stackLimit @14 :Rlimit;     # the program's RLIMIT_STACK at the start (format 1.4 on): replay's
                              # processes get the same, since where a deep recursion faults
                              # depends on it; absent in older traces
  chaos @15 :Bool;            # format 1.15 on: recorded with --chaos (random timeslices and
                              # thread priorities; replay follows the recorded switches)
  chaosSeed @16 :UInt64;      # with chaos: the seed every random draw came from
}

# A resource limit (struct rlimit); RLIM_INFINITY is 2^64-1.
struct Rlimit {
  cur @0 :UInt64;             # the soft limit, in the resource's unit (bytes for the stack)
  max @1 :UInt64;             # the hard limit
}

# x86-64 general-purpose registers, in the order of struct user_regs_struct.
struct Registers {
  raw @0 :Data;               # the 27 64-bit fields of user_regs_struct, little-endian (216 bytes)
}

# A byte range the kernel wrote into tracee memory during a syscall.
struct MemWrite {
  addr @0 :UInt64;            # tracee address
  data @1 :Data;              # the bytes written there
}

# One mapping of a process, as /proc/PID/maps describes it.
struct Mapping {
  start @0 :UInt64;           # first address, page aligned
  end @1 :UInt64;             # one past the last address, page aligned
  prot @2 :UInt32;            # PROT_READ|PROT_WRITE|PROT_EXEC bits
  shared @3 :Bool;            # MAP_SHARED (else MAP_PRIVATE)
  offset @4 :UInt64;          # file offset of `start`, bytes (0 for anonymous)
  name @5 :Text;              # the path or pseudo name shown by /proc/PID/maps ("[stack]", "")
  backing :union {
    anonymous @6 :Void;       # zero-filled memory; contents in `pages`
    file @7 :Text;            # file in the trace's files/ folder that backs it
    special @8 :Void;         # kernel pages ([vdso], [vvar], [vsyscall]): moved, never written
  }
  growsDown @9 :Bool;         # the stack mapping, grows on faults below it
  noReserve @10 :Bool;        # made with MAP_NORESERVE, and rebuilt with it (the kernel would refuse
                              # a reservation of terabytes without). Set in checkpoints (2.4 and 3.2
                              # on); a new exec image has no such mapping, so traces never set it
  pkey @11 :UInt8;            # the protection key its pages are tagged with (pkey_mprotect), and
                              # tagged again with; 0 is the default key. Set in checkpoints (7.0 on)
}

# Contents of one page that differs from what its backing provides.
struct Page {
  addr @0 :UInt64;            # tracee address of the page
  data @1 :Data;              # exactly 4096 bytes
}

# The values prctl(PR_SET_MM_MAP) sets: where the kernel thinks things are.
struct MmFields {
  startCode @0 :UInt64;
  endCode @1 :UInt64;
  startData @2 :UInt64;
  endData @3 :UInt64;
  startBrk @4 :UInt64;
  brk @5 :UInt64;             # current program break
  startStack @6 :UInt64;
  argStart @7 :UInt64;
  argEnd @8 :UInt64;
  envStart @9 :UInt64;
  envEnd @10 :UInt64;
  auxv @11 :Data;             # the saved auxiliary vector, as /proc/PID/auxv shows it
  exeFile @12 :Text;          # trace file (files/...) that /proc/PID/exe names
}

# The whole user-visible state of a process right after execve: replay
# rebuilds exactly this in a fresh process instead of executing the program
# file, so replay never depends on the file system.
struct ExecImage {
  mappings @0 :List(Mapping);
  pages @1 :List(Page);       # non-zero pages of anonymous mappings, changed pages of file ones
  mm @2 :MmFields;
  regs @3 :Registers;         # registers at the exit of execve
  xsave @4 :Data;             # XSAVE area at the exit of execve
  exePath @5 :Text;           # path the program was executed as
  argv @6 :List(Text);        # the command line the new image received (for `rr ps`)
  progressCounter @7 :ProgressCounterSetup;  # format 1.10 on, the initial image of a recording
                              # made with --progress-counter, and (format 1.14 on) every later
                              # image of one: the counter page and the executable's rewriting,
                              # which replay applies as is
  codeCounters @8 :List(ProgressCounterSetup);  # format 1.14 on, with progressCounter: the
                              # rewriting of the image's other code (the dynamic loader), applied
                              # in this order after progressCounter's
  randomSites @9 :List(UInt64);  # format 1.17 on: the rdrand and rdseed of the image's code
                              # (executable and loader) turned into traps at the exit of execve
                              # (core/random_insns.h): addresses of the bytes that became
                              # kRandomTrapByte; replay patches the same
}

# The software progress counter of a process (docs/progress-counter.md): its
# counter page, and the stubs and code bytes that make every covered taken
# branch count. The recorder planned them (core/branch_rewriter.h); replay
# maps and writes exactly these, after the image is in place.
struct ProgressCounterSetup {
  counterPage @0 :UInt64;     # the counter page (rw-, one page): counted branches left
                              # before the trap at +0, the stubs' saved rcx at +8
  stubBase @1 :UInt64;        # the stub area (r-x, anonymous, page aligned)
  stubs @2 :Data;             # before format 1.21: its contents from stubBase on (one stub
                              # per branch target, kStubSize or, format 1.19 on,
                              # kLeanStubSize bytes; 1.19's
                              # lean stubs left flags that depend on the count, 1.20's do not)
  patches @3 :List(MemWrite); # before format 1.21: bytes written into the program's code
                              # (displacements, islands)
  counted @4 :UInt32;         # branches that count
  uncovered @5 :UInt32;       # candidate branches left uncounted (no island in reach)
  textStart @6 :UInt64;       # the code section rewritten, [textStart, textEnd)
  textEnd @7 :UInt64;
  spinSites @8 :List(UInt64); # format 1.16 on: backward jumps whose loop does nothing (nops
                              # and pauses only), whose first byte is made an int3; each is
                              # listed in the counter page (count at +16, addresses from +24)
                              # while it has room, in this order
  pollSites @9 :List(UInt64); # format 1.18 on: backward conditional branches left uncounted
                              # whose loop only reads memory (core/branch_rewriter.h), whose
                              # first byte is made an int3; listed in the counter page after
                              # the spin sites, tagged (bit 56) with their first byte at
                              # bits 48-55
  planFile @10 :Text;         # format 1.21 on: the trace file (plans/<XXH3-128 of its bytes>)
                              # that holds the plan: the stubs (from stubBase on), the code
                              # patches, the spin and poll sites, in the plan store's layout
                              # (core/plan_store.h, serialize_plan), listed in sums. stubs,
                              # patches, spinSites and pollSites are then empty. Processes
                              # that map the same code at the same place name the same file
  image @11 :Text;            # format 1.23 on, when the recorder mapped one: the trace file
                              # (images/<key>, core/code_image.h, listed in sums) holding the
                              # mapping [imageStart, imageStart + imageLength) with the plan's
                              # patches applied, at file offset imageOffset; replay maps it there
                              # (private, imageProt) instead of writing the patches, and writes
                              # them where it cannot map it: the same bytes either way
  imageStart @12 :UInt64;
  imageLength @13 :UInt64;
  imageOffset @14 :UInt64;
  imageProt @15 :UInt32;
  stubsImage @16 :Text;       # format 1.23 on, when the recorder mapped one: the trace file
                              # (images/<key>) holding the stubs from stubBase on, the rest of
                              # the last of its stubsImageLength bytes zeros; replay maps it at
                              # stubBase (private, r-x) instead of writing the stubs
  stubsImageLength @17 :UInt64;
}

# The progress counter's trap (format 1.10 on): the thread made `ticks`
# counted branches since its previous event and the recorder stopped it
# there, to let another thread run or to deliver a signal. Replay arms the
# counter with `ticks` at the thread's previous event and runs to the trap.
struct ProgressEvent {
  ticks @0 :UInt64;           # counted branches since the thread's previous event (>= 1);
                              # 0 with spin
  regs @1 :Registers;         # registers at the trap (rip just after the stub's int3; with
                              # spin, rip at the spin site's jump)
  spin @2 :Bool;              # format 1.16 on: the trap of a spin site (ProgressCounterSetup.
                              # spinSites) the thread reached: it stays there until a signal
                              # or its death. Replay runs it to that trap without arming the
                              # counter (a spin site traps at every thread's first turn)
  poll @3 :Bool;              # format 1.18 on: the taken branch of a poll site (Progress-
                              # CounterSetup.pollSites), rip at its target, ticks 0: every
                              # taken one is an event. Replay runs the thread to its first
                              # taken poll site without arming the counter (the recorder and
                              # replay make the untaken ones themselves)
}

# A mapping a syscall created, with where its contents come from in replay.
struct MapResult {
  start @0 :UInt64;
  length @1 :UInt64;          # bytes, page aligned
  prot @2 :UInt32;
  flags @3 :UInt32;           # the mmap flags the program passed
  offset @4 :UInt64;          # file offset, bytes
  file @5 :Text;              # trace copy that backs it; empty for anonymous
  shmId @6 :Int64 = -1;       # format 1.5 on: shmat's segment (as the program named it);
                              # -1 for mmap and mremap
}

# A syscall, recorded at its exit.
struct SyscallEvent {
  number @0 :Int64;           # syscall number (orig_rax)
  entryRegs @1 :Registers;    # registers at the entry stop (checked in replay)
  result @2 :Int64;           # return value (rax at exit)
  writes @3 :List(MemWrite);  # every byte the kernel wrote into the tracee
  echoFd @4 :Int32;           # 1 or 2 when the call wrote to the original stdout/stderr, else 0
  map @5 :MapResult;          # set for mmap/mremap of a file
  hasMap @6 :Bool;
  exitRegs @7 :Registers;     # registers at the exit stop (checked for Sigreturn/ExecuteSame)
  image @8 :ExecImage;        # for a successful execve: the new image
  cloneFlags @9 :UInt64;      # for fork, vfork, clone, clone3: the clone flags used
  echo @10 :Echo;             # set with echoFd (format 1.2 on): what the call wrote there;
                              # absent in older traces, whose echo replay does not check
  newFdKind @11 :UInt8;       # format 1.4 on: what the descriptor the call returned is, where
                              # the syscall's arguments do not show it: 1 the original stdout,
                              # 2 stderr (pidfd_getfd, open of /dev/stdout; the recorder compared
                              # the files), 4 a /proc/PID/mem open for writing (the process's
                              # own; from format 1.9 on also another recorded one's); 0 nothing
                              # to say
                              # (FdTable::Kind numbers)
  fileChanges @12 :List(FileChange);  # format 1.6 on: what the call did to files that
                              # replay emulates (shared-files), in order
  childTid @13 :Int32;        # format 1.7 on: for fork, vfork, clone, clone3 that made a task,
                              # the task (its tid as the recorder saw it); `result` is its pid
                              # as the caller saw it, which differs in a PID namespace the
                              # program created. 0 in older traces: `result` is the task
  childNsTids @14 :List(Int32);  # format 1.7 on, with childTid: the new task's tids in the PID
                              # namespaces below the recorder's, outermost first, its own
                              # namespace's last (the NSpid line of /proc/TID/status after
                              # its first field); empty when it lives in the recorder's
  ptraceTracee @15 :Int32;    # format 1.9 on: a ptrace request of a tracer inside the recording,
                              # or a write through /proc/PID/mem, that changed another task (this
                              # tid): replay makes the same changes to it after applying the call;
                              # 0 for every other call
  traceeRegs @16 :Registers;  # with ptraceTracee: the tracee's registers after the call, when the
                              # call set them (SETREGS, SETREGSET, POKEUSER)
  traceeWrites @17 :List(MemWrite);  # with ptraceTracee: bytes the call wrote into the tracee's
                              # memory (POKEDATA, POKETEXT, a write to its /proc/PID/mem)
  traceeXsave @18 :Data;      # with ptraceTracee: its XSAVE area after the call, when the call
                              # set its FPU registers (SETFPREGS, SETREGSET); empty otherwise
  traceeStep @19 :Bool;       # format 1.11 on, with ptraceTracee: the call resumed the tracee
                              # for one instruction (PTRACE_SINGLESTEP, or SYSEMU_SINGLESTEP
                              # away from a syscall): its next stretch of user code is one step
  skippedByTracer @20 :Bool;  # format 1.11 on: the call's entry stopped for a tracer inside the
                              # recording that resumed it with PTRACE_SYSEMU: the kernel did not
                              # run it, `result` is what the tracer left in rax, and it has no
                              # outputs
  traceeDebugReg @21 :Int8 = -1;  # format 1.13 on, with ptraceTracee: the debug register (0-7)
                              # the call set in the tracee (PTRACE_POKEUSER), to
                              # `traceeDebugValue`; -1 for none
  traceeDebugValue @22 :UInt64;
  counter @23 :ProgressCounterSetup;  # format 1.14 on (--progress-counter): for an mmap that
                              # made executable code of a file (a shared library), the rewriting
                              # of its .text the recorder applied at the call's exit; replay
                              # applies it after the call. Absent when nothing was rewritten
  randomSites @24 :List(UInt64);  # format 1.17 on: for an mmap that made executable code of a
                              # file, its rdrand and rdseed turned into traps at the call's exit
                              # (as ExecImage.randomSites)
}

# A change a syscall (write, pwrite64, ftruncate, fallocate...) made to a file
# that replay keeps an emulated copy of: replay makes the same change to its
# copy, so that every mapping of it sees what it saw in the recording, and a
# page past the file's end faults (SIGBUS) where it did.
struct FileChange {
  file @0 :Text;              # the emulated file: the trace copy its first mapping named
  offset @1 :UInt64;          # bytes into the file where `data` or the zeros start
  data @2 :Data;              # the bytes the file holds there after the call
  zeroLength @3 :UInt64;      # bytes from `offset` that read as zeros after the call (a
                              # hole: punched, or never written); 0 when `data` is set
  size @4 :UInt64;            # the file's size after the call, bytes
}

# What a syscall wrote to the original stdout or stderr (SyscallEvent.echoFd),
# so that `replay -a` echoes exactly that and reports a divergence when the
# bytes it finds in replay differ.
struct Echo {
  length @0 :UInt64;          # bytes the call wrote to the descriptor
  hash @1 :UInt64;            # XXH64 (seed 0) of those bytes; 0 when `lost`
  data @2 :Data;              # the bytes themselves when they never passed through tracee
                              # memory (sendfile, splice, tee, copy_file_range); else empty,
                              # and replay finds them in tracee memory as the table says
  lost @3 :Bool;              # the recorder could not capture them (spliced from a pipe or
                              # socket that was empty at the call's entry into a stdout that
                              # is not a regular file): replay -a says so instead of echoing
}

# The entry of a syscall that did not return before another task had to run
# (it blocked, or took long): the task's user code up to here ran before the
# events that follow, and its SyscallEvent comes later. Replay runs the task
# to the entry and leaves it there.
struct SyscallEntryEvent {
  number @0 :Int64;           # syscall number
  regs @1 :Registers;         # registers at the entry stop (checked in replay)
  childTid @2 :Int32;         # for a vfork (or a clone) whose parent waits: the new task,
                              # which replay creates at this event because it runs next
  cloneFlags @3 :UInt64;      # with childTid: the call's clone flags (CLONE_THREAD: a thread,
                              # not a process); 0 in traces before it was kept
  childNsTids @4 :List(Int32);  # with childTid (format 1.7 on): as SyscallEvent.childNsTids
}

# A signal delivered to the tracee.
struct SignalEvent {
  signo @0 :Int32;
  siginfo @1 :Data;           # the 128-byte siginfo_t delivered
  synchronous @2 :Bool;       # caused by the instruction at rip; recurs by itself in replay
  regs @3 :Registers;         # registers at the signal-delivery stop
  deliver @4 :Bool;           # false when the recorder suppressed it (never seen by the program)
  # For a signal with a handler, the parts of its frame the kernel writes from
  # outside the program's control; replay writes the recorded ones over its own.
  frameFpu @5 :Data;          # the FPU image (XSAVE); its contents depend on timing on AMD CPUs
  frameErr @6 :UInt64;        # sigcontext err: error code of the thread's last trap
  frameTrapno @7 :UInt64;     # sigcontext trapno: number of the thread's last trap
  frameCr2 @8 :UInt64;        # sigcontext cr2: address of the thread's last page fault
}

# rdtsc or rdtscp trapped and emulated.
struct RdtscEvent {
  regs @0 :Registers;         # registers at the trap, rip at the instruction
  tsc @1 :UInt64;             # the value returned in edx:eax
  aux @2 :UInt32;             # ecx for rdtscp (TSC_AUX)
  rdtscp @3 :Bool;
  # Format 1.5 on: the trap's SIGSEGV, forced by the kernel, unblocked a
  # blocked SIGSEGV and reset its handler; the recorder put back the mask
  # (segvReblocked) and the handler (segvHandler, 0 when SIG_DFL stays).
  segvReblocked @4 :Bool;
  segvHandler @5 :UInt64;
  # Format 1.17 on: the trap of an rdrand or rdseed made a ud2 (a SIGILL,
  # forced like the SIGSEGV above, whose two fields then name SIGILL's mask
  # and handler); `tsc` is the value the instruction returned.
  random @6 :Bool;
}

# The end of a task. A fork, vfork or clone is a SyscallEvent of the parent
# whose result is the new task's recorded tid; the new task's first event
# names it in `tid`.
struct ExitEvent {
  exitCode @0 :Int32;         # valid when not killed
  killedBy @1 :Int32;         # signal number when killed by a signal, else 0
  coreDumped @2 :Bool;
}

# One event of the recording.
struct Frame {
  event @0 :UInt64;           # global event number, from 1
  tid @1 :Int32;              # recorded tid of the task the event happened in
  union {
    exec @2 :ExecImage;       # the first exec: the initial image
    syscall @3 :SyscallEvent;
    signal @4 :SignalEvent;
    rdtsc @5 :RdtscEvent;
    exit @6 :ExitEvent;       # a task ended; for a process, its exit status
    syscallEntry @7 :SyscallEntryEvent;
    progress @9 :ProgressEvent;  # format 1.10 on
  }
  fpuDigest @8 :UInt64;       # format 1.8 on: fpu_digest (trace/fpu_digest.h, XXH3-64 of the
                              # XSAVE area without the bytes that are no state) of the task's
                              # FPU/SSE/AVX state once the event has happened: at a syscall's
                              # exit, a blocked syscall's entry (syscallEntry), a signal's
                              # delivery stop (before any handler runs), the rdtsc trap.
                              # Replay compares its task's after the event, and a restored
                              # checkpoint's task of its event. 0: not recorded (older traces,
                              # exec, exit, exit and exit_group, whose task does not go on)
  syscallBuffer @10 :Data;    # format 1.12 on (rr record --syscall-buffer): the records of the
                              # syscalls the task made without a stop since the buffer was
                              # last emptied (src/preload/syscall_buffer.h: rr_buffer_record
                              # after rr_buffer_record, each {number, result, size, output
                              # length, output bytes}); replay writes them into the task's
                              # buffer before running the user code that leads to this event
  lockedBuffers @11 :List(Int32);  # format 1.22 on: recorded tids whose process's syscall
                              # buffer the recorder locked during this event (a tracer inside
                              # the recording, a seccomp filter of the program); replay locks
                              # them too once the event is applied, so that the library runs
                              # the same code in both roads there (a tracer may single-step it)
  fdGate @12 :Data;           # format 1.24 on: the fd gate (struct rr_fd_gate, src/preload/
                              # syscall_buffer.h) the recorder wrote into the process's buffer
                              # before the stretch of user code that led to this event; replay
                              # writes the same bytes there before running it, so that the
                              # process's memory is the recording's (replay's library never
                              # reads the gate; a writer of checkpoints that copies the
                              # recorded processes needs the two to agree)
}
