// The syscall table: one row per syscall the recorder knows, saying how replay
// treats it and which tracee memory the kernel writes. Most rows describe the
// written memory with up to three size rules; the rest name a function in
// syscall_table_custom.cc.
//
// Recording a range the kernel did not write is harmless (the recorder saves
// what the tracee holds there, which replay already holds too); missing one
// breaks replay. Where a rule is approximate it errs on the side of more.
#include "core/syscall_table.h"

#include "core/syscall_custom.h"
#include "core/syscall_names.h"
#include "core/syscall_rows.h"

#include <signal.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <mqueue.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <initializer_list>
#include <iterator>
#include <string_view>

namespace rr {


namespace {

using namespace syscall_rows;
using syscall_names::kNameCount;
using syscall_names::kNames;
using syscall_names::nr_of;

// Kernel structure sizes on x86-64. libc's definitions of these match the
// kernel's layout, which the asserts pin down.
constexpr uint32_t kStat = sizeof(struct stat);
constexpr uint32_t kStatx = sizeof(struct statx);
constexpr uint32_t kStatfs = sizeof(struct statfs);
constexpr uint32_t kRusage = sizeof(struct rusage);
constexpr uint32_t kSiginfo = sizeof(siginfo_t);
constexpr uint32_t kWaitidInfo = offsetof(siginfo_t, si_status) + sizeof(int);
constexpr uint32_t kStackT = sizeof(stack_t);
constexpr uint32_t kRlimit = sizeof(struct rlimit);
constexpr uint32_t kTimespec = sizeof(struct timespec);
constexpr uint32_t kTimeval = sizeof(struct timeval);
constexpr uint32_t kTimezone = sizeof(struct timezone);
constexpr uint32_t kItimerspec = sizeof(struct itimerspec);
constexpr uint32_t kItimerval = sizeof(struct itimerval);
constexpr uint32_t kTms = sizeof(struct tms);
constexpr uint32_t kTimex = sizeof(struct timex);
constexpr uint32_t kUtsname = sizeof(struct utsname);
constexpr uint32_t kSysinfo = sizeof(struct sysinfo);
constexpr uint32_t kSchedParam = sizeof(struct sched_param);
constexpr uint32_t kPollfd = sizeof(struct pollfd);
constexpr uint32_t kEpollEvent = sizeof(struct epoll_event);
constexpr uint32_t kMmsghdr = sizeof(struct mmsghdr);
constexpr uint32_t kInt = sizeof(int);
constexpr uint32_t kU64 = sizeof(uint64_t);
constexpr uint32_t kU32 = sizeof(uint32_t);
constexpr uint32_t kMqAttr = sizeof(struct mq_attr);
// No address is longer than sockaddr_storage; a truncated one leaves the
// full length in the socklen_t, which must not widen the recorded range.
constexpr uint32_t kSockaddrMax = sizeof(struct sockaddr_storage);

// The kernel's struct sigaction, not libc's: handler, flags, restorer, mask.
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};
constexpr uint32_t kKernelSigaction = sizeof(KernelSigaction);

static_assert(kStat == 144 && kStatx == 256 && kStatfs == 120);
static_assert(kRusage == 144 && kSiginfo == 128 && kWaitidInfo == 28 && kStackT == 24 && kRlimit == 16);
static_assert(kTimespec == 16 && kTimeval == 16 && kTimezone == 8);
static_assert(kItimerspec == 32 && kItimerval == 32 && kTms == 32 && kTimex == 208);
static_assert(kUtsname == 390 && kSysinfo == 112 && kSchedParam == 4);
static_assert(kPollfd == 8 && kEpollEvent == 12 && kMmsghdr == 64);
static_assert(kSockaddrMax == 128 && kKernelSigaction == 32);
static_assert(sizeof(time_t) == 8 && sizeof(gid_t) == 4 && sizeof(uid_t) == 4);


// FdWrite builders, arguments in the order of the FdWrite fields.
constexpr int8_t a8(int arg) { return static_cast<int8_t>(arg); }
constexpr FdWrite buf_data(int fd, int buf) { return {a8(fd), WrittenData::Buffer, a8(buf)}; }
constexpr FdWrite iov_data(int fd, int buf, int count) { return {a8(fd), WrittenData::Iovec, a8(buf), a8(count)}; }
constexpr FdWrite msg_data(int fd, int buf) { return {a8(fd), WrittenData::Msghdr, a8(buf)}; }
constexpr FdWrite mmsg_data(int fd, int buf, int count) { return {a8(fd), WrittenData::Mmsghdr, a8(buf), a8(count)}; }
constexpr FdWrite from_fd(int fd, int src, int count, int src_off = -1, int off = -1) {
  return {a8(fd), WrittenData::FromFd, -1, a8(count), a8(src), a8(src_off), a8(off)};
}
constexpr FdWrite resize(int fd, int count = -1) { return {a8(fd), WrittenData::Resize, -1, a8(count)}; }
// The file offset the call writes at is in argument `arg` (FdWrite::at).
constexpr FdWrite at_offset(FdWrite w, int arg) {
  w.at = a8(arg);
  return w;
}

// FdEffect builders.
constexpr FdEffect new_fd(int flags_arg = -1, uint32_t cloexec = 0) {
  return {FdOp::NewInResult, -1, a8(flags_arg), cloexec};
}
// A new descriptor, except when the argument `arg` has one of `bits`.
constexpr FdEffect new_fd_unless(int arg, uint32_t bits, uint32_t cloexec) {
  return {FdOp::NewInResult, -1, -1, cloexec, a8(arg), bits};
}
constexpr FdEffect new_pair(int at, int flags_arg = -1, uint32_t cloexec = 0) {
  return {FdOp::NewPairAt, a8(at), a8(flags_arg), cloexec};
}
constexpr FdEffect closes(int fd) { return {FdOp::Close, a8(fd)}; }
constexpr FdEffect fd_op(FdOp op, int fd, int flags_arg = -1, uint32_t cloexec = 0) {
  return {op, a8(fd), a8(flags_arg), cloexec};
}
// The flag bits, as the kernel defines them (they equal O_CLOEXEC, except
// SOCK_CLOEXEC which has the same value on x86-64, and MFD_CLOEXEC).
constexpr uint32_t kOCloexec = 02000000;
constexpr uint32_t kFanCloexec = 0x1;  // FAN_CLOEXEC
constexpr uint32_t kMfdCloexec = 1;
constexpr uint32_t kFsCloexec = 1;  // FSOPEN_CLOEXEC, FSMOUNT_CLOEXEC, FSPICK_CLOEXEC
constexpr uint32_t kPerfFlagFdCloexec = 8;  // PERF_FLAG_FD_CLOEXEC
// landlock_create_ruleset's LANDLOCK_CREATE_RULESET_VERSION and _ERRATA:
// the result is the ABI version or the errata bits.
constexpr uint32_t kLandlockQueries = 3;
static_assert(kOCloexec == SOCK_CLOEXEC && kOCloexec == EPOLL_CLOEXEC);

consteval Row make_row(std::string_view name, ReplayPolicy policy,
                       std::initializer_list<OutSpec> out, CustomFn custom, Failure failure) {
  Row row;
  int nr = nr_of(name);
  row.desc = SyscallDesc{nr, kNames[nr], policy};
  if (out.size() > row.out.size()) throw "at most three output rules per row";
  std::copy(out.begin(), out.end(), row.out.begin());
  row.custom = custom;
  row.failure = failure;
  return row;
}

consteval Row emulate(std::string_view name, std::initializer_list<OutSpec> out = {}) {
  return make_row(name, ReplayPolicy::Emulate, out, nullptr, Failure::WritesNothing);
}
consteval Row emulate(std::string_view name, CustomFn custom,
                      Failure failure = Failure::WritesNothing) {
  return make_row(name, ReplayPolicy::Emulate, {}, custom, failure);
}
consteval Row execute_same(std::string_view name, std::initializer_list<OutSpec> out = {}) {
  return make_row(name, ReplayPolicy::ExecuteSame, out, nullptr, Failure::WritesNothing);
}
consteval Row execute_same(std::string_view name, CustomFn custom) {
  return make_row(name, ReplayPolicy::ExecuteSame, {}, custom, Failure::WritesNothing);
}
// MemoryMap, Sigreturn, Exec, Exit: replay has dedicated code for these, and
// none writes memory the table has to describe.
consteval Row special(std::string_view name, ReplayPolicy policy) {
  return make_row(name, policy, {}, nullptr, Failure::WritesNothing);
}
consteval Row clone_row(std::string_view name, CustomFn custom = nullptr) {
  return make_row(name, ReplayPolicy::Clone, {}, custom, Failure::WritesNothing);
}
consteval Row unsupported(std::string_view name) {
  return make_row(name, ReplayPolicy::Unsupported, {}, nullptr, Failure::WritesNothing);
}

namespace custom = syscall_custom;
constexpr auto kMemoryMap = ReplayPolicy::MemoryMap;

// Argument positions are 0-based: arg[0] is rdi.
constexpr Row kRows[] = {
    // Reading and writing files.
    emulate("read", {ret_bytes(1, 2)}),
    emulate("pread64", {ret_bytes(1, 2)}),
    emulate("readv", custom::iov_read),
    emulate("process_vm_readv", custom::process_vm_readv),
    emulate("process_vm_writev", custom::process_vm_writev).refuse_if(custom::refused_process_vm_writev),
    emulate("preadv", custom::iov_read),
    emulate("preadv2", custom::iov_read),
    emulate("write").writes(buf_data(0, 1)).diverted(DiversionPolicy::RunOnStdio),
    emulate("pwrite64").writes(at_offset(buf_data(0, 1), 3)),
    emulate("writev").writes(iov_data(0, 1, 2)).diverted(DiversionPolicy::RunOnStdio),
    emulate("pwritev").writes(at_offset(iov_data(0, 1, 2), 3)),
    emulate("pwritev2").writes(at_offset(iov_data(0, 1, 2), 3)),
    emulate("lseek"),
    emulate("getdents", {ret_bytes(1, 2)}),
    emulate("getdents64", {ret_bytes(1, 2)}),
    emulate("sendfile", {fixed(2, kU64)}).writes(from_fd(0, 1, 3, 2)),
    emulate("copy_file_range", {fixed(1, kU64), fixed(3, kU64)}).writes(from_fd(2, 0, 4, 1, 3)),
    emulate("splice", {fixed(1, kU64), fixed(3, kU64)}).writes(from_fd(2, 0, 4, 1, 3)),
    emulate("tee").writes(from_fd(1, 0, 2)),
    // Reading from a pipe fills the iovecs like readv; writing to one only
    // reads them, and recording them then is harmless.
    emulate("vmsplice", custom::iov_read).writes(iov_data(0, 1, 2)),

    // File descriptors.
    emulate("open").fds(new_fd(1, kOCloexec)),
    emulate("openat").fds(new_fd(2, kOCloexec)),
    emulate("openat2").fds(new_fd()),
    emulate("creat").fds(new_fd()),
    emulate("close").fds(closes(0)),
    emulate("close_range").fds(fd_op(FdOp::CloseRange, 0)),
    emulate("dup").fds(fd_op(FdOp::DupToResult, 0)),
    emulate("dup2").fds(fd_op(FdOp::DupToArg, 0)),
    emulate("dup3").fds(fd_op(FdOp::DupToArg, 0, 2, kOCloexec)),
    emulate("fcntl", custom::fcntl).fds(fd_op(FdOp::Fcntl, 0)),
    emulate("ioctl", custom::ioctl, Failure::MayWrite),
    emulate("flock"),
    emulate("fsync"),
    emulate("fdatasync"),
    emulate("sync"),
    emulate("syncfs"),
    emulate("sync_file_range"),
    emulate("truncate"),
    emulate("ftruncate").writes(resize(0)),
    emulate("fallocate").writes(at_offset(resize(0, 3), 2)),
    emulate("fadvise64"),
    emulate("readahead"),
    emulate("pipe", {fixed(0, 2 * kInt)}).fds(new_pair(0)),
    emulate("pipe2", {fixed(0, 2 * kInt)}).fds(new_pair(0, 1, kOCloexec)),
    emulate("eventfd").fds(new_fd()),
    emulate("eventfd2").fds(new_fd(1, kOCloexec)),
    emulate("memfd_create").fds(new_fd(1, kMfdCloexec)),
    emulate("signalfd").fds(new_fd()),
    emulate("signalfd4").fds(new_fd(3, kOCloexec)),
    emulate("inotify_init").fds(new_fd()),
    emulate("inotify_init1").fds(new_fd(0, kOCloexec)),
    // fanotify: events read from the descriptor carry descriptors of their
    // own, which the program only passes back to emulated calls.
    emulate("fanotify_init").fds(new_fd(0, kFanCloexec)),
    emulate("fanotify_mark"),
    emulate("inotify_add_watch"),
    emulate("inotify_rm_watch"),
    // Their descriptors are close-on-exec whatever the flags say.
    emulate("pidfd_open").fds(new_fd(-1, kOCloexec)),
    emulate("pidfd_getfd").fds(new_fd(-1, kOCloexec)),
    emulate("pidfd_send_signal"),

    // File metadata.
    emulate("stat", {fixed(1, kStat)}),
    emulate("fstat", {fixed(1, kStat)}),
    emulate("lstat", {fixed(1, kStat)}),
    emulate("newfstatat", {fixed(2, kStat)}),
    emulate("statx", {fixed(4, kStatx)}),
    emulate("statfs", {fixed(1, kStatfs)}),
    emulate("fstatfs", {fixed(1, kStatfs)}),
    emulate("readlink", {ret_bytes(1, 2)}),
    emulate("readlinkat", {ret_bytes(2, 3)}),
    emulate("access"),
    emulate("faccessat"),
    emulate("faccessat2"),
    emulate("chmod"),
    emulate("fchmod"),
    emulate("fchmodat"),
    emulate("fchmodat2"),
    emulate("chown"),
    emulate("fchown"),
    emulate("lchown"),
    emulate("fchownat"),
    emulate("utime"),
    emulate("utimes"),
    emulate("futimesat"),
    emulate("utimensat"),
    // With size 0 these return the size needed and write nothing, hence the
    // cap by the buffer size.
    emulate("getxattr", {ret_bytes(2, 3)}),
    emulate("lgetxattr", {ret_bytes(2, 3)}),
    emulate("fgetxattr", {ret_bytes(2, 3)}),
    emulate("listxattr", {ret_bytes(1, 2)}),
    emulate("llistxattr", {ret_bytes(1, 2)}),
    emulate("flistxattr", {ret_bytes(1, 2)}),
    emulate("setxattr"),
    emulate("lsetxattr"),
    emulate("fsetxattr"),
    emulate("removexattr"),
    emulate("lremovexattr"),
    emulate("fremovexattr"),

    // Directories and names.
    emulate("getcwd", {ret_bytes(0, 1)}),
    emulate("chdir"),
    emulate("fchdir"),
    emulate("mkdir"),
    emulate("mkdirat"),
    emulate("rmdir"),
    emulate("rename"),
    emulate("renameat"),
    emulate("renameat2"),
    emulate("link"),
    emulate("linkat"),
    emulate("symlink"),
    emulate("symlinkat"),
    emulate("unlink"),
    emulate("unlinkat"),
    emulate("mknod"),
    emulate("mknodat"),
    emulate("umask"),

    // Address space.
    special("mmap", kMemoryMap).refuse_if(custom::refused_mmap).diverted(DiversionPolicy::RunAnonymous),
    special("munmap", kMemoryMap).diverted(DiversionPolicy::Run),
    special("mprotect", kMemoryMap).diverted(DiversionPolicy::Run),
    special("mremap", kMemoryMap).diverted(DiversionPolicy::Run),
    special("brk", kMemoryMap).diverted(DiversionPolicy::Run),
    special("madvise", kMemoryMap).diverted(DiversionPolicy::Run),
    special("pkey_mprotect", kMemoryMap),
    // System V shared memory: replay attaches a copy of its own (replay_shm.cc).
    special("shmat", kMemoryMap),
    special("shmdt", kMemoryMap),
    // Protection keys are the process's to allocate: replay allocates the
    // same ones, for pkey_mprotect (executed) to tag pages with.
    // The local descriptor table is the kernel's state of the process:
    // replay sets it the same way (checkpoints refuse a process with one).
    execute_same("modify_ldt", custom::modify_ldt),
    execute_same("pkey_alloc"),
    execute_same("pkey_free"),
    emulate("msync"),
    execute_same("mlock"),
    execute_same("mlock2"),
    execute_same("munlock"),
    execute_same("mlockall"),
    execute_same("munlockall"),
    emulate("mincore", custom::mincore),
    emulate("membarrier"),

    // Processes and credentials.
    special("execve", ReplayPolicy::Exec),
    special("execveat", ReplayPolicy::Exec),
    special("exit", ReplayPolicy::Exit),
    special("exit_group", ReplayPolicy::Exit),
    emulate("wait4", {fixed(1, kInt), fixed(3, kRusage)}),
    // waitid stores six fields of the siginfo (signo, errno, code, pid,
    // uid, status: its first 28 bytes) whatever the result but EFAULT: a
    // failed call zeroes them.
    emulate("waitid", {fixed(2, kWaitidInfo, When::UnlessFault), fixed(4, kRusage)}),
    emulate("getpid").diverted(DiversionPolicy::Run),
    emulate("getppid").diverted(DiversionPolicy::Run),
    emulate("gettid").diverted(DiversionPolicy::Run),
    emulate("getuid").diverted(DiversionPolicy::Run),
    emulate("geteuid").diverted(DiversionPolicy::Run),
    emulate("getgid").diverted(DiversionPolicy::Run),
    emulate("getegid").diverted(DiversionPolicy::Run),
    emulate("getresuid", {fixed(0, kInt), fixed(1, kInt), fixed(2, kInt)}),
    emulate("getresgid", {fixed(0, kInt), fixed(1, kInt), fixed(2, kInt)}),
    // With size 0 it returns the count and writes nothing.
    emulate("getgroups", {ret_times(1, sizeof(gid_t), 0)}),
    emulate("setuid"),
    emulate("setgid"),
    emulate("setreuid"),
    emulate("setregid"),
    emulate("setresuid"),
    emulate("setresgid"),
    emulate("setfsuid"),
    emulate("setfsgid"),
    emulate("setgroups"),
    emulate("getpgrp"),
    emulate("getpgid"),
    emulate("setpgid"),
    emulate("getsid"),
    emulate("setsid"),
    emulate("getpriority"),
    emulate("setpriority"),
    emulate("personality"),
    emulate("capget", custom::capget, Failure::MayWrite),
    emulate("capset"),
    emulate("prctl", custom::prctl).refuse_if(custom::refused_prctl).filter_at(custom::seccomp_filter_arg),
    execute_same("arch_prctl", custom::arch_prctl),
    execute_same("set_tid_address"),
    execute_same("set_robust_list"),
    // Recording cancels rseq (ENOSYS), so replay only repeats the refusal.
    emulate("rseq").cancel(),
    emulate("get_robust_list", {fixed(1, kU64), fixed(2, kU64)}),
    emulate("uname", {fixed(0, kUtsname)}),
    emulate("sysinfo", {fixed(0, kSysinfo)}),
    emulate("sysfs", custom::sysfs),
    emulate("getrusage", {fixed(1, kRusage)}),
    emulate("getrlimit", {fixed(1, kRlimit)}),
    emulate("setrlimit").execute_if(custom::sets_replay_limit),
    emulate("prlimit64", {fixed(3, kRlimit)}).execute_if(custom::sets_replay_limit),
    emulate("times", {fixed(0, kTms)}),
    emulate("getcpu", {fixed(0, kInt), fixed(1, kInt)}),
    emulate("getrandom", {ret_bytes(0, 1)}).diverted(DiversionPolicy::Run),

    // Namespaces. The recorded tasks move into new ones; replay's stay
    // where they are, because what a namespace changes reaches the program
    // only through syscall results, and those are recorded (files mapped
    // in replay come from the trace, not from a mount namespace). A new PID
    // namespace is refused at record time: the tids its tasks see are not
    // the ones the recorder sees.
    emulate("unshare").fds(fd_op(FdOp::Unshare, 0)).execute_if(custom::unshares_pid_ns),
    emulate("setns").refuse_if(custom::refused_setns),
    emulate("sethostname"),
    emulate("setdomainname"),
    emulate("mount"),
    emulate("umount2"),
    emulate("pivot_root"),
    emulate("chroot"),
    emulate("mount_setattr"),
    emulate("move_mount"),
    emulate("fsconfig"),
    emulate("fsopen").fds(new_fd(1, kFsCloexec)),
    emulate("fsmount").fds(new_fd(1, kFsCloexec)),
    emulate("fspick").fds(new_fd(2, kFsCloexec)),
    emulate("open_tree").fds(new_fd(2, kOCloexec)),

    // System administration: done for real while recording, as the program
    // asked; replay repeats the results only.
    emulate("acct"),
    emulate("settimeofday"),
    emulate("clock_settime"),
    emulate("swapon"),
    emulate("swapoff"),
    emulate("vhangup"),
    emulate("ioprio_set"),
    emulate("ioprio_get"),
    emulate("kcmp"),

    // The kernel's log, disk quotas, and the sysctl syscall (gone since
    // 5.5: only its ENOSYS is recorded).
    emulate("syslog", custom::syslog),
    emulate("quotactl", custom::quotactl),
    emulate("_sysctl", custom::sysctl, Failure::MayWrite),
    // I/O port permissions change what the task's instructions may do:
    // replay asks for the same (and sees the same refusal without the
    // privilege).
    execute_same("ioperm"),
    execute_same("iopl"),

    // Keys: kept by the kernel, reached only through these calls.
    emulate("add_key"),
    emulate("request_key"),
    emulate("keyctl", custom::keyctl),

    // Landlock restricts which files the task may open; replay opens none
    // of the program's files, so the restriction needs no replay. The
    // ruleset is a close-on-exec descriptor.
    emulate("landlock_create_ruleset").fds(new_fd_unless(2, kLandlockQueries, kOCloexec)),
    emulate("landlock_add_rule"),
    emulate("landlock_restrict_self"),

    // NUMA memory policy: where pages are placed, never what they hold.
    emulate("mbind"),
    emulate("set_mempolicy"),
    emulate("get_mempolicy", custom::get_mempolicy),

    // Performance counters: what a counter reads is recorded like any
    // read; its ring buffer (mmap of the descriptor) is refused with mmap.
    emulate("perf_event_open", custom::perf_event_open, Failure::MayWrite).fds(new_fd(4, kPerfFlagFdCloexec)),

    // System V message queues and semaphores: kernel objects, so results
    // and the bytes received. (Shared memory is refused below: it maps.)
    emulate("msgget"),
    emulate("msgsnd"),
    emulate("msgrcv", custom::msgrcv),
    emulate("msgctl", custom::msgctl),
    emulate("semget"),
    emulate("semop"),
    emulate("semtimedop"),
    emulate("semctl", custom::semctl),
    emulate("shmget"),
    emulate("shmctl", custom::shmctl),

    // Scheduling.
    emulate("sched_yield").diverted(DiversionPolicy::Run),
    emulate("sched_getscheduler"),
    emulate("sched_setscheduler"),
    emulate("sched_getparam", {fixed(1, kSchedParam)}),
    emulate("sched_setparam"),
    emulate("sched_get_priority_max"),
    emulate("sched_get_priority_min"),
    emulate("sched_rr_get_interval", {fixed(1, kTimespec)}),
    // Returns the number of bytes of mask it copied.
    emulate("sched_getaffinity", {ret_bytes(2, 1)}),
    emulate("sched_setaffinity").unpinning(),
    emulate("sched_getattr", {arg_bytes(1, 2)}),
    emulate("sched_setattr"),

    // Time.
    emulate("clock_gettime", {fixed(1, kTimespec)}).diverted(DiversionPolicy::Run),
    emulate("clock_getres", {fixed(1, kTimespec)}).diverted(DiversionPolicy::Run),
    emulate("gettimeofday", {fixed(0, kTimeval), fixed(1, kTimezone)}).diverted(DiversionPolicy::Run),
    emulate("time", {fixed(0, sizeof(time_t))}).diverted(DiversionPolicy::Run),
    emulate("adjtimex", {fixed(0, kTimex)}),
    emulate("clock_adjtime", {fixed(1, kTimex)}),
    // The remaining time is written only when a signal cut the sleep short.
    emulate("nanosleep", {fixed(1, kTimespec, When::Interrupted)}).diverted(DiversionPolicy::Run),
    emulate("clock_nanosleep", custom::clock_nanosleep, Failure::MayWrite).diverted(DiversionPolicy::Run),
    emulate("alarm"),
    emulate("pause"),
    // What restart_syscall writes is what the interrupted call writes: the
    // recorder asks the table again with that call's number and arguments.
    emulate("restart_syscall"),
    emulate("getitimer", {fixed(1, kItimerval)}),
    emulate("setitimer", {fixed(2, kItimerval)}),
    emulate("timer_create", {fixed(2, sizeof(int))}),  // the kernel's timer_t
    emulate("timer_settime", {fixed(3, kItimerspec)}),
    emulate("timer_gettime", {fixed(1, kItimerspec)}),
    emulate("timer_getoverrun"),
    emulate("timer_delete"),
    emulate("timerfd_create").fds(new_fd(1, kOCloexec)),
    // POSIX message queues: the kernel keeps them, so their calls are
    // results and the bytes received.
    emulate("mq_open").fds(new_fd(1, kOCloexec)),
    emulate("mq_unlink"),
    emulate("mq_timedsend"),
    emulate("mq_timedreceive", {ret_bytes(1, 2), fixed(3, kU32)}),
    emulate("mq_notify"),
    emulate("mq_getsetattr", {fixed(2, kMqAttr)}),
    emulate("timerfd_settime", {fixed(3, kItimerspec)}),
    emulate("timerfd_gettime", {fixed(1, kItimerspec)}),

    // Signals.
    execute_same("rt_sigaction", {fixed(2, kKernelSigaction)}),
    execute_same("rt_sigprocmask", {arg_bytes(2, 3)}).diverted(DiversionPolicy::Run),
    execute_same("sigaltstack", {fixed(1, kStackT)}),
    special("rt_sigreturn", ReplayPolicy::Sigreturn),
    emulate("rt_sigpending", {arg_bytes(0, 1)}),
    emulate("rt_sigtimedwait", {fixed(1, kSiginfo)}),
    emulate("rt_sigsuspend").wait_mask(0, 1),
    emulate("kill"),
    emulate("tkill"),
    emulate("tgkill"),
    emulate("rt_sigqueueinfo"),
    emulate("rt_tgsigqueueinfo"),

    // Waiting for file descriptors. poll stores revents even when a signal
    // interrupts it; ppoll and pselect6 store the remaining time whatever the
    // result.
    emulate("select", custom::select, Failure::MayWrite),
    emulate("pselect6", custom::pselect6, Failure::MayWrite).wait_mask_pair(5),
    emulate("poll", {arg_times(0, 1, kPollfd, When::SuccessOrInterrupted)}),
    emulate("ppoll", {arg_times(0, 1, kPollfd, When::SuccessOrInterrupted),
                      fixed(2, kTimespec, When::UnlessFault)}).wait_mask(3, 4),
    emulate("epoll_create").fds(new_fd()),
    emulate("epoll_create1").fds(new_fd(0, kOCloexec)),
    emulate("epoll_ctl"),
    emulate("epoll_wait", {ret_times(1, kEpollEvent, 2)}),
    emulate("epoll_pwait", {ret_times(1, kEpollEvent, 2)}).wait_mask(4, 5),
    emulate("epoll_pwait2", {ret_times(1, kEpollEvent, 2)}).wait_mask(4, 5),

    // Sockets.
    emulate("socket").fds(new_fd(1, kOCloexec)),
    emulate("socketpair", {fixed(3, 2 * kInt)}).fds(new_pair(3, 1, kOCloexec)),
    emulate("connect"),
    emulate("bind"),
    emulate("listen"),
    emulate("shutdown"),
    emulate("setsockopt", custom::setsockopt),
    emulate("getsockopt", {len_at(3, 4)}),
    emulate("accept", {len_at(1, 2, kSockaddrMax)}).fds(new_fd()),
    emulate("accept4", {len_at(1, 2, kSockaddrMax)}).fds(new_fd(3, kOCloexec)),
    emulate("getsockname", {name_len(1, 2, kSockaddrMax)}),
    emulate("getpeername", {name_len(1, 2, kSockaddrMax)}),
    emulate("sendto").writes(buf_data(0, 1)),
    emulate("sendmsg").writes(msg_data(0, 1)),
    // The kernel stores msg_len in each mmsghdr it sent; recording the whole
    // entries is simpler and harmless.
    emulate("sendmmsg", {ret_times(1, kMmsghdr, 2)}).writes(mmsg_data(0, 1, 2)),
    // MSG_TRUNC makes ret the datagram's full length, beyond the buffer.
    emulate("recvfrom", {ret_bytes(1, 2), len_at(4, 5, kSockaddrMax)}),
    emulate("recvmsg", custom::recvmsg),
    emulate("recvmmsg", custom::recvmmsg),

    // Futexes.
    emulate("futex", custom::futex, Failure::MayWrite).diverted(DiversionPolicy::Run),
    emulate("futex_waitv"),
    emulate("futex_wake"),
    emulate("futex_wait"),
    emulate("futex_requeue"),

    // New processes and threads.
    clone_row("fork"),
    clone_row("vfork"),
    clone_row("clone", custom::clone).refuse_if(custom::refused_clone),
    clone_row("clone3", custom::clone3).refuse_if(custom::refused_clone),

    // What the engine cannot reproduce yet.
    // Answered by the recorder (record/record_ptrace.cc): the kernel's tracer
    // of every tracee is rr.
    emulate("ptrace", custom::ptrace),
    unsupported("io_uring_setup"),
    unsupported("io_uring_enter"),
    unsupported("io_uring_register"),
    unsupported("io_setup"),
    unsupported("io_destroy"),
    unsupported("io_submit"),
    unsupported("io_cancel"),
    unsupported("io_getevents"),
    unsupported("io_pgetevents"),
    unsupported("userfaultfd").fds(new_fd(0, kOCloexec)),
    emulate("bpf", custom::bpf, Failure::MayWrite).refuse_if(custom::refused_bpf),
    emulate("seccomp", custom::seccomp).refuse_if(custom::refused_seccomp).filter_at(custom::seccomp_filter_arg),
    unsupported("map_shadow_stack"),
    unsupported("kexec_load"),
    unsupported("kexec_file_load"),
    unsupported("init_module"),
    unsupported("finit_module"),
    unsupported("delete_module"),
};

consteval std::array<int16_t, kNameCount> build_index() {
  std::array<int16_t, kNameCount> index{};
  index.fill(-1);
  for (size_t i = 0; i < std::size(kRows); ++i) {
    int nr = kRows[i].desc.nr;
    if (index[nr] != -1) throw "two rows for one syscall";
    index[nr] = static_cast<int16_t>(i);
  }
  return index;
}
constexpr std::array<int16_t, kNameCount> kIndex = build_index();

// Numbers that are no syscall on x86-64, whatever the kernel's version:
// the kernel answers -ENOSYS and does nothing else, so recording keeps the
// result and replay gives it back (programs probe for syscalls this way;
// rr's own tests call syscall(-1) as a marker). The kernel reads only the
// low 32 bits, as a signed int: a negative one is never a syscall; 335 to
// 423 are the unassigned gap of the 64-bit table.
bool names_no_syscall(int64_t nr) {
  int32_t low = static_cast<int32_t>(static_cast<uint32_t>(nr));
  return low < 0 || (low >= 335 && low <= 423 && nr == low);
}

// Numbers above the table up to the x32 range: no syscall on the kernels
// the table knows, but a newer kernel may give one of them a meaning.
// Recording lets such a call run and keeps it only when the kernel
// answered -ENOSYS (programs probe with them; rr's own tests ask whether
// they run under rr with 1008); any other answer stops the recording, as
// the call's effects are unknown to us. A number that reaches a real
// syscall through its high bits is none of these: it stays unsupported.
bool above_table(int64_t nr) {
  return nr >= kNameCount && nr < 0x40000000;
}

constexpr Row kNoSuchSyscall = [] {
  Row row;
  row.desc = SyscallDesc{-1, "no_such_syscall", ReplayPolicy::Emulate};
  return row;
}();

constexpr Row kAboveTable = [] {
  Row row;
  row.desc = SyscallDesc{-1, "unknown_syscall", ReplayPolicy::Emulate};
  row.custom = syscall_custom::unknown_number;
  row.failure = Failure::MayWrite;
  return row;
}();


}  // namespace

namespace syscall_rows {

const Row* find_row(int64_t nr) {
  if (names_no_syscall(nr)) return &kNoSuchSyscall;
  if (above_table(nr)) return &kAboveTable;
  if (nr < 0 || nr >= kNameCount || kIndex[nr] < 0) return nullptr;
  return &kRows[kIndex[nr]];
}

}  // namespace syscall_rows

SyscallArgs syscall_args(int64_t nr, const Registers& entry) {
  SyscallArgs call;
  call.nr = nr;
  for (int i = 0; i < 6; ++i) call.arg[i] = entry.arg(i);
  return call;
}

const SyscallDesc* syscall_desc(int64_t nr) {
  const Row* row = find_row(nr);
  return row ? &row->desc : nullptr;
}

std::string syscall_name(int64_t nr) {
  if (nr >= 0 && nr < kNameCount && kNames[nr] != nullptr) return kNames[nr];
  return "syscall_" + std::to_string(nr);
}

int64_t syscall_number(const std::string& name) {
  for (int nr = 0; nr < kNameCount; ++nr) {
    if (kNames[nr] != nullptr && name == kNames[nr]) return nr;
  }
  return -1;
}

bool runs_in_diversion(const SyscallArgs& call, int* err) {
  const SyscallDesc* d = syscall_desc(call.nr);
  *err = ENOSYS;
  if (!d) return false;
  switch (d->diversion) {
    case DiversionPolicy::Refuse:
      return false;
    case DiversionPolicy::Run:
      return true;
    case DiversionPolicy::RunOnStdio: {
      uint64_t fd = d->write.writes() ? call.arg[d->write.fd] : ~0ull;
      *err = EPERM;
      return fd == 1 || fd == 2;
    }
    case DiversionPolicy::RunAnonymous:
      *err = EPERM;
      return (call.arg[3] & MAP_ANONYMOUS) != 0;
  }
  return false;
}

}  // namespace rr
