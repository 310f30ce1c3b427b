// What the engine knows about each x86-64 syscall, as data: its name, how
// replay treats it, and which tracee memory the kernel writes when it
// returns. Recording walks this table at every syscall exit; a syscall that
// is not in it stops recording with an error that names it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/registers.h"
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
  // set_robust_list (rseq is refused while recording, so replay emulates it),
  // and the mlock family (madvise fails on locked pages).
  ExecuteSame,
  // Shapes the address space; replay has dedicated code (mmap of a file maps
  // the trace's copy, brk is executed, ...): mmap, munmap, mprotect, mremap,
  // brk, madvise, pkey_mprotect.
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

// What a diversion (gdb calling a function of the program during a replay,
// gdb/diversion.h) does with a syscall: the copy of the replay runs live,
// and may touch nothing outside its own memory but the terminal.
enum class DiversionPolicy : uint8_t {
  // Failed with ENOSYS: it could change files, other processes or the
  // outside world, or needs descriptors the replayed process does not hold.
  Refuse,
  // Executed: it changes only the process's own memory and signal state, or
  // reads clocks and ids (brk, anonymous memory, clock_gettime, futex...).
  Run,
  // A writer (its FdWrite column) executed when it writes to descriptor 1 or
  // 2 (rr's own stdout and stderr, which replayed processes inherit), failed
  // with EPERM for any other.
  RunOnStdio,
  // mmap: executed for anonymous memory, failed with EPERM for a file.
  RunAnonymous,
};

// One stretch of tracee memory the kernel wrote during a syscall.
struct MemRange {
  RemotePtr<> addr;
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

// A syscall's number and arguments as the registers at its entry hold
// them (ret left 0: set it at the exit).
SyscallArgs syscall_args(int64_t nr, const Registers& entry);

// Reads memory of the stopped tracee. Returns false when the range cannot be
// read (unmapped): the table then treats the pointer as absent.
class SyscallMemReader {
 public:
  virtual ~SyscallMemReader() = default;
  virtual bool read(RemotePtr<> addr, void* buf, size_t len) = 0;
  // The thread that made the call, for the few rows that must ask the
  // kernel about an object the call names (a semaphore set's size); 0 when
  // there is none (tests of the table alone).
  virtual pid_t tid() const { return 0; }
};

// Where the bytes a syscall writes to a file descriptor come from (and, for
// a file, where they land: FdWrite::at, else the file position).
enum class WrittenData : uint8_t {
  None,     // the syscall writes to no descriptor
  Buffer,   // `buf` points to them; the result is their length (write, sendto)
  Iovec,    // `buf` is an iovec array of `count` entries; the result is the length
  Msghdr,   // `buf` is a struct msghdr; the result is the length (sendmsg)
  Mmsghdr,  // `buf` is an array of struct mmsghdr, the result how many were sent,
            // each with its msg_len (sendmmsg)
  // They come from the descriptor in `src` (at the offset `src_off` points to,
  // or its file position) and never pass through tracee memory (sendfile,
  // splice, tee, copy_file_range): the recorder must capture them itself.
  FromFd,
  // It changes the file's size but writes no bytes (ftruncate, fallocate).
  Resize,
};

// The descriptor a syscall writes data to, and how to find that data: what
// replay -a echoes for every writer, and which files the recorder rescans for
// shared mappings. Argument positions are 0-based; -1 is none.
struct FdWrite {
  int8_t fd = -1;       // the argument holding the descriptor written to
  WrittenData data = WrittenData::None;
  int8_t buf = -1;      // Buffer, Iovec, Msghdr, Mmsghdr: the pointer argument
  int8_t count = -1;    // Iovec, Mmsghdr: the argument with the number of entries;
                        // FromFd: the one with the most bytes it moves; Resize: the
                        // length of the range at `at`
  int8_t src = -1;      // FromFd: the argument holding the source descriptor
  int8_t src_off = -1;  // FromFd: the argument pointing to the source's loff_t offset
  int8_t off = -1;      // FromFd: the argument pointing to the output's loff_t offset
  int8_t at = -1;       // Buffer, Iovec, Resize: the argument holding the file offset the
                        // call writes at (pwrite64; -1 there means the file position, as
                        // for a row without it); Resize: the range [at, at + arg[count])
                        // it may change besides the size (fallocate)
  bool writes() const { return fd >= 0; }
};

// What a successful syscall does to the descriptor table.
enum class FdOp : uint8_t {
  None,
  NewInResult,  // the result is a new descriptor
  NewPairAt,    // two new descriptors, an int[2] at the address in `arg`
  Close,        // closes the descriptor in `arg`
  CloseRange,   // close_range(first, last, flags): closes, or marks close-on-exec
  DupToResult,  // the result is a copy of the descriptor in `arg`
  DupToArg,     // the descriptor in `arg + 1` becomes a copy of the one in `arg`
  Fcntl,        // F_DUPFD(_CLOEXEC) copies `arg` to the result; F_SETFD sets close-on-exec
  Unshare,      // with CLONE_FILES in `arg`, the task gets a copy of the table for itself
};

struct FdEffect {
  FdOp op = FdOp::None;
  int8_t arg = -1;       // see FdOp
  int8_t flags = -1;     // the argument holding the close-on-exec flag; -1: none, and
                         // then a non-zero `cloexec` means always close-on-exec
  uint32_t cloexec = 0;  // that flag's bit (O_CLOEXEC, SOCK_CLOEXEC, MFD_CLOEXEC...)
  // NewInResult: the result is a number, not a descriptor, when the
  // argument `unless_arg` has any of `unless_bits` (landlock_create_ruleset
  // asked for its ABI version).
  int8_t unless_arg = -1;
  uint32_t unless_bits = 0;

  // Whether a call that succeeded with these arguments returned a new descriptor.
  bool new_fd_in_result(const uint64_t args[6]) const {
    return op == FdOp::NewInResult && !(unless_arg >= 0 && (args[unless_arg] & unless_bits));
  }
};

// The signal mask a syscall installs while it waits (rt_sigsuspend, ppoll,
// pselect6, epoll_pwait): replay delivers a recorded signal under it.
struct SigmaskArg {
  int8_t mask = -1;       // the argument pointing to the sigset_t; -1: none
  int8_t size = -1;       // the argument with its size in bytes
  bool indirect = false;  // `mask` points to {sigset_t*, size} instead (pselect6)
};

struct SyscallArgs;
class SyscallMemReader;
// Why recording cannot follow a call, decided at its entry from its
// arguments (and, for descriptors, what thread `tid`'s fd names); empty
// when it can.
using EntryCheck = std::string (*)(const SyscallArgs& call, SyscallMemReader& mem, pid_t tid);

// What the table says about one syscall number: one row, every column.
struct SyscallDesc {
  int nr = -1;
  const char* name = nullptr;
  ReplayPolicy policy = ReplayPolicy::Emulate;
  FdWrite write;
  FdEffect fds;
  SigmaskArg wait_mask;
  EntryCheck refuse = nullptr;  // calls with some arguments are refused
  // Recording cancels the call at its entry: the program gets ENOSYS
  // (rseq: the kernel would write the current CPU into the registered area
  // at any preemption, and abort critical sections at points replay cannot
  // find again).
  bool cancelled = false;
  // An Emulate row's calls that replay executes again instead, checking the
  // result: those that change how the program runs in a way replay must
  // share (limits on stack growth, the data segment and locked memory).
  bool (*executed_when)(const SyscallArgs& call) = nullptr;
  // A success may move the thread in `arg` 0 (0: the caller) off the CPU
  // the tracees are pinned to (cpuid's answers depend on the CPU, and
  // replay runs on the recorded one): the recorder pins it back.
  bool unpins = false;
  // Installs a seccomp filter: the argument holding the struct sock_fprog
  // pointer, or -1 for calls that do not (seccomp and prctl have other
  // operations). Recording installs the program's filter behind a prefix
  // that lets rr's own injected syscalls through; replay installs none.
  int (*filter_arg)(const SyscallArgs& call) = nullptr;
  DiversionPolicy diversion = DiversionPolicy::Refuse;
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

// The bytes a writer (a row whose FdWrite says Buffer, Iovec, Msghdr or
// Mmsghdr) sent to its descriptor, read from tracee memory at its exit (the
// kernel's msg_len values for sendmmsg must be there). Returns false when the
// call wrote no such bytes (it failed, its data comes from another
// descriptor, or the memory is unreadable).
bool written_bytes(const SyscallArgs& call, SyscallMemReader& mem, std::string& out);

// The signal mask a waiting syscall installs (SigmaskArg): its tracee address
// and size. Returns false when the call installs none.
bool installed_sigmask(const SyscallArgs& call, SyscallMemReader& mem, RemotePtr<>* mask, uint64_t* size);

// The clone flags of a fork, vfork, clone or clone3 call (clone3 reads them
// from its argument struct); fork is SIGCHLD, vfork CLONE_VM|CLONE_VFORK|SIGCHLD.
// Returns false when clone3's struct cannot be read.
bool clone_flags(const SyscallArgs& call, SyscallMemReader& mem, uint64_t* flags);

// Whether a diversion executes `call` (seen at its entry); when it does not,
// *err is the errno the call fails with (ENOSYS, EPERM).
bool runs_in_diversion(const SyscallArgs& call, int* err);

// Why recording cannot follow this call of thread `tid` (its row's refuse
// column), or empty.
std::string refused_at_entry(const SyscallArgs& call, SyscallMemReader& mem, pid_t tid);

}  // namespace rr
