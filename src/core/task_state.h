// The kernel-side state of one thread that ptrace does not show: its signal
// mask, alternate signal stack, robust list and tid address, and its
// process's signal actions. Read by running getter syscalls inside the
// stopped thread and set again by the matching setters; checkpoints store
// it (checkpoint/) and in-memory copies of a replay carry it (replay/).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace rr {

class Task;

struct TaskKernelState {
  uint64_t sigmask = 0;  // blocked signals
  // Every signal whose action is not the default: (signo, the kernel's
  // 32-byte struct sigaction as rt_sigaction reads it).
  std::vector<std::pair<int, std::string>> sigactions;
  uint64_t altstack_sp = 0;  // sigaltstack: base, flags, size
  int32_t altstack_flags = 0;
  uint64_t altstack_size = 0;
  uint64_t robust_list_head = 0;  // set_robust_list
  uint64_t robust_list_len = 0;
  uint64_t tid_address = 0;  // set_tid_address (clear_child_tid)

  // Reads it from stopped thread `t`; the signal actions (which belong to
  // the process) only `with_actions`.
  static TaskKernelState capture(Task& t, bool with_actions);
  // Sets it in stopped thread `t`, the actions only `with_actions`.
  // `source` names where the state came from in errors.
  Status apply(Task& t, bool with_actions, const std::string& source) const;
};

}  // namespace rr
