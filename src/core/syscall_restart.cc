#include "core/syscall_restart.h"

#include <sys/syscall.h>

namespace rr {

namespace {

constexpr uint64_t kSyscallInsnLen = 2;  // 0f 05

}  // namespace

bool is_restart_code(int64_t ret) {
  return ret == kERestartSys || ret == kERestartNoIntr || ret == kERestartNoHand || ret == kERestartRestartBlock;
}

bool restart_undecided(const Registers& r) {
  return r.syscallno() >= 0 && is_restart_code(r.syscall_result());
}

Registers restarted_without_handler(const Registers& r) {
  Registers out = r;
  out.set_ip(r.ip() + (uint64_t)-kSyscallInsnLen);
  // As arch/x86/kernel/signal.c does: rax is the number to enter again;
  // orig_rax keeps the interrupted call's until that entry.
  out.set_syscall_result(r.syscall_result() == kERestartRestartBlock ? SYS_restart_syscall : r.syscallno());
  return out;
}

}  // namespace rr
