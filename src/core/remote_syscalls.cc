#include "core/remote_syscalls.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <signal.h>
#include <sys/ptrace.h>

#include "core/rr_page.h"
#include "core/syscall_table.h"
#include "util/fatal.h"
#include "util/invariant.h"

namespace rr {

RemoteSyscalls::RemoteSyscalls(Task& task) : task_(task), insn_(kRrSyscallInsn) { saved_ = task_.regs(); }

RemoteSyscalls::RemoteSyscalls(Task& task, RemotePtr<> patch_at) : task_(task), insn_(patch_at) {
  saved_ = task_.regs();
  patched_bytes_ = task_.read_bytes(patch_at, sizeof(kRrPageCode));
  task_.write_mem(patch_at, kRrPageCode, sizeof(kRrPageCode));
  patched_ = true;
}

RemoteSyscalls::RemoteSyscalls(Task& task, MayDie) : task_(task), insn_(kRrSyscallInsn), may_die_(true) {
  std::optional<Registers> regs = task_.try_regs();
  if (regs) saved_ = *regs;
  else died_ = true;
}

RemoteSyscalls::RemoteSyscalls(Task& task, RemotePtr<> patch_at, MayDie)
    : task_(task), insn_(patch_at), may_die_(true) {
  std::optional<Registers> regs = task_.try_regs();
  patched_bytes_.resize(sizeof(kRrPageCode));
  if (!regs || !task_.read_mem(patch_at, patched_bytes_.data(), patched_bytes_.size()) ||
      !task_.try_write_mem(patch_at, kRrPageCode, sizeof(kRrPageCode))) {
    died_ = true;
    return;
  }
  saved_ = *regs;
  patched_ = true;
}

RemoteSyscalls::~RemoteSyscalls() noexcept(false) {
  if (!task_.alive()) return;
  if (died_ || may_die_ || std::uncaught_exceptions() > uncaught_at_start_) {
    // Dead, on its way out (at its exit stop or past the point of
    // stopping), or left by a failure: what can be put back is.
    if (scratch_used_ > 0 && !died_) {
      std::string zeros(scratch_used_, '\0');
      task_.try_write_mem(RemotePtr<>(kRrScratch), zeros.data(), zeros.size());
    }
    if (patched_) task_.try_write_mem(insn_, patched_bytes_.data(), patched_bytes_.size());
    task_.try_set_regs(saved_);
    return;
  }
  if (scratch_used_ > 0) {
    std::string zeros(scratch_used_, '\0');
    task_.write_mem(RemotePtr<>(kRrScratch), zeros.data(), zeros.size());
  }
  if (patched_) task_.write_mem(insn_, patched_bytes_.data(), patched_bytes_.size());
  task_.set_regs(saved_);
}

Registers RemoteSyscalls::run(const Registers& regs, RemotePtr<> trap_end) {
  auto dead = [&](std::optional<int> status) {
    died_ = true;
    end_status_ = status;
    Registers r = regs;
    r.set_syscall_result(-ESRCH);
    return r;
  };
  if (died_) return dead(end_status_);
  if (may_die_) {
    if (!task_.try_set_regs(regs) || !task_.try_resume(ResumeHow::Cont)) return dead(std::nullopt);
  } else {
    task_.set_regs(regs);
    task_.resume(ResumeHow::Cont);
  }
  for (;;) {
    WaitStatus st = task_.wait();
    if (may_die_ && (st.ended() || st.ptrace_event() == PTRACE_EVENT_EXIT)) return dead(st.raw());
    if (st.ended()) fatal("tracee " + std::to_string(task_.tid()) + " ended during an injected syscall (" + st.describe() + ")");
    int event = st.ptrace_event();
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE)
      spawned_ = (pid_t)task_.event_msg();
    int sig = st.stop_sig();
    if (sig == SIGTRAP) {
      std::optional<Registers> after = task_.try_regs();
      if (!after && may_die_) return dead(std::nullopt);
      if (!after) fatal_errno("PTRACE_GETREGS");
      if (after->ip() == trap_end) return *after;
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGTRAP || sig == SIGFPE) {
      char msg[160];
      snprintf(msg, sizeof msg, "injected syscall %lld faulted with %s at 0x%llx", (long long)regs.syscall_result(),
               strsignal(sig), (unsigned long long)task_.regs().ip().as_int());
      fatal(msg);
    }
    if (sig == SIGSTOP) {
      stop_suppressed_ = true;
    } else if (sig != 0) {
      std::optional<siginfo_t> si = task_.try_siginfo();
      if (!si && may_die_) return dead(std::nullopt);
      stashed_.push_back(si ? *si : task_.siginfo());
    }
    if (!may_die_) task_.resume(ResumeHow::Cont);
    else if (!task_.try_resume(ResumeHow::Cont)) return dead(std::nullopt);
  }
}

int64_t RemoteSyscalls::syscall(int64_t nr, std::initializer_list<uint64_t> args) {
  Registers r = saved_;
  r.set_ip(insn_);
  r.set_syscall_result(nr);
  r.set_syscallno(-1);
  int i = 0;
  for (uint64_t a : args) r.set_arg(i++, a);
  Registers after = run(r, insn_ + 3);
  return after.syscall_result();
}

namespace {

// The loop of RemoteSyscalls::batch: rbx points at a table of 64-byte
// entries (number, six arguments, result) that ends with number -1.
//   0: mov rax, [rbx]; cmp rax, -1; je end
//      mov rdi, [rbx+8]; mov rsi, [rbx+16]; mov rdx, [rbx+24]
//      mov r10, [rbx+32]; mov r8, [rbx+40]; mov r9, [rbx+48]
//      syscall; mov [rbx+56], rax
//      cmp rax, -4095; jae end (a failure)
//      add rbx, 64; jmp 0
//   end: int3
constexpr uint8_t kBatchLoop[] = {
    0x48, 0x8b, 0x03, 0x48, 0x83, 0xf8, 0xff, 0x74, 0x2c, 0x48, 0x8b, 0x7b, 0x08, 0x48, 0x8b, 0x73,
    0x10, 0x48, 0x8b, 0x53, 0x18, 0x4c, 0x8b, 0x53, 0x20, 0x4c, 0x8b, 0x43, 0x28, 0x4c, 0x8b, 0x4b,
    0x30, 0x0f, 0x05, 0x48, 0x89, 0x43, 0x38, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, 0x73, 0x06, 0x48,
    0x83, 0xc3, 0x40, 0xeb, 0xcb, 0xcc};

struct BatchEntry {
  int64_t nr;
  uint64_t args[6];
  int64_t result;
};
static_assert(sizeof(BatchEntry) == 64);

}  // namespace

std::vector<int64_t> RemoteSyscalls::batch(const std::vector<Call>& calls) {
  std::vector<int64_t> results;
  if (patched_ || may_die_) {
    for (const Call& c : calls) {
      results.push_back(syscall(c.nr, {c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]}));
      if (failed(results.back())) break;
    }
    return results;
  }
  constexpr size_t kPerRun = kRrScratchSize / sizeof(BatchEntry) - 1;  // and the end mark
  std::string kept = task_.read_bytes(RemotePtr<>(kRrBatchCode), sizeof(kBatchLoop));
  task_.write_mem(RemotePtr<>(kRrBatchCode), kBatchLoop, sizeof(kBatchLoop));
  // The page gets its bytes back also when a failure unwinds from here.
  struct PutBack {
    Task& task;
    const std::string& bytes;
    ~PutBack() { task.try_write_mem(RemotePtr<>(kRrBatchCode), bytes.data(), bytes.size()); }
  } put_back{task_, kept};
  std::vector<BatchEntry> table;
  for (size_t from = 0; from < calls.size(); from += kPerRun) {
    size_t n = std::min(kPerRun, calls.size() - from);
    table.assign(n + 1, BatchEntry{});
    for (size_t i = 0; i < n; ++i) {
      table[i].nr = calls[from + i].nr;
      std::copy(std::begin(calls[from + i].args), std::end(calls[from + i].args), table[i].args);
    }
    table[n].nr = -1;
    RemotePtr<> at = scratch(table.data(), table.size() * sizeof(BatchEntry));
    Registers r = saved_;
    r.set_ip(RemotePtr<>(kRrBatchCode));
    r.set_syscallno(-1);
    r.raw().rbx = at.as_int();
    run(r, RemotePtr<>(kRrBatchCode + sizeof(kBatchLoop)));
    std::string done = task_.read_bytes(at, n * sizeof(BatchEntry));
    memcpy(table.data(), done.data(), done.size());
    for (size_t i = 0; i < n; ++i) {
      results.push_back(table[i].result);
      if (failed(table[i].result)) break;
    }
    // A failure ends the calls, also the last of a table.
    if (results.size() < from + n || failed(results.back())) break;
  }
  return results;
}

int64_t RemoteSyscalls::checked(const char* what, int64_t nr, std::initializer_list<uint64_t> args) {
  int64_t ret = syscall(nr, args);
  if (failed(ret) && !died_)
    fatal(std::string("in the tracee, ") + what + " (" + syscall_name(nr) + ") failed: " + strerror((int)-ret));
  return ret;
}

RemotePtr<> RemoteSyscalls::scratch(const void* data, size_t len, size_t offset) {
  KJ_REQUIRE(len <= kRrScratchSize && offset <= kRrScratchSize - len, "injected syscall arguments do not fit in the scratch page", offset, len);
  if (!may_die_) task_.write_mem(RemotePtr<>(kRrScratch + offset), data, len);
  else if (!task_.try_write_mem(RemotePtr<>(kRrScratch + offset), data, len)) died_ = true;
  scratch_used_ = std::max(scratch_used_, offset + len);
  return RemotePtr<>(kRrScratch + offset);
}

RemotePtr<> RemoteSyscalls::scratch_string(const std::string& s, size_t offset) {
  return scratch(s.c_str(), s.size() + 1, offset);
}

}  // namespace rr
