#include "core/syscall_table.h"

#include <gtest/gtest.h>
#include <sys/ptrace.h>
#include <netinet/in.h>  // before the kernel headers, which then leave its structs alone
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <csignal>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <ostream>
#include <string>
#include <vector>

namespace rr {

static void PrintTo(const MemRange& r, std::ostream* os) {
  *os << "{0x" << std::hex << r.addr.as_int() << ", " << std::dec << r.len << "}";
}

namespace {

// Tracee memory as a sparse byte map: only what a test put there is readable.
class FakeMem : public SyscallMemReader {
 public:
  void put(uint64_t addr, const void* data, size_t len) {
    auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < len; ++i) bytes_[addr + i] = p[i];
  }
  template <typename T>
  void put_val(uint64_t addr, const T& value) {
    put(addr, &value, sizeof value);
  }
  bool read(RemotePtr<> addr, void* buf, size_t len) override {
    auto* p = static_cast<uint8_t*>(buf);
    for (size_t i = 0; i < len; ++i) {
      auto it = bytes_.find(addr.as_int() + i);
      if (it == bytes_.end()) return false;
      p[i] = it->second;
    }
    return true;
  }

 private:
  std::map<uint64_t, uint8_t> bytes_;
};

struct Iov {
  uint64_t base;
  uint64_t len;
};

MemRange range(uint64_t addr, uint64_t len) { return {RemotePtr<>(addr), len}; }

SyscallArgs call(const std::string& name, std::vector<uint64_t> args, int64_t ret) {
  SyscallArgs c;
  c.nr = syscall_number(name);
  EXPECT_GE(c.nr, 0) << name;
  for (size_t i = 0; i < args.size() && i < 6; ++i) c.arg[i] = args[i];
  c.ret = ret;
  return c;
}

SyscallArgs call_nr(int64_t nr, std::vector<uint64_t> args, int64_t ret) {
  SyscallArgs c;
  c.nr = nr;
  for (size_t i = 0; i < args.size() && i < 6; ++i) c.arg[i] = args[i];
  c.ret = ret;
  return c;
}

// syscall_outputs' reason for refusing the call, empty when it records it.
std::string outputs_why(const SyscallArgs& c, std::vector<MemRange>& out) {
  FakeMem mem;
  return syscall_outputs(c, mem, out);
}

std::vector<MemRange> sorted(std::vector<MemRange> v) {
  std::sort(v.begin(), v.end(), [](const MemRange& a, const MemRange& b) {
    return a.addr < b.addr || (a.addr == b.addr && a.len < b.len);
  });
  return v;
}

// Runs syscall_outputs, expecting success, and returns the ranges sorted.
std::vector<MemRange> outputs(const SyscallArgs& c, SyscallMemReader& mem) {
  std::vector<MemRange> out;
  std::string err = syscall_outputs(c, mem, out);
  EXPECT_EQ(err, "") << syscall_name(c.nr);
  return sorted(out);
}

std::vector<MemRange> outputs(const SyscallArgs& c) {
  FakeMem mem;
  return outputs(c, mem);
}

using Ranges = std::vector<MemRange>;

TEST(SyscallTable, Names) {
  EXPECT_EQ(syscall_name(0), "read");
  EXPECT_EQ(syscall_name(231), "exit_group");
  EXPECT_EQ(syscall_name(257), "openat");
  EXPECT_EQ(syscall_name(435), "clone3");
  EXPECT_EQ(syscall_name(462), "mseal");
  EXPECT_EQ(syscall_name(335), "syscall_335");  // unused on x86-64
  EXPECT_EQ(syscall_name(-1), "syscall_-1");
  EXPECT_EQ(syscall_name(100000), "syscall_100000");
  EXPECT_EQ(syscall_number("openat"), 257);
  EXPECT_EQ(syscall_number("read"), 0);
  EXPECT_EQ(syscall_number("no_such_call"), -1);
  EXPECT_EQ(syscall_number(""), -1);
}

TEST(SyscallTable, NamesRoundTrip) {
  for (int64_t nr = 0; nr < 600; ++nr) {
    std::string name = syscall_name(nr);
    if (name.rfind("syscall_", 0) == 0) continue;
    EXPECT_EQ(syscall_number(name), nr) << name;
  }
}

TEST(SyscallTable, DescriptionsMatchNames) {
  for (int64_t nr = -5; nr < 600; ++nr) {
    const SyscallDesc* d = syscall_desc(nr);
    if (d == nullptr) continue;
    if (d->nr == -1) {  // a number that is no syscall (NoSuchSyscall, AboveTheTable below)
      EXPECT_STREQ(d->name, nr < 0 || nr <= 423 ? "no_such_syscall" : "unknown_syscall");
      continue;
    }
    EXPECT_EQ(d->nr, nr);
    EXPECT_EQ(std::string(d->name), syscall_name(nr));
  }
}

TEST(SyscallTable, Policies) {
  auto policy = [](const char* name) {
    const SyscallDesc* d = syscall_desc(syscall_number(name));
    EXPECT_NE(d, nullptr) << name;
    return d ? d->policy : ReplayPolicy::Emulate;
  };
  EXPECT_EQ(policy("mmap"), ReplayPolicy::MemoryMap);
  EXPECT_EQ(policy("brk"), ReplayPolicy::MemoryMap);
  EXPECT_EQ(policy("clone"), ReplayPolicy::Clone);
  EXPECT_EQ(policy("fork"), ReplayPolicy::Clone);
  EXPECT_EQ(policy("clone3"), ReplayPolicy::Clone);
  EXPECT_EQ(policy("io_uring_setup"), ReplayPolicy::Unsupported);
  EXPECT_EQ(policy("rt_sigaction"), ReplayPolicy::ExecuteSame);
  EXPECT_EQ(policy("arch_prctl"), ReplayPolicy::ExecuteSame);
  EXPECT_EQ(policy("exit_group"), ReplayPolicy::Exit);
  EXPECT_EQ(policy("exit"), ReplayPolicy::Exit);
  EXPECT_EQ(policy("execve"), ReplayPolicy::Exec);
  EXPECT_EQ(policy("rt_sigreturn"), ReplayPolicy::Sigreturn);
  EXPECT_EQ(policy("read"), ReplayPolicy::Emulate);
  EXPECT_EQ(policy("msync"), ReplayPolicy::Emulate);
  EXPECT_EQ(policy("ioperm"), ReplayPolicy::ExecuteSame);
  EXPECT_EQ(policy("iopl"), ReplayPolicy::ExecuteSame);
  EXPECT_EQ(policy("keyctl"), ReplayPolicy::Emulate);
  EXPECT_EQ(policy("landlock_restrict_self"), ReplayPolicy::Emulate);
  EXPECT_EQ(policy("mbind"), ReplayPolicy::Emulate);
  EXPECT_EQ(policy("perf_event_open"), ReplayPolicy::Emulate);
  EXPECT_EQ(syscall_desc(syscall_number("lookup_dcookie")), nullptr);
}

// What gdb's calls into a replay may do (gdb/diversion.h): their own memory,
// clocks, ids and the terminal, nothing else.
TEST(SyscallTable, Diversions) {
  auto runs = [](const char* name, std::initializer_list<uint64_t> args, int* err) {
    SyscallArgs call;
    call.nr = syscall_number(name);
    std::copy(args.begin(), args.end(), call.arg);
    return runs_in_diversion(call, err);
  };
  int err = 0;
  EXPECT_TRUE(runs("write", {1, 0x1000, 4}, &err));
  EXPECT_TRUE(runs("writev", {2, 0x1000, 1}, &err));
  EXPECT_FALSE(runs("write", {5, 0x1000, 4}, &err));
  EXPECT_EQ(err, EPERM);
  EXPECT_TRUE(runs("mmap", {0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0}, &err));
  EXPECT_FALSE(runs("mmap", {0, 4096, PROT_READ, MAP_PRIVATE, 3, 0}, &err));
  EXPECT_EQ(err, EPERM);
  for (const char* name : {"brk", "munmap", "mprotect", "madvise", "clock_gettime", "getpid", "futex"})
    EXPECT_TRUE(runs(name, {}, &err)) << name;
  for (const char* name : {"openat", "unlink", "kill", "clone", "execve", "exit_group", "pwrite64", "socket"}) {
    EXPECT_FALSE(runs(name, {1}, &err)) << name;
    EXPECT_EQ(err, ENOSYS) << name;
  }
}

// Numbers the kernel answers with ENOSYS whatever its version are replayed
// as that answer; numbers a kernel might know, or that reach a real syscall
// through their high bits (the kernel reads the low 32), are refused.
TEST(SyscallTable, NoSuchSyscall) {
  for (int64_t nr : {-1LL, -10LL, 335LL, 400LL, 423LL, 0xffffffffLL, 0x1ffffffffLL}) {
    const SyscallDesc* d = syscall_desc(nr);
    ASSERT_NE(d, nullptr) << nr;
    EXPECT_EQ(d->policy, ReplayPolicy::Emulate) << nr;
    EXPECT_EQ(d->write.fd, -1) << nr;
    EXPECT_EQ(d->fds.op, FdOp::None) << nr;
  }
  // 334 is rseq and 424 pidfd_send_signal, the edges of the gap.
  EXPECT_STREQ(syscall_desc(334)->name, "rseq");
  EXPECT_STREQ(syscall_desc(424)->name, "pidfd_send_signal");
  EXPECT_EQ(syscall_desc(0x100000027LL), nullptr);  // getpid through the high bits
  EXPECT_EQ(syscall_desc(0x40000000LL), nullptr);   // the x32 range
}

// Numbers above the table run, and are kept only when the kernel answered
// ENOSYS: a newer kernel may give one of them a meaning.
TEST(SyscallTable, AboveTheTable) {
  for (int64_t nr : {600LL, 1008LL, 1024LL, 9999LL, 100000LL}) {
    const SyscallDesc* d = syscall_desc(nr);
    ASSERT_NE(d, nullptr) << nr;
    EXPECT_EQ(d->policy, ReplayPolicy::Emulate) << nr;
    std::vector<MemRange> ranges;
    EXPECT_EQ(outputs_why(call_nr(nr, {1, 2, 3}, -ENOSYS), ranges), "") << nr;
    EXPECT_TRUE(ranges.empty()) << nr;
    EXPECT_NE(outputs_why(call_nr(nr, {1, 2, 3}, 0), ranges), "") << nr;
    EXPECT_NE(outputs_why(call_nr(nr, {1, 2, 3}, -EINVAL), ranges), "") << nr;
  }
  EXPECT_EQ(syscall_desc(0x100000000LL + 400), nullptr);
}

TEST(SyscallTable, ReadRecordsReturnedBytes) {
  EXPECT_EQ(outputs(call("read", {3, 0x1000, 100}, 10)), (Ranges{range(0x1000, 10)}));
  EXPECT_EQ(outputs(call("pread64", {3, 0x1000, 100, 0}, 100)), (Ranges{range(0x1000, 100)}));
}

TEST(SyscallTable, FailedReadRecordsNothing) {
  EXPECT_EQ(outputs(call("read", {3, 0x1000, 100}, -EBADF)), Ranges{});
  EXPECT_EQ(outputs(call("read", {3, 0x1000, 100}, -4095)), Ranges{});
}

TEST(SyscallTable, EmptyAndNullRangesAreDropped) {
  EXPECT_EQ(outputs(call("read", {3, 0x1000, 100}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("clock_getres", {1, 0}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("gettimeofday", {0x1000, 0}, 0)), (Ranges{range(0x1000, 16)}));
}

TEST(SyscallTable, ReadvDistributesOverIovecs) {
  FakeMem mem;
  Iov iov[2] = {{0x3000, 4}, {0x4000, 8}};
  mem.put(0x2000, iov, sizeof iov);
  EXPECT_EQ(outputs(call("readv", {3, 0x2000, 2}, 10), mem),
            (Ranges{range(0x3000, 4), range(0x4000, 6)}));
  EXPECT_EQ(outputs(call("preadv", {3, 0x2000, 2, 0, 0}, 3), mem), (Ranges{range(0x3000, 3)}));
  // An unreadable iovec array counts as absent.
  EXPECT_EQ(outputs(call("readv", {3, 0x9000, 2}, 10), mem), Ranges{});
}

// process_vm_readv fills the caller's iovecs (arguments 1-2), and
// process_vm_writev the remote ones (3-4), in order up to the result.
TEST(SyscallTable, ProcessVmReadvWritev) {
  FakeMem mem;
  Iov local[2] = {{0x3000, 4}, {0x4000, 8}};
  Iov remote[2] = {{0x5000, 2}, {0x6000, 8}};
  mem.put(0x2000, local, sizeof local);
  mem.put(0x2100, remote, sizeof remote);
  EXPECT_EQ(outputs(call("process_vm_readv", {77, 0x2000, 2, 0x2100, 2, 0}, 6), mem),
            (Ranges{range(0x3000, 4), range(0x4000, 2)}));
  EXPECT_EQ(outputs(call("process_vm_writev", {77, 0x2000, 2, 0x2100, 2, 0}, 5), mem),
            (Ranges{range(0x5000, 2), range(0x6000, 3)}));
}

// ptrace as the recorder answers it for a tracer inside the recording: what
// each reading request stores at `data`, nothing for the others.
TEST(SyscallTable, PtraceOutputs) {
  FakeMem mem;
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_PEEKDATA, 77, 0x5000, 0x2000}, 0), mem), (Ranges{range(0x2000, 8)}));
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_GETREGS, 77, 0, 0x2000}, 0), mem), (Ranges{range(0x2000, 216)}));
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_GETFPREGS, 77, 0, 0x2000}, 0), mem), (Ranges{range(0x2000, 512)}));
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_GETSIGINFO, 77, 0, 0x2000}, 0), mem), (Ranges{range(0x2000, 128)}));
  Iov iov = {0x3000, 100};
  mem.put(0x2100, &iov, sizeof iov);
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_GETREGSET, 77, 1, 0x2100}, 0), mem),
            (Ranges{range(0x2100, 16), range(0x3000, 100)}));
  // GET_SYSCALL_INFO stores at most the size the caller gave.
  EXPECT_EQ(outputs(call("ptrace", {0x420e, 77, 1, 0x2000}, 80), mem), (Ranges{range(0x2000, 1)}));
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_POKEDATA, 77, 0x5000, 7}, 0), mem), Ranges{});
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_CONT, 77, 0, 0}, 0), mem), Ranges{});
  EXPECT_EQ(outputs(call("ptrace", {PTRACE_PEEKDATA, 77, 0x5000, 0x2000}, -EIO), mem), Ranges{});
}

// bpf: the verifier's log whatever the result, the attributes that carry
// counts back; commands replay cannot emulate are refused at the entry.
TEST(SyscallTable, Bpf) {
  FakeMem mem;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.log_buf = 0x8000;
  attr.log_size = 256;
  attr.log_level = 1;
  mem.put(0x1000, &attr, sizeof attr);
  EXPECT_EQ(outputs(call("bpf", {BPF_PROG_LOAD, 0x1000, 128}, -EACCES), mem),
            (Ranges{range(0x1000, 128), range(0x8000, 256)}));
  memset(&attr, 0, sizeof attr);
  attr.query.prog_ids = 0x9000;
  attr.query.prog_cnt = 3;
  mem.put(0x1000, &attr, sizeof attr);
  EXPECT_EQ(outputs(call("bpf", {BPF_PROG_QUERY, 0x1000, 64}, 0), mem), (Ranges{range(0x1000, 64), range(0x9000, 12)}));
  EXPECT_EQ(outputs(call("bpf", {BPF_MAP_UPDATE_ELEM, 0x1000, 64}, 0), mem), Ranges{});
  EXPECT_EQ(refused_at_entry(call("bpf", {BPF_PROG_TEST_RUN, 0x1000, 64}, 0), mem, 1),
            "bpf command 10 is not supported yet");
  EXPECT_EQ(refused_at_entry(call("bpf", {BPF_MAP_CREATE, 0x1000, 64}, 0), mem, 1), "");
}

TEST(SyscallTable, Recvmsg) {
  FakeMem mem;
  constexpr uint64_t kMsg = 0x5000;
  Iov iov[2] = {{0x8000, 5}, {0x9000, 100}};
  mem.put(0x7000, iov, sizeof iov);
  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = reinterpret_cast<void*>(0x6000);
  msg.msg_namelen = 16;  // as the kernel left it
  msg.msg_iov = reinterpret_cast<struct iovec*>(0x7000);
  msg.msg_iovlen = 2;
  msg.msg_control = reinterpret_cast<void*>(0xa000);
  msg.msg_controllen = 20;
  mem.put_val(kMsg, msg);
  EXPECT_EQ(outputs(call("recvmsg", {3, kMsg, 0}, 12), mem),
            (Ranges{range(kMsg + 8, 4), range(kMsg + 40, 8), range(kMsg + 48, 4),
                    range(0x6000, 16), range(0x8000, 5), range(0x9000, 7), range(0xa000, 20)}));

  // No name buffer, no control data: only the payload and the fields the
  // kernel always stores.
  msg.msg_name = nullptr;
  msg.msg_controllen = 0;
  mem.put_val(kMsg, msg);
  EXPECT_EQ(outputs(call("recvmsg", {3, kMsg, 0}, 3), mem),
            (Ranges{range(kMsg + 40, 8), range(kMsg + 48, 4), range(0x8000, 3)}));

  EXPECT_EQ(outputs(call("recvmsg", {3, kMsg, 0}, -EAGAIN), mem), Ranges{});
}

TEST(SyscallTable, Recvmmsg) {
  FakeMem mem;
  constexpr uint64_t kVec = 0x5000;
  Iov iov[2] = {{0x8000, 100}, {0x9000, 100}};
  mem.put(0x7000, iov, sizeof iov);
  struct mmsghdr m[2];
  std::memset(m, 0, sizeof m);
  for (int i = 0; i < 2; ++i) {
    m[i].msg_hdr.msg_iov = reinterpret_cast<struct iovec*>(0x7000 + 16 * i);
    m[i].msg_hdr.msg_iovlen = 1;
  }
  m[0].msg_len = 7;
  m[1].msg_len = 9;
  mem.put(kVec, m, sizeof m);
  EXPECT_EQ(outputs(call("recvmmsg", {3, kVec, 2, 0, 0x100}, 2), mem),
            (Ranges{range(0x100, 16), range(kVec + 40, 8), range(kVec + 48, 4),
                    range(kVec + 56, 4), range(kVec + 64 + 40, 8), range(kVec + 64 + 48, 4),
                    range(kVec + 64 + 56, 4), range(0x8000, 7), range(0x9000, 9)}));
}

TEST(SyscallTable, Ioctl) {
  EXPECT_EQ(outputs(call("ioctl", {0, 0x5401 /* TCGETS */, 0x1000}, 0)),
            (Ranges{range(0x1000, 36)}));
  EXPECT_EQ(outputs(call("ioctl", {0, 0x5413 /* TIOCGWINSZ */, 0x1000}, 0)),
            (Ranges{range(0x1000, 8)}));
  EXPECT_EQ(outputs(call("ioctl", {0, 0x541B /* FIONREAD */, 0x1000}, 0)),
            (Ranges{range(0x1000, 4)}));
  EXPECT_EQ(outputs(call("ioctl", {0, 0x5421 /* FIONBIO */, 0x1000}, 0)), Ranges{});
  // A tty request on a file that is not a terminal fails and writes nothing.
  EXPECT_EQ(outputs(call("ioctl", {0, 0x5401, 0x1000}, -ENOTTY)), Ranges{});
}

TEST(SyscallTable, UnknownIoctlIsAnError) {
  FakeMem mem;
  std::vector<MemRange> out;
  EXPECT_EQ(syscall_outputs(call("ioctl", {0, 0xdead, 0x1000}, 0), mem, out),
            "ioctl request 0xdead is not supported yet");
}

// The requests whose size is fixed: exactly the bytes the kernel's handler
// stores, which is not always the size in the request's number.
TEST(SyscallTable, IoctlFixedSizes) {
  struct Case {
    const char* what;
    uint32_t request;
    uint64_t writes;
  };
  const Case cases[] = {
      {"FS_IOC_GETVERSION (declared long, stores an int)", 0x80087601, 4},
      {"FS_IOC_GETFLAGS (declared long, stores an int)", 0x80086601, 4},
      {"FS_IOC_FSGETXATTR", 0x801c581f, 28},
      {"RNDGETENTCNT", 0x80045200, 4},
      {"TIOCGICOUNT", 0x545d, 80},
      {"TIOCSERGETLSR", 0x5459, 4},
      {"VT_OPENQRY", 0x5600, 4},
      {"VT_GETSTATE", 0x5603, 6},
      {"KDGKBMODE", 0x4b44, 4},
      {"SIOCGIFFLAGS", 0x8913, 40},
      {"SIOCGIFINDEX", 0x8933, 40},
      {"SIOCSIFFLAGS", 0x8914, 0},
      {"SIOCSIFADDR", 0x8916, 0},
      {"SIOCSIFNETMASK", 0x891c, 0},
      {"SIOCADDRT", 0x890b, 0},
      {"SIOCDELRT", 0x890c, 0},
      {"SIOCBRADDBR", 0x89a0, 0},
      {"SIOCBRDELBR", 0x89a1, 0},
      {"SIOCBRADDIF", 0x89a2, 0},
      {"SIOCBRDELIF", 0x89a3, 0},
      {"TUNGETFEATURES", 0x800454cf, 4},
      {"TUNSETIFF (declared int, stores the ifreq)", 0x400454ca, 40},
      {"TUNGETIFF (declared unsigned int, stores the ifreq)", 0x800454d2, 40},
      {"TUNGETSNDBUF", 0x800454d3, 4},
      {"TUNGETVNETHDRSZ", 0x800454d7, 4},
      {"TUNDETACHFILTER", 0x401054d6, 0},
      {"TUNGETFILTER", 0x801054db, 16},
      {"PERF_EVENT_IOC_ENABLE", 0x2400, 0},
      {"PERF_EVENT_IOC_DISABLE", 0x2401, 0},
      {"PERF_EVENT_IOC_RESET", 0x2403, 0},
      {"PERF_EVENT_IOC_ID", 0x80082407, 8},
  };
  for (const Case& c : cases) {
    Ranges expected;
    if (c.writes != 0) expected.push_back(range(0x1000, c.writes));
    EXPECT_EQ(outputs(call("ioctl", {3, c.request, 0x1000}, 0)), expected) << c.what;
    EXPECT_EQ(outputs(call("ioctl", {3, c.request, 0x1000}, -EPERM)), Ranges{}) << c.what;
  }
}

// A request the table does not know that the kernel refused wrote nothing;
// one it answered stops the recording.
TEST(SyscallTable, UnknownIoctlThatFailedIsKept) {
  EXPECT_EQ(outputs(call("ioctl", {3, 0xdead, 0x1000}, -ENOTTY)), Ranges{});
  std::vector<MemRange> out;
  EXPECT_EQ(outputs_why(call("ioctl", {3, 0x80087602, 0x1000}, 0), out),
            "ioctl request 0x80087602 is not supported yet");
}

struct FiemapHeader {
  uint64_t start, length;
  uint32_t flags, mapped_extents, extent_count, reserved;
};
static_assert(sizeof(FiemapHeader) == 32);

// FS_IOC_FIEMAP: the header and the extents the kernel filled (56 bytes
// each), also when the call failed after asking the file system.
TEST(SyscallTable, Fiemap) {
  const uint32_t kFiemap = 0xc020660b;
  FakeMem mem;
  mem.put_val(0x1000, FiemapHeader{0, ~0ull, 0, 3, 10, 0});
  EXPECT_EQ(outputs(call("ioctl", {3, kFiemap, 0x1000}, 0), mem),
            (Ranges{range(0x1000, 32), range(0x1020, 3 * 56)}));
  // With no room for extents the kernel only counts them.
  mem.put_val(0x2000, FiemapHeader{0, ~0ull, 0, 7, 0, 0});
  EXPECT_EQ(outputs(call("ioctl", {3, kFiemap, 0x2000}, 0), mem), (Ranges{range(0x2000, 32)}));
  // Never more than the array holds.
  mem.put_val(0x3000, FiemapHeader{0, ~0ull, 0, 9, 2, 0});
  EXPECT_EQ(outputs(call("ioctl", {3, kFiemap, 0x3000}, 0), mem),
            (Ranges{range(0x3000, 32), range(0x3020, 2 * 56)}));
  // A failure leaves the header (harmless when the kernel did not store
  // it); a stale count over memory that is not there records no extents.
  mem.put_val(0x4000, FiemapHeader{0, ~0ull, 0, 1000, 1000, 0});
  EXPECT_EQ(outputs(call("ioctl", {3, kFiemap, 0x4000}, -EOPNOTSUPP), mem), (Ranges{range(0x4000, 32)}));
  std::vector<char> extent(56, 0);
  mem.put(0x5020, extent.data(), extent.size());
  mem.put_val(0x5000, FiemapHeader{0, ~0ull, 0, 1, 4, 0});
  EXPECT_EQ(outputs(call("ioctl", {3, kFiemap, 0x5000}, -EIO), mem),
            (Ranges{range(0x5000, 32), range(0x5020, 56)}));
  EXPECT_EQ(outputs(call("ioctl", {3, kFiemap, 0x6000}, -EFAULT), mem), Ranges{});
}

// SIOCGIFBR: three longs, an operation and its arguments; only
// BRCTL_GET_BRIDGES writes, `ret` ints at the second.
TEST(SyscallTable, OldBridgeIoctl) {
  const uint32_t kSiocgifbr = 0x8940;
  FakeMem mem;
  uint64_t get_bridges[3] = {1, 0x2000, 1024};
  mem.put_val(0x1000, get_bridges);
  EXPECT_EQ(outputs(call("ioctl", {3, kSiocgifbr, 0x1000}, 2), mem), (Ranges{range(0x2000, 8)}));
  uint64_t get_version[3] = {0, 0, 0};
  mem.put_val(0x3000, get_version);
  EXPECT_EQ(outputs(call("ioctl", {3, kSiocgifbr, 0x3000}, 1), mem), Ranges{});
  EXPECT_EQ(outputs(call("ioctl", {3, kSiocgifbr, 0x1000}, -EOPNOTSUPP), mem), Ranges{});
  uint64_t unknown[3] = {0x13371337, 0, 0};
  mem.put_val(0x4000, unknown);
  std::vector<MemRange> out;
  EXPECT_EQ(syscall_outputs(call("ioctl", {3, kSiocgifbr, 0x4000}, 0), mem, out),
            "ioctl SIOCGIFBR operation 322376503 is not supported yet");
}

// syslog: the reading actions (2, 3, 4) fill `ret` bytes.
TEST(SyscallTable, Syslog) {
  EXPECT_EQ(outputs(call("syslog", {3, 0x1000, 500}, 120)), (Ranges{range(0x1000, 120)}));
  EXPECT_EQ(outputs(call("syslog", {2, 0x1000, 500}, 7)), (Ranges{range(0x1000, 7)}));
  EXPECT_EQ(outputs(call("syslog", {4, 0x1000, 500}, 500)), (Ranges{range(0x1000, 500)}));
  EXPECT_EQ(outputs(call("syslog", {10, 0x1000, 42}, 65536)), Ranges{});  // SIZE_BUFFER
  EXPECT_EQ(outputs(call("syslog", {3, 0x1000, 500}, -EPERM)), Ranges{});
}

TEST(SyscallTable, Quotactl) {
  auto qcmd = [](uint64_t cmd, uint64_t type) { return (cmd << 8) | type; };
  EXPECT_EQ(outputs(call("quotactl", {qcmd(0x800007, 0), 0x10, 1000, 0x1000}, 0)),
            (Ranges{range(0x1000, 72)}));  // Q_GETQUOTA: if_dqblk
  EXPECT_EQ(outputs(call("quotactl", {qcmd(0x800005, 1), 0x10, 0, 0x1000}, 0)),
            (Ranges{range(0x1000, 24)}));  // Q_GETINFO: if_dqinfo
  EXPECT_EQ(outputs(call("quotactl", {qcmd(0x800004, 0), 0x10, 0, 0x1000}, 0)),
            (Ranges{range(0x1000, 4)}));  // Q_GETFMT
  EXPECT_EQ(outputs(call("quotactl", {qcmd(0x800009, 0), 0x10, 0, 0x1000}, 0)),
            (Ranges{range(0x1000, 72)}));  // Q_GETNEXTQUOTA: if_nextdqblk
  EXPECT_EQ(outputs(call("quotactl", {qcmd(0x5803, 0), 0x10, 0, 0x1000}, 0)),
            (Ranges{range(0x1000, 112)}));  // Q_XGETQUOTA: fs_disk_quota
  EXPECT_EQ(outputs(call("quotactl", {qcmd(0x800008, 0), 0x10, 0, 0x1000}, 0)), Ranges{});  // Q_SETQUOTA
  EXPECT_EQ(outputs(call("quotactl", {qcmd(0x800007, 0), 0x10, 0, 0x1000}, -ESRCH)), Ranges{});
  // rr's test asks with a command no kernel knows, which fails.
  EXPECT_EQ(outputs(call("quotactl", {0x12345678, 0x10, 0, 0x1000}, -EINVAL)), Ranges{});
  std::vector<MemRange> out;
  EXPECT_EQ(outputs_why(call("quotactl", {0x12345678, 0x10, 0, 0x1000}, 0), out),
            "quotactl command 1193046 is not supported yet");
}

// _sysctl: only the ENOSYS of kernels since 5.5 is recorded.
TEST(SyscallTable, Sysctl) {
  EXPECT_EQ(outputs(call("_sysctl", {0x1000}, -ENOSYS)), Ranges{});
  std::vector<MemRange> out;
  EXPECT_NE(outputs_why(call("_sysctl", {0x1000}, 0), out), "");
  EXPECT_NE(outputs_why(call("_sysctl", {0x1000}, -EPERM), out), "");
}

// keyctl: what copies out copies at most the buffer's length of an answer
// whose full length it returns.
TEST(SyscallTable, Keyctl) {
  EXPECT_EQ(outputs(call("keyctl", {6 /* DESCRIBE */, 5, 0x1000, 256}, 30)), (Ranges{range(0x1000, 30)}));
  EXPECT_EQ(outputs(call("keyctl", {6, 5, 0x1000, 16}, 30)), (Ranges{range(0x1000, 16)}));
  EXPECT_EQ(outputs(call("keyctl", {6, 5, 0, 0}, 30)), Ranges{});
  EXPECT_EQ(outputs(call("keyctl", {11 /* READ */, 5, 0x1000, 256}, 10)), (Ranges{range(0x1000, 10)}));
  EXPECT_EQ(outputs(call("keyctl", {17 /* GET_SECURITY */, 5, 0x1000, 256}, 11)), (Ranges{range(0x1000, 11)}));
  EXPECT_EQ(outputs(call("keyctl", {23 /* DH_COMPUTE */, 0x2000, 0x1000, 256, 0}, 256)),
            (Ranges{range(0x1000, 256)}));
  EXPECT_EQ(outputs(call("keyctl", {31 /* CAPABILITIES */, 0x1000, 8}, 2)), (Ranges{range(0x1000, 2)}));
  EXPECT_EQ(outputs(call("keyctl", {24 /* PKEY_QUERY */, 5, 0, 0x2000, 0x1000}, 0)), (Ranges{range(0x1000, 56)}));
  EXPECT_EQ(outputs(call("keyctl", {5 /* SETPERM */, 5, 0x3f3f0000}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("keyctl", {21 /* INVALIDATE */, 5}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("keyctl", {11, 5, 0x1000, 256}, -EACCES)), Ranges{});
  EXPECT_EQ(outputs(call("add_key", {0x10, 0x20, 0x30, 10, (uint64_t)-2}, 77)), Ranges{});
  std::vector<MemRange> out;
  EXPECT_EQ(outputs_why(call("keyctl", {99, 0x1000, 8}, 0), out), "keyctl operation 99 is not supported yet");
}

// get_mempolicy: the mode int, and maxnode - 1 bits rounded up to longs.
TEST(SyscallTable, GetMempolicy) {
  EXPECT_EQ(outputs(call("get_mempolicy", {0x1000, 0x2000, 4096, 0, 0}, 0)),
            (Ranges{range(0x1000, 4), range(0x2000, 512)}));
  EXPECT_EQ(outputs(call("get_mempolicy", {0x1000, 0x2000, 64, 0, 0}, 0)),
            (Ranges{range(0x1000, 4), range(0x2000, 8)}));
  EXPECT_EQ(outputs(call("get_mempolicy", {0x1000, 0x2000, 65, 0, 0}, 0)),
            (Ranges{range(0x1000, 4), range(0x2000, 8)}));
  EXPECT_EQ(outputs(call("get_mempolicy", {0x1000, 0x2000, 66, 0, 0}, 0)),
            (Ranges{range(0x1000, 4), range(0x2000, 16)}));
  EXPECT_EQ(outputs(call("get_mempolicy", {0, 0, 0, 0, 0}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("get_mempolicy", {0x1000, 0x2000, 64, 0, 0}, -EINVAL)), Ranges{});
  EXPECT_EQ(outputs(call("set_mempolicy", {2, 0x2000, 64}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("mbind", {0x10000, 0x10000, 1, 0, 0, 2}, 0)), Ranges{});
}

// perf_event_open: a new descriptor (PERF_FLAG_FD_CLOEXEC), and on E2BIG
// the size it knows stored in attr.size.
TEST(SyscallTable, PerfEventOpen) {
  EXPECT_EQ(outputs(call("perf_event_open", {0x1000, 0, (uint64_t)-1, (uint64_t)-1, 0}, 3)), Ranges{});
  EXPECT_EQ(outputs(call("perf_event_open", {0x1000, 0, (uint64_t)-1, (uint64_t)-1, 0}, -E2BIG)),
            (Ranges{range(0x1004, 4)}));
  EXPECT_EQ(outputs(call("perf_event_open", {0x1000, 0, (uint64_t)-1, (uint64_t)-1, 0}, -EACCES)), Ranges{});
  const SyscallDesc* d = syscall_desc(syscall_number("perf_event_open"));
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->fds.op, FdOp::NewInResult);
  EXPECT_EQ(d->fds.flags, 4);
  EXPECT_EQ(d->fds.cloexec, 8u);
}

// landlock_create_ruleset returns a descriptor, or its ABI version when
// asked for it.
TEST(SyscallTable, LandlockRuleset) {
  const SyscallDesc* d = syscall_desc(syscall_number("landlock_create_ruleset"));
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->policy, ReplayPolicy::Emulate);
  uint64_t create[6] = {0x1000, 8, 0, 0, 0, 0};
  uint64_t version[6] = {0, 0, 1, 0, 0, 0};
  uint64_t errata[6] = {0, 0, 2, 0, 0, 0};
  EXPECT_TRUE(d->fds.new_fd_in_result(create));
  EXPECT_FALSE(d->fds.new_fd_in_result(version));
  EXPECT_FALSE(d->fds.new_fd_in_result(errata));
  EXPECT_EQ(d->fds.cloexec, 02000000u);
  EXPECT_EQ(outputs(call("landlock_add_rule", {3, 1, 0x1000, 0}, 0)), Ranges{});
}

TEST(SyscallTable, UnknownSyscallIsAnError) {
  FakeMem mem;
  std::vector<MemRange> out;
  EXPECT_EQ(syscall_outputs(call("lookup_dcookie", {}, 0), mem, out),
            "syscall lookup_dcookie (212) is not supported yet");
  EXPECT_EQ(syscall_outputs(call("io_uring_setup", {}, 3), mem, out),
            "syscall io_uring_setup (425) is not supported yet");
  SyscallArgs c;
  c.nr = 0x100000000LL + 1000;  // 1000 through the high bits: not a number the kernel ignores
  EXPECT_EQ(syscall_outputs(c, mem, out), "syscall syscall_4294968296 (4294968296) is not supported yet");
  EXPECT_TRUE(out.empty());
}

TEST(SyscallTable, CloneWritesTheParentTid) {
  // clone(flags, stack, parent_tid, child_tid, tls): the new tid goes to
  // parent_tid with CLONE_PARENT_SETTID; the child's word is not the parent's write.
  EXPECT_EQ(outputs(call("clone", {CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, 0, 0x3000, 0x4000, 0}, 77)),
            (Ranges{range(0x3000, 4)}));
  EXPECT_EQ(outputs(call("clone", {SIGCHLD, 0, 0x3000, 0x4000, 0}, 77)), Ranges{});
  EXPECT_EQ(outputs(call("clone", {CLONE_PARENT_SETTID, 0, 0x3000, 0, 0}, -11)), Ranges{});
}

TEST(SyscallTable, StatFamily) {
  EXPECT_EQ(outputs(call("fstat", {3, 0x1000}, 0)), (Ranges{range(0x1000, 144)}));
  EXPECT_EQ(outputs(call("newfstatat", {3, 0x2000, 0x1000, 0}, 0)), (Ranges{range(0x1000, 144)}));
  EXPECT_EQ(outputs(call("statx", {3, 0x2000, 0, 0xfff, 0x1000}, 0)), (Ranges{range(0x1000, 256)}));
  EXPECT_EQ(outputs(call("fstat", {3, 0x1000}, -EBADF)), Ranges{});
}

TEST(SyscallTable, Poll) {
  EXPECT_EQ(outputs(call("poll", {0x1000, 3, 100}, 1)), (Ranges{range(0x1000, 24)}));
  // revents are stored even when a signal interrupts the wait.
  EXPECT_EQ(outputs(call("poll", {0x1000, 3, 100}, -EINTR)), (Ranges{range(0x1000, 24)}));
  EXPECT_EQ(outputs(call("poll", {0x1000, 3, 100}, -EFAULT)), Ranges{});
  EXPECT_EQ(outputs(call("ppoll", {0x1000, 2, 0x2000, 0, 8}, 0)),
            (Ranges{range(0x1000, 16), range(0x2000, 16)}));
}

TEST(SyscallTable, Select) {
  EXPECT_EQ(outputs(call("select", {65, 0x1000, 0, 0x3000, 0x4000}, 1)),
            (Ranges{range(0x1000, 16), range(0x3000, 16), range(0x4000, 16)}));
  // On failure only the timeout is updated.
  EXPECT_EQ(outputs(call("select", {65, 0x1000, 0, 0x3000, 0x4000}, -EINTR)),
            (Ranges{range(0x4000, 16)}));
}

TEST(SyscallTable, SocketAddressLengths) {
  FakeMem mem;
  mem.put_val<uint32_t>(0x2000, 16);
  EXPECT_EQ(outputs(call("getsockname", {3, 0x1000, 0x2000}, 0), mem),
            (Ranges{range(0x1000, 16), range(0x2000, 4)}));
  EXPECT_EQ(outputs(call("accept4", {3, 0x1000, 0x2000, 0}, 5), mem),
            (Ranges{range(0x1000, 16), range(0x2000, 4)}));
  EXPECT_EQ(outputs(call("accept", {3, 0, 0}, 5), mem), Ranges{});
  // A truncated address: the stored length is the full one, the buffer is
  // never longer than sockaddr_storage.
  mem.put_val<uint32_t>(0x2000, 1000);
  EXPECT_EQ(outputs(call("getpeername", {3, 0x1000, 0x2000}, 0), mem),
            (Ranges{range(0x1000, 128), range(0x2000, 4)}));
  // An unreadable length pointer counts as absent.
  EXPECT_EQ(outputs(call("getsockname", {3, 0x1000, 0x7000}, 0), mem), Ranges{});
  // Without a buffer getsockname and getpeername still store the length;
  // accept stores nothing then.
  EXPECT_EQ(outputs(call("getsockname", {3, 0, 0x2000}, 0), mem), (Ranges{range(0x2000, 4)}));
  EXPECT_EQ(outputs(call("getpeername", {3, 0, 0x2000}, 0), mem), (Ranges{range(0x2000, 4)}));
  EXPECT_EQ(outputs(call("accept", {3, 0, 0x2000}, 5), mem), Ranges{});

  mem.put_val<uint32_t>(0x2000, 4);
  EXPECT_EQ(outputs(call("getsockopt", {3, 1, 7, 0x1000, 0x2000}, 0), mem),
            (Ranges{range(0x1000, 4), range(0x2000, 4)}));
  mem.put_val<uint32_t>(0x6000, 16);
  EXPECT_EQ(outputs(call("recvfrom", {3, 0x1000, 64, 0, 0x5000, 0x6000}, 20), mem),
            (Ranges{range(0x1000, 20), range(0x5000, 16), range(0x6000, 4)}));
  // MSG_TRUNC: ret is the datagram's length, the buffer is shorter.
  EXPECT_EQ(outputs(call("recvfrom", {3, 0x1000, 64, 0x20, 0, 0}, 200), mem),
            (Ranges{range(0x1000, 64)}));
}

TEST(SyscallTable, SizeRules) {
  EXPECT_EQ(outputs(call("epoll_wait", {3, 0x1000, 10, 0}, 2)), (Ranges{range(0x1000, 24)}));
  EXPECT_EQ(outputs(call("getgroups", {0, 0x1000}, 5)), Ranges{});
  EXPECT_EQ(outputs(call("getgroups", {8, 0x1000}, 5)), (Ranges{range(0x1000, 20)}));
  EXPECT_EQ(outputs(call("getxattr", {0x9000, 0x9100, 0x1000, 0}, 30)), Ranges{});
  EXPECT_EQ(outputs(call("rt_sigprocmask", {0, 0x2000, 0x1000, 8}, 0)), (Ranges{range(0x1000, 8)}));
  EXPECT_EQ(outputs(call("rt_sigaction", {2, 0x2000, 0x1000, 8}, 0)), (Ranges{range(0x1000, 32)}));
  EXPECT_EQ(outputs(call("pipe2", {0x1000, 0}, 0)), (Ranges{range(0x1000, 8)}));
  EXPECT_EQ(outputs(call("prlimit64", {0, 7, 0, 0x1000}, 0)), (Ranges{range(0x1000, 16)}));
  EXPECT_EQ(outputs(call("wait4", {0xffffffffffffffff, 0x1000, 0, 0x2000}, 42)),
            (Ranges{range(0x1000, 4), range(0x2000, 144)}));
  EXPECT_EQ(outputs(call("uname", {0x1000}, 0)), (Ranges{range(0x1000, 390)}));
  EXPECT_EQ(outputs(call("mincore", {0x10000, 4097, 0x1000}, 0)), (Ranges{range(0x1000, 2)}));
}

TEST(SyscallTable, Nanosleep) {
  EXPECT_EQ(outputs(call("nanosleep", {0x1000, 0x2000}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("nanosleep", {0x1000, 0x2000}, -EINTR)), (Ranges{range(0x2000, 16)}));
  EXPECT_EQ(outputs(call("nanosleep", {0x1000, 0x2000}, -516 /* ERESTART_RESTARTBLOCK */)),
            (Ranges{range(0x2000, 16)}));
  EXPECT_EQ(outputs(call("clock_nanosleep", {1, 0, 0x1000, 0x2000}, -EINTR)),
            (Ranges{range(0x2000, 16)}));
  // An absolute sleep has no remaining time.
  EXPECT_EQ(outputs(call("clock_nanosleep", {1, 1 /* TIMER_ABSTIME */, 0x1000, 0x2000}, -EINTR)),
            Ranges{});
}

TEST(SyscallTable, Fcntl) {
  EXPECT_EQ(outputs(call("fcntl", {3, 5 /* F_GETLK */, 0x1000}, 0)), (Ranges{range(0x1000, 32)}));
  EXPECT_EQ(outputs(call("fcntl", {3, 1 /* F_GETFD */, 0}, 1)), Ranges{});
}

TEST(SyscallTable, Prctl) {
  EXPECT_EQ(outputs(call("prctl", {16 /* PR_GET_NAME */, 0x1000}, 0)), (Ranges{range(0x1000, 16)}));
  EXPECT_EQ(outputs(call("prctl", {15 /* PR_SET_NAME */, 0x1000}, 0)), Ranges{});
  EXPECT_EQ(outputs(call("arch_prctl", {0x1003 /* ARCH_GET_FS */, 0x1000}, 0)),
            (Ranges{range(0x1000, 8)}));
  EXPECT_EQ(outputs(call("arch_prctl", {0x1002 /* ARCH_SET_FS */, 0x1000}, 0)), Ranges{});
}

TEST(SyscallTable, Capget) {
  FakeMem mem;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  mem.put_val(0x1000, hdr);
  EXPECT_EQ(outputs(call("capget", {0x1000, 0x2000}, 0), mem),
            (Ranges{range(0x1000, 8), range(0x2000, 24)}));
  // Probing the version: the kernel stores it in the header and fails.
  EXPECT_EQ(outputs(call("capget", {0x1000, 0x2000}, -EINVAL), mem), (Ranges{range(0x1000, 8)}));
}

TEST(SyscallTable, Futex) {
  EXPECT_EQ(outputs(call("futex", {0x1000, 128 /* FUTEX_WAIT_PRIVATE */, 0, 0}, -EAGAIN)),
            Ranges{});
  EXPECT_EQ(outputs(call("futex", {0x1000, 5 /* FUTEX_WAKE_OP */, 1, 1, 0x2000, 0}, 1)),
            (Ranges{range(0x2000, 4)}));
  EXPECT_EQ(outputs(call("futex", {0x1000, 6 /* FUTEX_LOCK_PI */, 0, 0}, -ETIMEDOUT)),
            (Ranges{range(0x1000, 4)}));
}

// The echo of `replay -a` knows a writer only through its row: every
// syscall that writes data to a descriptor must say which argument holds it
// and where the bytes are. A fifth writer missing from a list kept beside
// the table is how `rr record cat FILE` replayed empty.
TEST(SyscallTable, EveryWriterNamesItsDescriptorAndData) {
  struct Want {
    const char* name;
    int fd;
    WrittenData data;
  };
  const Want kWriters[] = {
      {"write", 0, WrittenData::Buffer},        {"pwrite64", 0, WrittenData::Buffer},
      {"writev", 0, WrittenData::Iovec},        {"pwritev", 0, WrittenData::Iovec},
      {"pwritev2", 0, WrittenData::Iovec},      {"vmsplice", 0, WrittenData::Iovec},
      {"sendto", 0, WrittenData::Buffer},       {"sendmsg", 0, WrittenData::Msghdr},
      {"sendmmsg", 0, WrittenData::Mmsghdr},    {"sendfile", 0, WrittenData::FromFd},
      {"splice", 2, WrittenData::FromFd},       {"tee", 1, WrittenData::FromFd},
      {"copy_file_range", 2, WrittenData::FromFd}, {"ftruncate", 0, WrittenData::Resize},
      {"fallocate", 0, WrittenData::Resize},
  };
  std::set<std::string> expected;
  for (const Want& w : kWriters) {
    expected.insert(w.name);
    const SyscallDesc* d = syscall_desc(syscall_number(w.name));
    ASSERT_NE(d, nullptr) << w.name;
    EXPECT_EQ(d->write.fd, w.fd) << w.name;
    EXPECT_EQ(d->write.data, w.data) << w.name;
  }
  // And no other row claims to write: the shared-mapping rescan and the echo
  // would look at the wrong descriptor.
  for (int64_t nr = 0; nr < 600; ++nr) {
    const SyscallDesc* d = syscall_desc(nr);
    if (d == nullptr || !d->write.writes()) continue;
    EXPECT_EQ(expected.count(d->name), 1u) << d->name << " has a write column the test does not expect";
  }
  const SyscallDesc* sendfile = syscall_desc(syscall_number("sendfile"));
  EXPECT_EQ(sendfile->write.src, 1);
  EXPECT_EQ(sendfile->write.src_off, 2);
  EXPECT_EQ(sendfile->write.off, -1);
  EXPECT_EQ(sendfile->write.count, 3);
  const SyscallDesc* cfr = syscall_desc(syscall_number("copy_file_range"));
  EXPECT_EQ(cfr->write.src, 0);
  EXPECT_EQ(cfr->write.src_off, 1);
  EXPECT_EQ(cfr->write.off, 3);
  EXPECT_EQ(cfr->write.count, 4);
  const SyscallDesc* splice = syscall_desc(syscall_number("splice"));
  EXPECT_EQ(splice->write.src, 0);
  EXPECT_EQ(splice->write.count, 4);
  const SyscallDesc* tee = syscall_desc(syscall_number("tee"));
  EXPECT_EQ(tee->write.src, 0);
  EXPECT_EQ(tee->write.count, 2);
  const SyscallDesc* read = syscall_desc(syscall_number("read"));
  EXPECT_FALSE(read->write.writes());
}

TEST(SyscallTable, WrittenBytesFromABuffer) {
  FakeMem mem;
  mem.put(0x1000, "hello, world", 12);
  std::string got;
  ASSERT_TRUE(written_bytes(call("write", {1, 0x1000, 12}, 5), mem, got));
  EXPECT_EQ(got, "hello");  // a short write sent the first 5 bytes
  ASSERT_TRUE(written_bytes(call("sendto", {1, 0x1007, 5, 0, 0, 0}, 5), mem, got));
  EXPECT_EQ(got, "world");
  EXPECT_FALSE(written_bytes(call("write", {1, 0x1000, 12}, -EPIPE), mem, got));
  EXPECT_FALSE(written_bytes(call("write", {1, 0x9000, 12}, 12), mem, got));  // unreadable
  EXPECT_FALSE(written_bytes(call("read", {0, 0x1000, 12}, 12), mem, got));
  ASSERT_TRUE(written_bytes(call("write", {1, 0, 0}, 0), mem, got));
  EXPECT_EQ(got, "");
}

TEST(SyscallTable, WrittenBytesFromIovecsAndMessages) {
  FakeMem mem;
  mem.put(0x3000, "abcd", 4);
  mem.put(0x4000, "efghijkl", 8);
  Iov iov[2] = {{0x3000, 4}, {0x4000, 8}};
  mem.put(0x2000, iov, sizeof iov);
  std::string got;
  ASSERT_TRUE(written_bytes(call("writev", {1, 0x2000, 2}, 10), mem, got));
  EXPECT_EQ(got, "abcdefghij");
  ASSERT_TRUE(written_bytes(call("pwritev2", {1, 0x2000, 2, 0, 0, 0}, 3), mem, got));
  EXPECT_EQ(got, "abc");

  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_iov = reinterpret_cast<struct iovec*>(0x2000);
  msg.msg_iovlen = 2;
  mem.put_val(0x5000, msg);
  ASSERT_TRUE(written_bytes(call("sendmsg", {1, 0x5000, 0}, 6), mem, got));
  EXPECT_EQ(got, "abcdef");

  // sendmmsg returns how many messages went; each one's length is the
  // msg_len the kernel stored.
  struct mmsghdr m[2];
  std::memset(m, 0, sizeof m);
  m[0].msg_hdr.msg_iov = reinterpret_cast<struct iovec*>(0x2000);
  m[0].msg_hdr.msg_iovlen = 1;
  m[0].msg_len = 2;
  m[1].msg_hdr.msg_iov = reinterpret_cast<struct iovec*>(0x2010);
  m[1].msg_hdr.msg_iovlen = 1;
  m[1].msg_len = 3;
  mem.put(0x6000, m, sizeof m);
  ASSERT_TRUE(written_bytes(call("sendmmsg", {1, 0x6000, 2, 0}, 2), mem, got));
  EXPECT_EQ(got, "abefg");
  ASSERT_TRUE(written_bytes(call("sendmmsg", {1, 0x6000, 2, 0}, 1), mem, got));
  EXPECT_EQ(got, "ab");
}

TEST(SyscallTable, BytesFromAnotherDescriptorAreNotInMemory) {
  FakeMem mem;
  std::string got;
  EXPECT_FALSE(written_bytes(call("sendfile", {1, 3, 0, 100}, 100), mem, got));
  EXPECT_FALSE(written_bytes(call("splice", {3, 0, 1, 0, 100, 0}, 100), mem, got));
  EXPECT_FALSE(written_bytes(call("copy_file_range", {3, 0, 1, 0, 100, 0}, 100), mem, got));
  EXPECT_FALSE(written_bytes(call("tee", {3, 1, 100, 0}, 100), mem, got));
  EXPECT_FALSE(written_bytes(call("ftruncate", {1, 0}, 0), mem, got));
}

TEST(SyscallTable, WaitMasks) {
  FakeMem mem;
  RemotePtr<> mask;
  uint64_t size = 0;
  ASSERT_TRUE(installed_sigmask(call("rt_sigsuspend", {0x100, 8}, -EINTR), mem, &mask, &size));
  EXPECT_EQ(mask.as_int(), 0x100u);
  EXPECT_EQ(size, 8u);
  ASSERT_TRUE(installed_sigmask(call("ppoll", {0x10, 1, 0, 0x200, 8}, 0), mem, &mask, &size));
  EXPECT_EQ(mask.as_int(), 0x200u);
  ASSERT_TRUE(installed_sigmask(call("epoll_pwait2", {3, 0x10, 1, 0, 0x300, 8}, 0), mem, &mask, &size));
  EXPECT_EQ(mask.as_int(), 0x300u);
  // pselect6's last argument points to {mask pointer, size}.
  uint64_t pair[2] = {0x400, 8};
  mem.put(0x500, pair, sizeof pair);
  ASSERT_TRUE(installed_sigmask(call("pselect6", {1, 0, 0, 0, 0, 0x500}, 0), mem, &mask, &size));
  EXPECT_EQ(mask.as_int(), 0x400u);
  EXPECT_EQ(size, 8u);
  EXPECT_FALSE(installed_sigmask(call("pselect6", {1, 0, 0, 0, 0, 0}, 0), mem, &mask, &size));
  EXPECT_FALSE(installed_sigmask(call("ppoll", {0x10, 1, 0, 0, 8}, 0), mem, &mask, &size));  // no mask
  EXPECT_FALSE(installed_sigmask(call("poll", {0x10, 1, 0}, 0), mem, &mask, &size));
}

// waitid stores six fields of the siginfo, its first 28 bytes, on success
// and on failure (zeroed then), but not when the buffer faulted.
TEST(SyscallTable, WaitidInfoEvenOnFailure) {
  EXPECT_EQ(outputs(call("waitid", {3, 5, 0x1000, 4, 0}, 0)), (Ranges{range(0x1000, 28)}));
  EXPECT_EQ(outputs(call("waitid", {3, 0, 0x1000, 4, 0}, -EBADF)), (Ranges{range(0x1000, 28)}));
  EXPECT_EQ(outputs(call("waitid", {3, 0, 0x1000, 4, 0}, -EFAULT)), Ranges{});
  EXPECT_EQ(outputs(call("waitid", {0, 0, 0x1000, 4, 0x2000}, 0)), (Ranges{range(0x1000, 28), range(0x2000, 144)}));
}

// setsockopt stores nothing, except a netfilter table replacement: the old
// counters, through the pointer inside the option.
TEST(SyscallTable, NetfilterReplaceCounters) {
  FakeMem mem;
  mem.put_val<uint32_t>(0x1000 + offsetof(struct ipt_replace, num_counters), 3);
  mem.put_val<uint64_t>(0x1000 + offsetof(struct ipt_replace, counters), 0x5000);
  EXPECT_EQ(outputs(call("setsockopt", {3, SOL_IP, IPT_SO_SET_REPLACE, 0x1000, 200}, 0), mem),
            (Ranges{range(0x5000, 3 * sizeof(struct xt_counters))}));
  EXPECT_EQ(outputs(call("setsockopt", {3, SOL_IPV6, IP6T_SO_SET_REPLACE, 0x1000, 200}, 0), mem),
            (Ranges{range(0x5000, 48)}));
  EXPECT_EQ(outputs(call("setsockopt", {3, SOL_SOCKET, SO_REUSEADDR, 0x1000, 4}, 0), mem), Ranges{});
  EXPECT_EQ(outputs(call("setsockopt", {3, SOL_IP, IPT_SO_SET_REPLACE, 0x1000, 200}, -EPERM), mem), Ranges{});
}

// Replay executes the limit changes it must share, and only those.
TEST(SyscallTable, LimitsReplayShares) {
  auto executed = [](const SyscallArgs& c) {
    const SyscallDesc* d = syscall_desc(c.nr);
    return d && d->executed_when && d->executed_when(c);
  };
  EXPECT_TRUE(executed(call("setrlimit", {RLIMIT_STACK, 0x1000}, 0)));
  EXPECT_TRUE(executed(call("setrlimit", {RLIMIT_DATA, 0x1000}, 0)));
  EXPECT_TRUE(executed(call("prlimit64", {0, RLIMIT_MEMLOCK, 0x1000, 0x2000}, 0)));
  EXPECT_FALSE(executed(call("prlimit64", {0, RLIMIT_STACK, 0, 0x2000}, 0)));  // only reads it
  EXPECT_FALSE(executed(call("setrlimit", {RLIMIT_CPU, 0x1000}, 0)));    // would signal replay at its own pace
  EXPECT_FALSE(executed(call("setrlimit", {RLIMIT_NOFILE, 0x1000}, 0)));
  EXPECT_FALSE(executed(call("getrlimit", {RLIMIT_STACK, 0x1000}, 0)));
  EXPECT_TRUE(syscall_desc(syscall_number("sched_setaffinity"))->unpins);
  EXPECT_FALSE(syscall_desc(syscall_number("sched_getaffinity"))->unpins);
}

// Clones recording cannot follow are refused at their entry, with the
// reason; the others go on.
TEST(SyscallTable, ClonesRefusedAtEntry) {
  FakeMem mem;
  auto why = [&](uint64_t flags) { return refused_at_entry(call("clone", {flags, 0, 0, 0, 0}, 0), mem, 1); };
  EXPECT_EQ(why(SIGCHLD), "");
  EXPECT_EQ(why(CLONE_VM | CLONE_THREAD | CLONE_SIGHAND), "");
  EXPECT_EQ(why(CLONE_VM | CLONE_VFORK | SIGCHLD), "");
  // The recorder takes CLONE_UNTRACED out of clone's register (not out of
  // clone3's struct), and follows processes sharing their parent's memory
  // (LeakSanitizer's helper).
  EXPECT_EQ(why(CLONE_UNTRACED | SIGCHLD), "");
  EXPECT_EQ(why(CLONE_VM | SIGCHLD), "");
  EXPECT_EQ(why(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED), "");
  uint64_t clone3_flags = CLONE_UNTRACED;
  mem.put_val(0x5000, clone3_flags);
  EXPECT_NE(refused_at_entry(call("clone3", {0x5000, 88}, 0), mem, 1).find("CLONE_UNTRACED"), std::string::npos);
  // A new PID namespace is made again in replay.
  EXPECT_EQ(why(CLONE_NEWPID | SIGCHLD), "");
  // Flags the kernel refuses before it makes anything: the call fails.
  EXPECT_EQ(why(0xffffffff), "");
  EXPECT_NE(why(SIGUSR1).find("exit signal"), std::string::npos);
  EXPECT_EQ(refused_at_entry(call("fork", {}, 0), mem, 1), "");
}

}  // namespace
}  // namespace rr
