#include "core/task_state.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "core/remote_syscalls.h"
#include "core/task.h"
#include "core/tracee_abi.h"
#include "util/fatal.h"

namespace rr {

std::optional<stack_t> query_altstack(Task& t, RemoteSyscalls& rs) {
  stack_t now = {};
  RemotePtr<stack_t> at = rs.scratch_val(now, 64);
  if (rs.syscall(SYS_sigaltstack, {0, at.as_int()}) != 0 || !t.read_mem(at, &now, sizeof now)) return std::nullopt;
  return now;
}

std::vector<std::pair<int, std::string>> read_sigactions(Task& t, RemoteSyscalls& rs, uint64_t which) {
  std::vector<std::pair<int, std::string>> out;
  RemotePtr<> buf = rs.scratch(std::string(64, '\0').data(), 64);
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || !(which & (1ull << (sig - 1)))) continue;
    if (rs.syscall(SYS_rt_sigaction, {(uint64_t)sig, 0, buf.as_int(), 8}) != 0) continue;
    std::string act = t.read_bytes(buf.cast<TraceeSigaction>(), sizeof(TraceeSigaction));
    if (act != std::string(sizeof(TraceeSigaction), '\0')) out.emplace_back(sig, act);
  }
  return out;
}

TaskKernelState TaskKernelState::capture(Task& t, bool with_actions) {
  RemoteSyscalls rs(t);
  return capture(t, rs, with_actions);
}

TaskKernelState TaskKernelState::capture(Task& t, RemoteSyscalls& rs, bool with_actions) {
  TaskKernelState s;
  s.sigmask = t.blocked_signals();
  if (with_actions) s.sigactions = read_sigactions(t, rs, ~0ull);
  RemotePtr<> buf = rs.scratch(std::string(64, '\0').data(), 64);
  stack_t ss = {};
  if (rs.syscall(SYS_sigaltstack, {0, buf.as_int()}) == 0) ss = t.read_val(buf.cast<stack_t>());
  s.altstack_sp = (uint64_t)ss.ss_sp;
  s.altstack_flags = ss.ss_flags;
  s.altstack_size = ss.ss_size;
  if (rs.syscall(SYS_get_robust_list, {0, buf.as_int(), buf.as_int() + 8}) == 0) {
    s.robust_list_head = t.read_val(buf.cast<uint64_t>());
    s.robust_list_len = t.read_val(buf.cast<uint64_t>() + 1);
  }
  if (rs.syscall(SYS_prctl, {PR_GET_TID_ADDRESS, buf.as_int(), 0, 0, 0}) == 0) s.tid_address = t.read_val(buf.cast<uint64_t>());
  return s;
}

Status TaskKernelState::apply(Task& t, bool with_actions, const std::string& source) const {
  {
    RemoteSyscalls rs(t);
    for (const auto& [signo, raw] : with_actions ? sigactions : decltype(sigactions){}) {
      if (raw.size() != sizeof(TraceeSigaction)) return make_error(source + " is corrupt (sigaction)");
      RemotePtr<TraceeSigaction> act = rs.scratch(raw.data(), raw.size()).cast<TraceeSigaction>();
      rs.checked("restoring a signal action", SYS_rt_sigaction, {(uint64_t)signo, act.as_int(), 0, 8});
    }
    if (altstack_flags & SS_DISABLE) {
      stack_t none = {};
      none.ss_flags = SS_DISABLE;
      RemotePtr<stack_t> p = rs.scratch_val(none, 64);
      rs.checked("dropping the signal stack", SYS_sigaltstack, {p.as_int(), 0});
    } else if (altstack_size != 0) {
      stack_t ss = {};
      ss.ss_sp = (void*)altstack_sp;
      ss.ss_flags = altstack_flags & ~SS_ONSTACK;
      ss.ss_size = altstack_size;
      RemotePtr<stack_t> p = rs.scratch_val(ss, 64);
      rs.checked("restoring the signal stack", SYS_sigaltstack, {p.as_int(), 0});
    }
    if (robust_list_head) rs.checked("restoring the robust list", SYS_set_robust_list, {robust_list_head, robust_list_len});
    rs.syscall(SYS_set_tid_address, {tid_address});
  }
  t.set_blocked_signals(sigmask);
  return {};
}

}  // namespace rr
