// The syscalls whose written memory the table's size rules cannot express:
// the sizes depend on a request code, on structures in tracee memory (iovec
// arrays, msghdr), or the kernel writes even when the call fails. Each
// function is referenced from its row in syscall_table.cc, which calls it on
// success, and on failure only for rows marked so.
//
// Recording a range the kernel did not write is harmless (the recorder saves
// what the tracee holds there, which replay already holds too); missing a
// range the kernel did write breaks replay. So where the kernel's behaviour
// is uncertain these functions err on the side of recording more.
#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/dqblk_xfs.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/quota.h>
#include <csignal>
#include <sys/syscall.h>
#include <sched.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <dirent.h>
#include <cstring>
#include <cstdlib>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <string>

#include "core/syscall_restart.h"
#include "core/syscall_custom.h"
#include "core/syscall_table.h"
#include "core/tracee_abi.h"

// Newer than the kernel headers this is built against.
#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif
#ifndef ARCH_SHSTK_STATUS
#define ARCH_SHSTK_STATUS 0x5005
#endif

namespace rr::syscall_custom {
namespace {

static_assert(sizeof(struct timespec) == 16 && sizeof(struct timeval) == 16);
static_assert(sizeof(struct pollfd) == 8);
static_assert(sizeof(struct flock) == 32);
static_assert(sizeof(struct f_owner_ex) == 8);
static_assert(sizeof(struct __user_cap_header_struct) == 8);
static_assert(sizeof(struct __user_cap_data_struct) == 12);
static_assert(sizeof(struct sockaddr_storage) == 128);

// A range (syscall_custom.h), or the whole of the T at addr.
using syscall_custom::add;
template <typename T>
void add(Out& out, RemotePtr<T> addr) {
  add(out, addr.as_int(), sizeof(T));
}

template <typename T>
bool read_val(SyscallMemReader& mem, RemotePtr<T> addr, T& value) {
  return !addr.is_null() && mem.read(addr, &value, sizeof value);
}

// The kernel fills an iovec array in order, each buffer before the next.
void add_iov(SyscallMemReader& mem, uint64_t iov_addr, uint64_t iovcnt, uint64_t nbytes,
             Out& out) {
  if (iov_addr == 0 || nbytes == 0 || iovcnt == 0 || iovcnt > kMaxIov) return;
  std::vector<TraceeIovec> iov(iovcnt);
  if (!mem.read(RemotePtr<>(iov_addr), iov.data(), iovcnt * sizeof(TraceeIovec))) return;
  for (const TraceeIovec& v : iov) {
    if (nbytes == 0) break;
    uint64_t n = std::min(nbytes, v.len);
    add(out, v.base, n);
    nbytes -= n;
  }
}

// What a successful recvmsg writes through the msghdr at `msg_addr`, given
// `data_len` bytes of payload. The header is read after the call, so the
// length fields already hold what the kernel stored: the address and control
// lengths it actually used.
void add_msghdr(SyscallMemReader& mem, uint64_t msg_addr, uint64_t data_len, Out& out) {
  RemotePtr<TraceeMsghdr> msg_at(msg_addr);
  TraceeMsghdr msg;
  if (!read_val(mem, msg_at, msg)) return;
  if (msg.name != 0) {
    add(out, msg_at.field(&TraceeMsghdr::namelen));
    // A truncated address leaves the full length in msg_namelen; no address
    // is longer than sockaddr_storage.
    add(out, msg.name, std::min<uint64_t>(msg.namelen, sizeof(struct sockaddr_storage)));
  }
  add_iov(mem, msg.iov, msg.iovlen, data_len, out);
  add(out, msg_at.field(&TraceeMsghdr::controllen));
  add(out, msg.control, msg.controllen);
  add(out, msg_addr + offsetof(TraceeMsghdr, flags), sizeof msg.flags);
}


// select and pselect6: the fd sets only on success, but the kernel stores
// the remaining time whatever the result, short of faulting on it.
std::string select_common(const SyscallArgs& c, Out& out, uint64_t timeout_size) {
  int64_t nfds = static_cast<int32_t>(c.arg[0]);
  if (c.ret >= 0 && nfds > 0) {
    // The kernel copies whole longs: nfds rounded up to 64 bits.
    uint64_t set_bytes = (static_cast<uint64_t>(nfds) + 63) / 64 * 8;
    for (int i = 1; i <= 3; ++i) add(out, c.arg[i], set_bytes);
  }
  if (c.ret != -EFAULT) add(out, c.arg[4], timeout_size);
  return {};
}

}  // namespace

// EINTR, or one of the kernel-internal codes a tracer sees at the exit stop
// of an interrupted syscall before it becomes EINTR or a restart.
bool interrupted(int64_t ret) { return ret == -EINTR || is_restart_code(ret); }

std::string iov_read(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  add_iov(mem, c.arg[1], c.arg[2], static_cast<uint64_t>(c.ret), out);
  return {};
}

namespace {

// Flag combinations copy_process refuses with EINVAL before it makes
// anything: such a call fails whatever else it asks, and replay emulates
// the failure.
bool kernel_refuses_clone(uint64_t flags) {
  auto both = [&](uint64_t a, uint64_t b) { return (flags & a) && (flags & b); };
  return both(CLONE_NEWNS, CLONE_FS) || both(CLONE_NEWUSER, CLONE_FS) ||
         ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) || ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) ||
         both(CLONE_THREAD, CLONE_NEWUSER | CLONE_NEWPID);
}

}  // namespace

// Recording follows a new task only where replay can make the same one. A
// new PID namespace (CLONE_NEWPID) is made again in replay, and its tasks
// get their recorded tids there (SyscallEvent.childNsTids).
std::string refused_clone(const SyscallArgs& c, SyscallMemReader& mem, pid_t) {
  uint64_t flags = 0;
  if (!clone_flags(c, mem, &flags)) return {};  // the call fails with EFAULT
  if (kernel_refuses_clone(flags)) return {};
  std::string name = c.nr == SYS_clone3 ? "clone3" : "clone";
  // CLONE_UNTRACED keeps the child from rr: the recorder takes the flag out
  // of clone's register argument for the call (and puts it back), which it
  // cannot do in clone3's argument struct.
  if ((flags & CLONE_UNTRACED) && c.nr == SYS_clone3)
    return "clone3 of a child the recorder cannot trace (CLONE_UNTRACED) is not supported yet";
  if (!(flags & CLONE_THREAD) && (flags & CSIGNAL) != SIGCHLD && (flags & CSIGNAL) != 0)
    return name + " with an exit signal other than SIGCHLD is not supported yet";
  return {};
}

// unshare(CLONE_NEWPID) puts the caller's next children into a new PID
// namespace: replay makes it again (only that namespace: the others reach
// the program through recorded results), so that they get their recorded
// tids there.
bool unshares_pid_ns(const SyscallArgs& c) { return c.arg[0] & CLONE_NEWPID; }

// setns with type 0 takes the namespace's type from the descriptor: a PID
// namespace's, or a pidfd (which moves into all of a process's namespaces).
std::string refused_setns(const SyscallArgs& c, SyscallMemReader&, pid_t tid) {
  bool pid_ns = c.arg[1] & CLONE_NEWPID;
  if (c.arg[1] == 0) {
    char link[64] = "";
    std::string path = "/proc/" + std::to_string(tid) + "/fd/" + std::to_string((int)c.arg[0]);
    ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
    std::string target(link, n > 0 ? n : 0);
    pid_ns = target.rfind("pid:", 0) == 0 || target == "anon_inode:[pidfd]";
  }
  // Replay has no such descriptor (opens are emulated) to enter the namespace with.
  return pid_ns ? "setns into another PID namespace is not supported yet" : std::string();
}

// A perf_event descriptor's mapping is its ring buffer, which the kernel
// fills with samples at any moment: no recorded event says when.
std::string refused_mmap(const SyscallArgs& c, SyscallMemReader&, pid_t tid) {
  if (c.arg[3] & MAP_ANONYMOUS) return {};
  char link[256] = "";
  std::string path = "/proc/" + std::to_string(tid) + "/fd/" + std::to_string((int)c.arg[4]);
  ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
  std::string target(link, n > 0 ? n : 0);
  if (target == "anon_inode:[perf_event]") return "mmap of a perf_event descriptor (its ring buffer) is not supported yet";
  // Replay maps a regular file's trace copy, and /dev/zero as anonymous
  // memory; what any other object shows through a mapping (a BPF map, a
  // device, a packet ring) the kernel or others change, unseen.
  struct stat st;
  if (n <= 0 || stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return {};
  if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5) return {};  // /dev/zero
  return "mmap of " + target + " (not a regular file) is not supported yet";
}

// process_vm_readv writes into the caller's own iovecs (arguments 1 and 2),
// in order, as readv does.
std::string process_vm_readv(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  add_iov(mem, c.arg[1], c.arg[2], static_cast<uint64_t>(c.ret), out);
  return {};
}

// ptrace as the recorder answers it for a tracer inside the recording
// (record/record_ptrace.cc): the requests that store something in the
// tracer's memory, at `data` (argument 3). The glibc wrapper of the PEEK
// requests passes its own word as `data`.
std::string ptrace(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  uint64_t data = c.arg[3];
  switch (c.arg[0]) {
    case 1:       // PTRACE_PEEKTEXT
    case 2:       // PTRACE_PEEKDATA
    case 3:       // PTRACE_PEEKUSER
    case 0x4201:  // PTRACE_GETEVENTMSG
    case 0x420a:  // PTRACE_GETSIGMASK
      add(out, data, 8);
      break;
    case 12:      // PTRACE_GETREGS
      add(out, data, 27 * 8);
      break;
    case 14:      // PTRACE_GETFPREGS
      add(out, data, 512);
      break;
    case 0x4202:  // PTRACE_GETSIGINFO
      add(out, data, 128);
      break;
    case 0x4204: {  // PTRACE_GETREGSET: the iovec's length is updated
      struct iovec iov;
      if (!mem.read(RemotePtr<>(data), &iov, sizeof(iov))) return "cannot read ptrace's iovec";
      add(out, data, sizeof(iov));
      add(out, reinterpret_cast<uint64_t>(iov.iov_base), iov.iov_len);
      break;
    }
    case 30:      // PTRACE_ARCH_PRCTL: ARCH_GET_FS and ARCH_GET_GS store at `addr`
      if (data == ARCH_GET_FS || data == ARCH_GET_GS) add(out, c.arg[2], 8);
      break;
    case 0x420e:  // PTRACE_GET_SYSCALL_INFO: at most `addr` bytes
      add(out, data, std::min<uint64_t>(c.arg[2], static_cast<uint64_t>(c.ret)));
      break;
  }
  return {};
}

// process_vm_writev writes into the remote iovecs (arguments 3 and 4),
// which the entry check let through only when they are the caller's own.
std::string process_vm_writev(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  add_iov(mem, c.arg[3], c.arg[4], static_cast<uint64_t>(c.ret), out);
  return {};
}

// A write into another process would change memory the recording does not
// see change there.
std::string refused_process_vm_writev(const SyscallArgs& c, SyscallMemReader&, pid_t tid) {
  pid_t target = static_cast<pid_t>(c.arg[0]);
  // The pid is as the caller sees it (its PID namespace): compare it with
  // the last NSpid field of each thread of the caller's process.
  std::string tasks = "/proc/" + std::to_string(tid) + "/task";
  DIR* dir = opendir(tasks.c_str());
  if (!dir) return "process_vm_writev: cannot list the caller's threads";
  bool own = false;
  while (struct dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    FILE* f = fopen((tasks + "/" + e->d_name + "/status").c_str(), "r");
    if (!f) continue;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
      if (strncmp(line, "NSpid:", 6) != 0) continue;
      const char* last = strrchr(line, '\t');
      if (last && atoi(last + 1) == target) own = true;
    }
    fclose(f);
  }
  closedir(dir);
  return own ? std::string() : "process_vm_writev into another process is not supported yet";
}

// sysfs(2, index, buf) writes a file system type's name (nul-terminated)
// into buf; the other options write nothing.
std::string sysfs(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  if (c.arg[0] != 2) return {};
  char name[256];
  for (size_t len = 0; len < sizeof(name); ++len) {
    if (!mem.read(RemotePtr<>(c.arg[2] + len), &name[len], 1)) return "sysfs wrote a name rr cannot read back";
    if (name[len] == 0) {
      add(out, c.arg[2], len + 1);
      return {};
    }
  }
  return "sysfs wrote a name longer than 255 bytes";
}

// setsockopt reads its option, except iptables' and ip6tables' table
// replacement, which hands back the old table's counters through a pointer
// inside the option: num_counters xt_counters.
std::string setsockopt(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  int level = static_cast<int>(c.arg[1]);
  int name = static_cast<int>(c.arg[2]);
  bool replace = (level == SOL_IP && name == IPT_SO_SET_REPLACE) || (level == SOL_IPV6 && name == IP6T_SO_SET_REPLACE);
  if (!replace) return {};
  static_assert(offsetof(struct ipt_replace, num_counters) == offsetof(struct ip6t_replace, num_counters) &&
                offsetof(struct ipt_replace, counters) == offsetof(struct ip6t_replace, counters));
  uint32_t count = 0;
  uint64_t counters = 0;
  if (!read_val(mem, RemotePtr<uint32_t>(c.arg[3] + offsetof(struct ipt_replace, num_counters)), count) ||
      !read_val(mem, RemotePtr<uint64_t>(c.arg[3] + offsetof(struct ipt_replace, counters)), counters))
    return "setsockopt replaced a netfilter table whose description rr cannot read back";
  add(out, counters, static_cast<uint64_t>(count) * sizeof(struct xt_counters));
  return {};
}

int seccomp_filter_arg(const SyscallArgs& c) {
  if (c.nr == SYS_seccomp) return c.arg[0] == SECCOMP_SET_MODE_FILTER ? 2 : -1;
  return c.arg[0] == PR_SET_SECCOMP && c.arg[1] == SECCOMP_MODE_FILTER ? 2 : -1;
}

std::string refused_seccomp(const SyscallArgs& c, SyscallMemReader&, pid_t) {
  bool prctl = c.nr == SYS_prctl;
  if (prctl && c.arg[0] != PR_SET_SECCOMP) return {};
  uint64_t mode = prctl ? c.arg[1] : c.arg[0];
  // Strict mode leaves read, write, exit and sigreturn: the recorder could
  // run nothing in the tracee any more.
  if (mode == (prctl ? (uint64_t)SECCOMP_MODE_STRICT : (uint64_t)SECCOMP_SET_MODE_STRICT))
    return "seccomp in strict mode is not supported yet";
  if (!prctl && c.arg[0] == SECCOMP_SET_MODE_FILTER && (c.arg[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER))
    return "a seccomp filter whose notifications go to a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) is not supported yet";
  return {};
}

std::string refused_prctl(const SyscallArgs& c, SyscallMemReader& mem, pid_t tid) {
  // The recorder traps rdtsc with this setting: the program may not change
  // it (its own trap would need SIGSEGVs the recorder emulates away).
  if (c.arg[0] == PR_SET_TSC) return "prctl(PR_SET_TSC) is not supported yet (rr traps rdtsc itself)";
  return refused_seccomp(c, mem, tid);
}

std::string seccomp(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  if (c.arg[0] == SECCOMP_GET_NOTIF_SIZES) add(out, c.arg[2], sizeof(struct seccomp_notif_sizes));
  return {};
}

bool sets_replay_limit(const SyscallArgs& c) {
  bool prlimit = c.nr == SYS_prlimit64;
  int resource = static_cast<int>(c.arg[prlimit ? 1 : 0]);
  bool sets = prlimit ? c.arg[2] != 0 : true;
  return sets && (resource == RLIMIT_STACK || resource == RLIMIT_DATA || resource == RLIMIT_MEMLOCK);
}

// A number above the table that the kernel ran as no syscall is recorded
// as that answer; one the kernel knew did something rr cannot describe.
std::string unknown_number(const SyscallArgs& c, SyscallMemReader&, Out&) {
  if (c.ret == -ENOSYS) return {};
  return "syscall " + std::to_string(c.nr) + ", unknown to this rr, returned " + std::to_string(c.ret) +
         " on this kernel: it is not supported yet";
}

// _sysctl is gone from the kernel (5.5): it answers ENOSYS. An older
// kernel's answer would have written through the arguments' struct, which
// nothing here describes.
std::string sysctl(const SyscallArgs& c, SyscallMemReader&, Out&) {
  if (c.ret == -ENOSYS) return {};
  return "_sysctl returned " + std::to_string(c.ret) + " on this kernel: only its ENOSYS is supported yet";
}

// syslog(action, buf, len): the actions that read the kernel's log fill
// `ret` bytes of buf; the others return a number.
constexpr uint64_t kSyslogRead = 2, kSyslogReadAll = 3, kSyslogReadClear = 4;

std::string syslog(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  uint64_t action = static_cast<uint32_t>(c.arg[0]);
  if (action == kSyslogRead || action == kSyslogReadAll || action == kSyslogReadClear)
    add(out, c.arg[1], std::min(static_cast<uint64_t>(c.ret), c.arg[2]));
  return {};
}

// quotactl(cmd, special, id, addr): the getters store one structure at
// addr; the rest only read it. A command not named here that succeeded
// may have written anything.
std::string quotactl(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  uint64_t cmd = static_cast<uint32_t>(c.arg[0]) >> SUBCMDSHIFT;
  switch (cmd) {
    case Q_GETFMT:
      add(out, c.arg[3], sizeof(uint32_t));
      return {};
    case Q_GETINFO:
      add(out, c.arg[3], sizeof(struct if_dqinfo));
      return {};
    case Q_GETQUOTA:
      add(out, c.arg[3], sizeof(struct if_dqblk));
      return {};
    case Q_GETNEXTQUOTA:
      add(out, c.arg[3], sizeof(struct if_nextdqblk));
      return {};
    case Q_XGETQUOTA:
    case Q_XGETNEXTQUOTA:
      add(out, c.arg[3], sizeof(struct fs_disk_quota));
      return {};
    case Q_XGETQSTAT:
      add(out, c.arg[3], sizeof(struct fs_quota_stat));
      return {};
    case Q_XGETQSTATV:
      add(out, c.arg[3], sizeof(struct fs_quota_statv));
      return {};
    case Q_SYNC:
    case Q_QUOTAON:
    case Q_QUOTAOFF:
    case Q_SETINFO:
    case Q_SETQUOTA:
    case Q_XQUOTAON:
    case Q_XQUOTAOFF:
    case Q_XSETQLIM:
    case Q_XQUOTARM:
    case Q_XQUOTASYNC:
      return {};
  }
  return "quotactl command " + std::to_string(cmd) + " is not supported yet";
}

// keyctl(op, ...): the operations that copy something out copy at most
// the buffer's length of an answer whose full length they return (a
// buffer too short gets nothing from newer kernels, its first bytes from
// older ones: recording the prefix covers both). The others write nothing.
std::string keyctl(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  uint64_t ret = static_cast<uint64_t>(c.ret);
  switch (static_cast<int>(c.arg[0])) {
    case KEYCTL_DESCRIBE:
    case KEYCTL_READ:
    case KEYCTL_GET_SECURITY:
    case KEYCTL_DH_COMPUTE:  // (params, buffer, buflen, kdf)
      add(out, c.arg[2], std::min(ret, c.arg[3]));
      return {};
    case KEYCTL_CAPABILITIES:  // (buffer, buflen)
      add(out, c.arg[1], std::min(ret, c.arg[2]));
      return {};
    case KEYCTL_PKEY_QUERY:  // (key, reserved, info string, result)
      add(out, c.arg[4], sizeof(struct keyctl_pkey_query));
      return {};
    case KEYCTL_PKEY_ENCRYPT:  // (params, info string, in, out): `ret` bytes out
    case KEYCTL_PKEY_DECRYPT:
    case KEYCTL_PKEY_SIGN:
      add(out, c.arg[4], ret);
      return {};
    case KEYCTL_GET_KEYRING_ID:
    case KEYCTL_JOIN_SESSION_KEYRING:
    case KEYCTL_UPDATE:
    case KEYCTL_REVOKE:
    case KEYCTL_CHOWN:
    case KEYCTL_SETPERM:
    case KEYCTL_CLEAR:
    case KEYCTL_LINK:
    case KEYCTL_UNLINK:
    case KEYCTL_SEARCH:
    case KEYCTL_INSTANTIATE:
    case KEYCTL_NEGATE:
    case KEYCTL_SET_REQKEY_KEYRING:
    case KEYCTL_SET_TIMEOUT:
    case KEYCTL_ASSUME_AUTHORITY:
    case KEYCTL_SESSION_TO_PARENT:
    case KEYCTL_REJECT:
    case KEYCTL_INSTANTIATE_IOV:
    case KEYCTL_INVALIDATE:
    case KEYCTL_GET_PERSISTENT:
    case KEYCTL_PKEY_VERIFY:
    case KEYCTL_RESTRICT_KEYRING:
    case KEYCTL_MOVE:
      return {};
  }
  return "keyctl operation " + std::to_string(c.arg[0]) + " is not supported yet";
}

// get_mempolicy(mode, nodemask, maxnode, addr, flags): the mode, and a
// node mask of maxnode - 1 bits rounded up to whole longs (the kernel
// clears what lies past its own nodes).
std::string get_mempolicy(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  add(out, c.arg[0], sizeof(int));
  uint64_t maxnode = c.arg[2];
  if (maxnode > 0) add(out, c.arg[1], (maxnode - 1 + 63) / 64 * sizeof(uint64_t));
  return {};
}

// perf_event_open refuses an attribute struct larger than it knows, whose
// extra bytes are not zero, by storing the size it knows in attr.size
// (E2BIG); on success it writes nothing.
std::string perf_event_open(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  if (c.ret == -E2BIG) add(out, c.arg[0] + offsetof(struct perf_event_attr, size), sizeof(uint32_t));
  return {};
}

// msgrcv writes the message's type (a long) and `ret` bytes of text.
std::string msgrcv(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  add(out, c.arg[1], sizeof(long) + static_cast<uint64_t>(c.ret));
  return {};
}

// The IPC_64 bit glibc may add to a System V control command.
constexpr uint64_t kIpc64 = 0x100;

namespace {

// Whether thread `tid` uses the recorder's own IPC namespace, where the
// recorder can look up the objects its System V calls name.
bool shares_ipc_namespace(pid_t tid) {
  struct stat theirs, ours;
  if (tid <= 0) return false;
  std::string path = "/proc/" + std::to_string(tid) + "/ns/ipc";
  return stat(path.c_str(), &theirs) == 0 && stat("/proc/self/ns/ipc", &ours) == 0 && theirs.st_ino == ours.st_ino &&
         theirs.st_dev == ours.st_dev;
}

// How many semaphores set `semid` holds, as thread `tid` sees it.
bool semaphore_count(pid_t tid, int semid, uint64_t* nsems) {
  if (!shares_ipc_namespace(tid)) return false;
  struct semid_ds ds {};
  if (::semctl(semid, 0, IPC_STAT, &ds) != 0) return false;
  *nsems = ds.sem_nsems;
  return true;
}

}  // namespace

std::string msgctl(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  switch (c.arg[1] & ~kIpc64) {
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY:
      add(out, c.arg[2], sizeof(struct msqid_ds));
      break;
    case IPC_INFO:
    case MSG_INFO:
      add(out, c.arg[2], sizeof(struct msginfo));
      break;
  }
  return {};
}

// modify_ldt's read functions (0: the table, 2: the default one, zeros)
// copy `ret` bytes to ptr; the write functions (1, 0x11) write nothing.
std::string modify_ldt(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  if (c.arg[0] == 0 || c.arg[0] == 2) add(out, c.arg[1], static_cast<uint64_t>(c.ret));
  return {};
}

std::string shmctl(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  switch (c.arg[1] & ~kIpc64) {
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY:
      add(out, c.arg[2], sizeof(struct shmid_ds));
      break;
    case IPC_INFO:
      add(out, c.arg[2], sizeof(struct shminfo));
      break;
    case SHM_INFO:
      add(out, c.arg[2], sizeof(struct shm_info));
      break;
  }
  return {};
}

// semctl's fourth argument is a union passed by value: a pointer for the
// commands that write.
std::string semctl(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  switch (c.arg[2] & ~kIpc64) {
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
      add(out, c.arg[3], sizeof(struct semid_ds));
      break;
    case IPC_INFO:
    case SEM_INFO:
      add(out, c.arg[3], sizeof(struct seminfo));
      break;
    case GETALL: {
      // The set's size is the kernel's to know: the call does not say it.
      // The recorder asks the kernel itself, which it can where it shares
      // the caller's IPC namespace.
      uint64_t nsems = 0;
      if (!semaphore_count(mem.tid(), static_cast<int>(c.arg[0]), &nsems))
        return "semctl GETALL of a set the recorder cannot see (another IPC namespace) is not supported yet";
      add(out, c.arg[3], nsems * sizeof(unsigned short));
      break;
    }
  }
  return {};
}

std::string recvmsg(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  add_msghdr(mem, c.arg[1], static_cast<uint64_t>(c.ret), out);
  return {};
}

std::string recvmmsg(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  uint64_t count = std::min({static_cast<uint64_t>(c.ret), c.arg[2], kMaxIov});
  for (uint64_t i = 0; i < count && c.arg[1] != 0; ++i) {
    RemotePtr<TraceeMmsghdr> entry = RemotePtr<TraceeMmsghdr>(c.arg[1]) + i;
    uint32_t msg_len = 0;
    if (!read_val(mem, entry.field(&TraceeMmsghdr::len), msg_len)) break;
    add(out, entry.field(&TraceeMmsghdr::len));
    add_msghdr(mem, entry.as_int(), msg_len, out);
  }
  // The remaining timeout is written back only when a message arrived.
  if (c.ret > 0) add(out, c.arg[4], sizeof(struct timespec));
  return {};
}

std::string fcntl(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  switch (static_cast<int>(c.arg[1])) {
    case F_GETLK:
    case F_OFD_GETLK:
      add(out, c.arg[2], sizeof(struct flock));
      break;
    case F_GETOWN_EX:
      add(out, c.arg[2], sizeof(struct f_owner_ex));
      break;
    case F_GET_RW_HINT:
    case F_GET_FILE_RW_HINT:
      add(out, c.arg[2], sizeof(uint64_t));
      break;
    default:
      break;
  }
  return {};
}

std::string select(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  return select_common(c, out, sizeof(struct timeval));
}

std::string pselect6(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  return select_common(c, out, sizeof(struct timespec));
}

std::string clock_nanosleep(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  // An absolute sleep has no remaining time to report.
  if (interrupted(c.ret) && !(c.arg[1] & TIMER_ABSTIME)) {
    add(out, c.arg[3], sizeof(struct timespec));
  }
  return {};
}

std::string capget(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  // An unknown version makes the kernel store the one it prefers in the
  // header and fail with EINVAL (or succeed, when data is NULL).
  if (c.ret != 0 && c.ret != -EINVAL) return {};
  add(out, c.arg[0], sizeof(struct __user_cap_header_struct));
  uint32_t version = 0;
  if (c.ret != 0 || !read_val(mem, RemotePtr<uint32_t>(c.arg[0]), version)) return {};
  uint64_t structs = 0;
  if (version == _LINUX_CAPABILITY_VERSION_1) structs = _LINUX_CAPABILITY_U32S_1;
  if (version == _LINUX_CAPABILITY_VERSION_2) structs = _LINUX_CAPABILITY_U32S_2;
  if (version == _LINUX_CAPABILITY_VERSION_3) structs = _LINUX_CAPABILITY_U32S_3;
  add(out, c.arg[1], structs * sizeof(struct __user_cap_data_struct));
  return {};
}

std::string prctl(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  switch (static_cast<int>(c.arg[0])) {
    case PR_GET_NAME:
      add(out, c.arg[1], 16);  // TASK_COMM_LEN
      break;
    case PR_GET_PDEATHSIG:
    case PR_GET_UNALIGN:
    case PR_GET_FPEMU:
    case PR_GET_FPEXC:
    case PR_GET_TSC:
    case PR_GET_ENDIAN:
    case PR_GET_CHILD_SUBREAPER:
      add(out, c.arg[1], sizeof(int));
      break;
    case PR_GET_TID_ADDRESS:
      add(out, c.arg[1], sizeof(uint64_t));
      break;
    case PR_GET_AUXV:
      // Returns the full auxv size but copies at most the buffer's size.
      add(out, c.arg[1], std::min(static_cast<uint64_t>(c.ret), c.arg[2]));
      break;
    case PR_SET_MM:
      if (c.arg[1] == PR_SET_MM_MAP_SIZE) add(out, c.arg[2], sizeof(unsigned int));
      break;
    case PR_SCHED_CORE:
      if (c.arg[1] == PR_SCHED_CORE_GET) add(out, c.arg[4], sizeof(uint64_t));
      break;
    default:
      // The other PR_GET_* return their answer; PR_SET_* write nothing.
      break;
  }
  return {};
}

std::string arch_prctl(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  switch (c.arg[0]) {
    case ARCH_GET_FS:
    case ARCH_GET_GS:
    case ARCH_GET_XCOMP_SUPP:
    case ARCH_GET_XCOMP_PERM:
    case ARCH_GET_XCOMP_GUEST_PERM:
    case ARCH_SHSTK_STATUS:
      add(out, c.arg[1], sizeof(uint64_t));
      break;
    default:
      break;
  }
  return {};
}

// The futex word is changed by the kernel only in the PI and WAKE_OP forms;
// the PI forms may set FUTEX_WAITERS or an owner even when they then fail.
std::string futex(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  int cmd = static_cast<int>(c.arg[1]) & FUTEX_CMD_MASK;
  bool may_have_written = c.ret != -EFAULT;
  switch (cmd) {
    case FUTEX_WAKE_OP:
      if (!c.failed()) add(out, c.arg[4], sizeof(uint32_t));
      break;
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_TRYLOCK_PI:
    case FUTEX_UNLOCK_PI:
      if (may_have_written) add(out, c.arg[0], sizeof(uint32_t));
      break;
    case FUTEX_WAIT_REQUEUE_PI:
    case FUTEX_CMP_REQUEUE_PI:
      if (may_have_written) add(out, c.arg[4], sizeof(uint32_t));
      break;
    default:
      break;
  }
  return {};
}

std::string mincore(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  // One byte per page of the (page-aligned) range.
  add(out, c.arg[2], page_ceil(c.arg[1]) / kPageSize);
  return {};
}

// What the parent's memory receives: the new tid (CLONE_PARENT_SETTID) and a
// pidfd number (CLONE_PIDFD). The child's CLONE_CHILD_SETTID word is written
// by the child when it first runs; replay writes it when it creates the child.
std::string clone(const SyscallArgs& c, SyscallMemReader&, Out& out) {
  if (c.failed()) return {};
  if (c.arg[0] & CLONE_PARENT_SETTID) add(out, c.arg[2], sizeof(int32_t));
  if (c.arg[0] & CLONE_PIDFD) add(out, c.arg[2], sizeof(int32_t));
  return {};
}

std::string clone3(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  if (c.failed()) return {};
  uint64_t args[4] = {};  // flags, pidfd, child_tid, parent_tid
  if (c.arg[1] < sizeof(args) || !mem.read(RemotePtr<>(c.arg[0]), args, sizeof(args))) return {};
  if (args[0] & CLONE_PIDFD) add(out, args[1], sizeof(int32_t));
  if (args[0] & CLONE_PARENT_SETTID) add(out, args[3], sizeof(int32_t));
  return {};
}


}  // namespace rr::syscall_custom

namespace rr {

bool clone_flags(const SyscallArgs& c, SyscallMemReader& mem, uint64_t* flags) {
  switch (c.nr) {
    case SYS_fork: *flags = SIGCHLD; return true;
    case SYS_vfork: *flags = CLONE_VM | CLONE_VFORK | SIGCHLD; return true;
    case SYS_clone: *flags = c.arg[0]; return true;
    case SYS_clone3: return c.arg[1] >= 8 && mem.read(RemotePtr<>(c.arg[0]), flags, sizeof(*flags));
  }
  return false;
}

}  // namespace rr
