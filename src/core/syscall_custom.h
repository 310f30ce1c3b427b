// The rows of the syscall table (syscall_table.cc) whose outputs or
// refusals take more than a size rule name these functions; they are
// defined in syscall_table_custom.cc. Output functions append the ranges the
// kernel wrote and return empty, or a reason the call cannot be recorded;
// refusal functions (EntryCheck) return why recording cannot follow a call.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "core/syscall_table.h"

namespace rr {

namespace syscall_custom {
using Out = std::vector<MemRange>;
// The range [addr, addr + len) into `out`, unless empty or at null.
inline void add(Out& out, uint64_t addr, uint64_t len) {
  if (addr != 0 && len != 0) out.push_back({RemotePtr<>(addr), len});
}
std::string iov_read(const SyscallArgs&, SyscallMemReader&, Out&);
std::string recvmsg(const SyscallArgs&, SyscallMemReader&, Out&);
std::string recvmmsg(const SyscallArgs&, SyscallMemReader&, Out&);
// Defined in syscall_table_ioctl.cc, with its table of requests; called
// whatever the result (FS_IOC_FIEMAP writes on failure too).
std::string ioctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string fcntl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string select(const SyscallArgs&, SyscallMemReader&, Out&);
std::string pselect6(const SyscallArgs&, SyscallMemReader&, Out&);
std::string clock_nanosleep(const SyscallArgs&, SyscallMemReader&, Out&);
std::string capget(const SyscallArgs&, SyscallMemReader&, Out&);
std::string prctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string arch_prctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string futex(const SyscallArgs&, SyscallMemReader&, Out&);
std::string mincore(const SyscallArgs&, SyscallMemReader&, Out&);
std::string clone(const SyscallArgs&, SyscallMemReader&, Out&);
std::string clone3(const SyscallArgs&, SyscallMemReader&, Out&);
std::string sysfs(const SyscallArgs&, SyscallMemReader&, Out&);
std::string refused_clone(const SyscallArgs&, SyscallMemReader&, pid_t);
bool unshares_pid_ns(const SyscallArgs&);
std::string refused_setns(const SyscallArgs&, SyscallMemReader&, pid_t);
std::string refused_mmap(const SyscallArgs&, SyscallMemReader&, pid_t);
std::string process_vm_readv(const SyscallArgs&, SyscallMemReader&, Out&);
std::string ptrace(const SyscallArgs&, SyscallMemReader&, Out&);
std::string process_vm_writev(const SyscallArgs&, SyscallMemReader&, Out&);
std::string refused_process_vm_writev(const SyscallArgs&, SyscallMemReader&, pid_t);
// bpf(2): the commands whose effects replay can emulate from the outputs
// recorded (objects as descriptors the program only passes back to bpf);
// called whatever the result (the verifier's log).
std::string refused_bpf(const SyscallArgs&, SyscallMemReader&, pid_t);
std::string bpf(const SyscallArgs&, SyscallMemReader&, Out&);
std::string setsockopt(const SyscallArgs&, SyscallMemReader&, Out&);
std::string msgrcv(const SyscallArgs&, SyscallMemReader&, Out&);
std::string msgctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string semctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string shmctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string modify_ldt(const SyscallArgs&, SyscallMemReader&, Out&);
// setrlimit or prlimit64 setting a limit that replay must share:
// RLIMIT_STACK (where a deep recursion faults), RLIMIT_DATA (where brk,
// which replay executes, fails), RLIMIT_MEMLOCK (mlock, executed too).
bool sets_replay_limit(const SyscallArgs&);
std::string sysctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string syslog(const SyscallArgs&, SyscallMemReader&, Out&);
std::string quotactl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string keyctl(const SyscallArgs&, SyscallMemReader&, Out&);
std::string get_mempolicy(const SyscallArgs&, SyscallMemReader&, Out&);
// Called whatever the result: E2BIG writes.
std::string perf_event_open(const SyscallArgs&, SyscallMemReader&, Out&);
// seccomp(2) and prctl(PR_SET_SECCOMP): where the filter of a call that
// installs one is, which calls recording refuses (strict mode, a filter
// whose notifications would go to a listener fd), and what
// SECCOMP_GET_NOTIF_SIZES stores.
int seccomp_filter_arg(const SyscallArgs&);
std::string refused_seccomp(const SyscallArgs&, SyscallMemReader&, pid_t);
// prctl: PR_SET_TSC (the recorder's rdtsc trap), then refused_seccomp.
std::string refused_prctl(const SyscallArgs&, SyscallMemReader&, pid_t);
std::string seccomp(const SyscallArgs&, SyscallMemReader&, Out&);
// A number above the table: only the kernel's -ENOSYS can be recorded.
std::string unknown_number(const SyscallArgs&, SyscallMemReader&, Out&);
// Whether `ret` is what an interrupted syscall returns at its exit stop.
bool interrupted(int64_t ret);
}  // namespace syscall_custom

}  // namespace rr
