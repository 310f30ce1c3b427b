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

Registers RemoteSyscalls::run(const Registers& regs) {
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
      if (after->ip().as_int() == insn_.as_int() + 3) return *after;
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
  Registers after = run(r);
  return after.syscall_result();
}

int64_t RemoteSyscalls::checked(const char* what, int64_t nr, std::initializer_list<uint64_t> args) {
  int64_t ret = syscall(nr, args);
  if (ret < 0 && ret >= -4095 && !died_)
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
