#include "core/task.h"
#include "core/xsave_fit.h"

#include <cerrno>
#include <sys/syscall.h>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <cstddef>
#include <sys/wait.h>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "util/fatal.h"
#include "util/io.h"

namespace rr {

std::string WaitStatus::describe() const {
  if (exited()) return "exited with status " + std::to_string(exit_code());
  if (killed()) return std::string("killed by signal ") + strsignal(term_sig());
  if (is_syscall_stop()) return "syscall stop";
  if (ptrace_event()) return "ptrace event " + std::to_string(ptrace_event());
  if (stopped()) return std::string("stopped by ") + strsignal(WSTOPSIG(raw_));
  return "status " + std::to_string(raw_);
}

Task::Task(pid_t tid, RecordedTid recorded) : tid_(tid), recorded_tid_(recorded) { reopen_mem(); }

Task::~Task() {
  if (alive_) kill();
}

void Task::detach() {
  ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
  alive_ = false;
}

void Task::reopen_mem() {
  std::string path = "/proc/" + std::to_string(tid_) + "/mem";
  mem_fd_ = ScopedFd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!mem_fd_.is_open()) fatal_errno("cannot open " + path);
}

void Task::send_kill() {
  if (!alive_) return;
  syscall(SYS_tkill, tid_, SIGKILL);
  regs_cached_ = false;
  // A task sitting in a ptrace stop we already collected (PTRACE_EVENT_EXIT)
  // reports nothing new until it is let go.
  ptrace(PTRACE_CONT, tid_, nullptr, nullptr);
}

void Task::kill() {
  if (!alive_) return;
  send_kill();
  int status;
  while (waitpid(tid_, &status, __WALL) >= 0) {
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    // A stop on the way out (PTRACE_EVENT_EXIT): let it go on dying.
    ptrace(PTRACE_CONT, tid_, nullptr, nullptr);
  }
  alive_ = false;
}

void Task::set_options(long options) {
  if (ptrace(PTRACE_SETOPTIONS, tid_, nullptr, options) != 0) fatal_errno("PTRACE_SETOPTIONS");
}

void Task::resume(ResumeHow how, int sig) {
  if (!try_resume(how, sig)) fatal_errno("cannot resume tracee " + std::to_string(tid_));
}

bool Task::try_resume(ResumeHow how, int sig) {
  regs_cached_ = false;
  int req = PTRACE_CONT;
  switch (how) {
    case ResumeHow::Cont: req = PTRACE_CONT; break;
    case ResumeHow::Syscall: req = PTRACE_SYSCALL; break;
    case ResumeHow::Sysemu: req = PTRACE_SYSEMU; break;
    case ResumeHow::SingleStep: req = PTRACE_SINGLESTEP; break;
    case ResumeHow::SysemuSingleStep: req = PTRACE_SYSEMU_SINGLESTEP; break;
  }
  if (ptrace(static_cast<__ptrace_request>(req), tid_, nullptr, (void*)(long)sig) == 0) {
    held_ = false;
    return true;
  }
  if (errno == ESRCH) return false;
  fatal_errno("cannot resume tracee " + std::to_string(tid_));
}

uint64_t Task::debug_reg(int i) {
  errno = 0;
  long v = ptrace(PTRACE_PEEKUSER, tid_, (void*)(offsetof(struct user, u_debugreg) + i * sizeof(long)), nullptr);
  if (errno != 0) fatal_errno("cannot read debug register " + std::to_string(i) + " of " + std::to_string(tid_));
  return (uint64_t)v;
}

void Task::set_debug_reg(int i, uint64_t v) {
  if (!try_set_debug_reg(i, v))
    fatal_errno("cannot set debug register " + std::to_string(i) + " of " + std::to_string(tid_));
}

bool Task::try_set_debug_reg(int i, uint64_t v) {
  return ptrace(PTRACE_POKEUSER, tid_, (void*)(offsetof(struct user, u_debugreg) + i * sizeof(long)), (void*)v) == 0;
}

WaitStatus Task::wait() {
  int status;
  for (;;) {
    pid_t r = waitpid(tid_, &status, __WALL);
    if (r == tid_) break;
    if (r < 0 && errno == EINTR) continue;
    fatal_errno("waitpid for tracee " + std::to_string(tid_));
  }
  WaitStatus st(status);
  note_status(st);
  return st;
}

WaitStatus Task::wait_until_ended() {
  for (;;) {
    WaitStatus st = wait();
    if (st.ended()) return st;
    try_resume(ResumeHow::Cont);
  }
}

char proc_state(pid_t tid) {
  auto text = read_file("/proc/" + std::to_string(tid) + "/stat");
  if (!text.ok()) return 0;
  size_t close = text.value().rfind(')');
  if (close == std::string::npos || close + 2 >= text.value().size()) return 0;
  return text.value()[close + 2];
}

uint8_t debug_regs_in_use(uint8_t bits, int reg, uint64_t value) {
  if (reg < 0 || (reg > 3 && reg != 7)) return bits;
  uint8_t bit = (uint8_t)(1u << reg);
  bool set = reg == 7 ? (value & 0xff) != 0 : value != 0;
  return set ? (uint8_t)(bits | bit) : (uint8_t)(bits & ~bit);
}

void Task::wait_until_zombie() {
  auto start = std::chrono::steady_clock::now();
  for (int round = 0;; ++round) {
    char state = proc_state(tid_);
    if (state == 'Z' || state == 'X' || state == 0) return;  // 0: gone
    // Stopped: not the leader any more but a thread that exec'ed and took
    // its tid (the kernel freed the leader), now at its exec stop; a
    // leader past its exit stop never stops again.
    if (state == 't' || state == 'T') return;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) {
      RR_LOG("task %d did not become a zombie within a second (state %c)", tid_, state);
      return;
    }
    if (round < 50) sched_yield();
    else usleep(100);
  }
}

Registers Task::regs() {
  std::optional<Registers> r = try_regs();
  if (!r) fatal_errno("PTRACE_GETREGS");
  return *r;
}

std::optional<Registers> Task::try_regs() {
  if (!regs_cached_) {
    if (ptrace(PTRACE_GETREGS, tid_, nullptr, &regs_cache_) != 0) return std::nullopt;
    regs_cached_ = true;
  }
  return Registers(regs_cache_);
}

void Task::set_regs(const Registers& regs) {
  if (!try_set_regs(regs)) fatal_errno("PTRACE_SETREGS");
}

bool Task::try_set_regs(const Registers& regs) {
  regs_cached_ = false;
  return ptrace(PTRACE_SETREGS, tid_, nullptr, &regs.raw()) == 0;
}

// This machine's user XSAVE size, learnt from the first area read.
static std::atomic<size_t> g_xsave_size{0};

std::optional<std::string> Task::try_xsave() {
  std::string buf(4096 * 4, '\0');
  struct iovec iov = {buf.data(), buf.size()};
  if (ptrace(PTRACE_GETREGSET, tid_, (void*)NT_X86_XSTATE, &iov) != 0) return std::nullopt;
  buf.resize(iov.iov_len);
  g_xsave_size = iov.iov_len;
  return buf;
}

std::string Task::xsave() {
  std::optional<std::string> area = try_xsave();
  if (!area) fatal_errno("PTRACE_GETREGSET xstate");
  return *area;
}

bool Task::try_set_xsave(const std::string& area) {
  if (g_xsave_size == 0) (void)try_xsave();
  std::string buf = area;
  if (g_xsave_size != 0 && area.size() != g_xsave_size) {
    // Written on a machine of another XSAVE layout (core/xsave_fit.h).
    std::optional<std::string> fitted = fit_xsave_area(area, g_xsave_size, this_xcr0());
    if (!fitted) {
      errno = EINVAL;
      return false;
    }
    buf = std::move(*fitted);
  }
  struct iovec iov = {buf.data(), buf.size()};
  return ptrace(PTRACE_SETREGSET, tid_, (void*)NT_X86_XSTATE, &iov) == 0;
}

void Task::set_xsave(const std::string& area) {
  if (!try_set_xsave(area)) fatal_errno("PTRACE_SETREGSET xstate");
}

std::optional<siginfo_t> Task::try_siginfo() {
  siginfo_t si;
  if (ptrace(PTRACE_GETSIGINFO, tid_, nullptr, &si) != 0) return std::nullopt;
  return si;
}

siginfo_t Task::siginfo() {
  siginfo_t si;
  if (ptrace(PTRACE_GETSIGINFO, tid_, nullptr, &si) != 0) fatal_errno("PTRACE_GETSIGINFO");
  return si;
}

void Task::set_siginfo(const siginfo_t& info) {
  if (ptrace(PTRACE_SETSIGINFO, tid_, nullptr, &info) != 0) fatal_errno("PTRACE_SETSIGINFO");
}

unsigned long Task::event_msg() {
  unsigned long msg = 0;
  if (ptrace(PTRACE_GETEVENTMSG, tid_, nullptr, &msg) != 0) fatal_errno("PTRACE_GETEVENTMSG");
  return msg;
}

bool Task::at_syscall_entry() {
  struct __ptrace_syscall_info info;
  long n = ptrace(static_cast<__ptrace_request>(PTRACE_GET_SYSCALL_INFO), tid_, (void*)sizeof(info), &info);
  if (n <= 0) fatal_errno("PTRACE_GET_SYSCALL_INFO");
  compat_syscall_ = info.arch == AUDIT_ARCH_I386;
  return info.op == PTRACE_SYSCALL_INFO_ENTRY;
}

uint64_t Task::blocked_signals() {
  uint64_t mask = 0;
  if (ptrace((__ptrace_request)PTRACE_GETSIGMASK, tid_, (void*)sizeof(mask), &mask) != 0) fatal_errno("PTRACE_GETSIGMASK");
  return mask;
}

void Task::set_blocked_signals(uint64_t mask) {
  if (ptrace((__ptrace_request)PTRACE_SETSIGMASK, tid_, (void*)sizeof(mask), &mask) != 0) fatal_errno("PTRACE_SETSIGMASK");
}

// Transfers of at least this many bytes go through process_vm_readv /
// process_vm_writev first: they copy straight between the two address
// spaces, where the memory file goes through a bounce page of the kernel's
// (the syscall buffer moves up to 1 MiB at every event). They refuse memory
// without the needed protection (a read-only page to write, a PROT_NONE one
// to read), which the memory file handles as a debugger does: what they
// leave is finished through it.
static constexpr size_t kVmTransferMin = 4096;

// Bytes process_vm_readv/writev moved from the start of the range (0 when
// the first page refused).
static size_t vm_transfer(pid_t tid, bool write, void* local_buf, uint64_t remote_addr, size_t len) {
  if (len < kVmTransferMin) return 0;
  struct iovec local = {local_buf, len};
  struct iovec remote = {(void*)remote_addr, len};
  ssize_t n = write ? process_vm_writev(tid, &local, 1, &remote, 1, 0) : process_vm_readv(tid, &local, 1, &remote, 1, 0);
  return n > 0 ? (size_t)n : 0;
}

bool Task::read_mem(RemotePtr<> addr, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  uint64_t a = addr.as_int();
  size_t fast = vm_transfer(tid_, false, p, a, len);
  p += fast;
  a += fast;
  len -= fast;
  while (len > 0) {
    ssize_t n = pread(mem_fd_.get(), p, len, (off_t)a);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    p += n;
    a += n;
    len -= n;
  }
  return true;
}

std::string Task::read_bytes(RemotePtr<> addr, size_t len) {
  std::string out(len, '\0');
  read_exact(addr, out.data(), len);
  return out;
}

void Task::read_exact(RemotePtr<> addr, void* buf, size_t len) {
  if (!read_mem(addr, buf, len)) fatal_unreadable(addr, len);
}

void Task::write_mem(RemotePtr<> addr, const void* buf, size_t len) {
  if (try_write_mem(addr, buf, len)) return;
  char msg[128];
  snprintf(msg, sizeof(msg), "cannot write %zu bytes of tracee memory at 0x%llx", len, (unsigned long long)addr.as_int());
  fatal_errno(msg);
}

bool Task::try_write_mem(RemotePtr<> addr, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  uint64_t a = addr.as_int();
  size_t fast = vm_transfer(tid_, true, const_cast<char*>(p), a, len);
  p += fast;
  a += fast;
  len -= fast;
  while (len > 0) {
    ssize_t n = pwrite(mem_fd_.get(), p, len, (off_t)a);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) errno = EIO;
      return false;
    }
    p += n;
    a += n;
    len -= n;
  }
  return true;
}

void Task::write_pages(const std::vector<PageWrite>& pages) {
  // Runs of pages adjacent both in the tracee and in the source become one
  // iovec pair.
  std::vector<struct iovec> local, remote;
  for (const PageWrite& p : pages) {
    if (!local.empty() && (const uint8_t*)local.back().iov_base + local.back().iov_len == p.data &&
        (uint64_t)remote.back().iov_base + remote.back().iov_len == p.addr.as_int()) {
      local.back().iov_len += kPageSize;
      remote.back().iov_len += kPageSize;
      continue;
    }
    local.push_back({(void*)p.data, kPageSize});
    remote.push_back({(void*)p.addr.as_int(), kPageSize});
  }
  const size_t kBatch = 1024;  // IOV_MAX
  for (size_t i = 0; i < local.size(); i += kBatch) {
    size_t n = std::min(kBatch, local.size() - i);
    size_t want = 0;
    for (size_t k = i; k < i + n; ++k) want += local[k].iov_len;
    ssize_t done = process_vm_writev(tid_, &local[i], n, &remote[i], n, 0);
    if (done == (ssize_t)want) continue;
    // Read-only memory (or a partial write): finish iovec by iovec through
    // the memory file, which writes like a debugger does.
    size_t skip = done > 0 ? done : 0;
    for (size_t k = i; k < i + n; ++k) {
      size_t len = local[k].iov_len;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      write_mem(RemotePtr<>((uint64_t)remote[k].iov_base + skip), (const char*)local[k].iov_base + skip, len - skip);
      skip = 0;
    }
  }
}

void Task::fatal_unreadable(RemotePtr<> addr, size_t len) {
  char msg[128];
  snprintf(msg, sizeof(msg), "cannot read %zu bytes of tracee memory at 0x%llx", len,
           (unsigned long long)addr.as_int());
  fatal(msg);
}

}  // namespace rr
