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

RemoteSyscalls::~RemoteSyscalls() {
  if (!task_.alive()) return;
  if (scratch_used_ > 0) {
    std::string zeros(scratch_used_, '\0');
    task_.write_mem(RemotePtr<>(kRrScratch), zeros.data(), zeros.size());
  }
  if (patched_) task_.write_mem(insn_, patched_bytes_.data(), patched_bytes_.size());
  task_.set_regs(saved_);
}

Registers RemoteSyscalls::run(const Registers& regs) {
  task_.set_regs(regs);
  task_.resume(ResumeHow::Cont);
  for (;;) {
    WaitStatus st = task_.wait();
    if (st.ended()) fatal("tracee " + std::to_string(task_.tid()) + " ended during an injected syscall (" + st.describe() + ")");
    int event = st.ptrace_event();
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE)
      spawned_ = (pid_t)task_.event_msg();
    int sig = st.stop_sig();
    if (sig == SIGTRAP) {
      Registers after = task_.regs();
      if (after.ip().as_int() == insn_.as_int() + 3) return after;
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGTRAP || sig == SIGFPE) {
      char msg[160];
      snprintf(msg, sizeof msg, "injected syscall %lld faulted with %s at 0x%llx", (long long)regs.syscall_result(),
               strsignal(sig), (unsigned long long)task_.regs().ip().as_int());
      fatal(msg);
    }
    if (sig == SIGSTOP) stop_suppressed_ = true;
    else if (sig != 0) stashed_.push_back(task_.siginfo());
    task_.resume(ResumeHow::Cont);
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
  if (ret < 0 && ret >= -4095)
    fatal(std::string("in the tracee, ") + what + " (" + syscall_name(nr) + ") failed: " + strerror((int)-ret));
  return ret;
}

RemotePtr<> RemoteSyscalls::scratch(const void* data, size_t len, size_t offset) {
  KJ_REQUIRE(len <= kRrScratchSize && offset <= kRrScratchSize - len, "injected syscall arguments do not fit in the scratch page", offset, len);
  task_.write_mem(RemotePtr<>(kRrScratch + offset), data, len);
  scratch_used_ = std::max(scratch_used_, offset + len);
  return RemotePtr<>(kRrScratch + offset);
}

RemotePtr<> RemoteSyscalls::scratch_string(const std::string& s, size_t offset) {
  return scratch(s.c_str(), s.size() + 1, offset);
}

}  // namespace rr
