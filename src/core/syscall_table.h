// What the engine knows about each x86-64 syscall, as data: its name, how
// replay treats it, and which tracee memory the kernel writes when it
// returns. Recording walks this table at every syscall exit; a syscall that
// is not in it stops recording with an error that names it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/types.h"

namespace rr {

// How replay treats a syscall.
enum class ReplayPolicy : uint8_t {
  // Not executed in replay: the recorded return value and the recorded memory
  // writes are applied instead (read, write, open, stat, clock_gettime...).
  Emulate,
  // Executed for real in replay with the same arguments (the tracee's memory
  // and registers are identical, so the arguments are valid), and the result
  // checked against the recording. For state the kernel keeps about the task:
  // rt_sigaction, rt_sigprocmask, sigaltstack, arch_prctl, set_tid_address,
  // set_robust_list, rseq.
  ExecuteSame,
  // Shapes the address space; replay has dedicated code (mmap of a file maps
  // the trace's copy, brk is executed, ...): mmap, munmap, mprotect, mremap,
  // brk, madvise, pkey_mprotect, mlock family where it matters.
  MemoryMap,
  // rt_sigreturn: executed for real in replay, and the registers it restores
  // are kept (they are checked against the recording at the next event).
  Sigreturn,
  // execve, execveat.
  Exec,
  // exit, exit_group.
  Exit,
  // fork, vfork, clone, clone3: executed for real in replay, so that the new
  // task exists; the new task's tid is the recorded one as the program sees
  // it. A vfork runs as a fork in replay (the child's image is rebuilt, not
  // executed, and must not replace the parent's memory).
  Clone,
  // Recording refuses it with a "not supported yet" error: anything whose effects the engine cannot reproduce yet
  // (io_uring_*, ptrace, userfaultfd, ...).
  Unsupported,
};

// One stretch of tracee memory the kernel wrote during a syscall.
struct MemRange {
  RemotePtr addr;
  uint64_t len = 0;
  bool operator==(const MemRange&) const = default;
};

// A syscall as seen at its exit stop.
struct SyscallArgs {
  int64_t nr = -1;
  uint64_t arg[6] = {0, 0, 0, 0, 0, 0};
  int64_t ret = 0;  // the raw return value; -4095..-1 is an error
  bool failed() const { return ret < 0 && ret >= -4095; }
};

// Reads memory of the stopped tracee. Returns false when the range cannot be
// read (unmapped): the table then treats the pointer as absent.
class SyscallMemReader {
 public:
  virtual ~SyscallMemReader() = default;
  virtual bool read(RemotePtr addr, void* buf, size_t len) = 0;
};

// What the table says about one syscall number.
struct SyscallDesc {
  int nr = -1;
  const char* name = nullptr;
  ReplayPolicy policy = ReplayPolicy::Emulate;
};

// The description of `nr`, or nullptr when the table does not know it.
const SyscallDesc* syscall_desc(int64_t nr);

// The kernel's name for `nr` ("read", "openat"); for numbers outside the
// table "syscall_<nr>".
std::string syscall_name(int64_t nr);

// The number of the syscall named `name`, or -1.
int64_t syscall_number(const std::string& name);

// Appends to `out` every range of tracee memory the kernel wrote during the
// syscall described by `call` (at its exit stop). A failed syscall writes
// nothing, except where the kernel writes on failure too. Returns an empty
// string on success, or a one-line reason why this call cannot be recorded
// (an unknown syscall, an ioctl request the table does not know, ...).
std::string syscall_outputs(const SyscallArgs& call, SyscallMemReader& mem,
                            std::vector<MemRange>& out);

// The clone flags of a fork, vfork, clone or clone3 call (clone3 reads them
// from its argument struct); fork is SIGCHLD, vfork CLONE_VM|CLONE_VFORK|SIGCHLD.
// Returns false when clone3's struct cannot be read.
bool clone_flags(const SyscallArgs& call, SyscallMemReader& mem, uint64_t* flags);

}  // namespace rr
