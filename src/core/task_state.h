// The kernel-side state of one thread that ptrace does not show: its signal
// mask, alternate signal stack, robust list and tid address, and its
// process's signal actions. Read by running getter syscalls inside the
// stopped thread and set again by the matching setters; checkpoints store
// it (checkpoint/) and in-memory copies of a replay carry it (replay/).
#pragma once

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/address_space.h"
#include "core/registers.h"
#include "util/result.h"

namespace rr {

class RemoteSyscalls;
class Task;

// The alternate signal stack of the stopped thread `rs` runs calls in, as
// sigaltstack answers (nullopt: the call or the read failed).
std::optional<stack_t> query_altstack(Task& t, RemoteSyscalls& rs);

// The actions of the signals in `which` (bit sig-1) that are not the
// default, each as the kernel's 32-byte struct sigaction rt_sigaction
// reads, asked through calls `rs` runs in the stopped thread `t`.
std::vector<std::pair<int, std::string>> read_sigactions(Task& t, RemoteSyscalls& rs, uint64_t which);

struct TaskKernelState {
  uint64_t sigmask = 0;  // blocked signals
  // Every signal whose action is not the default: (signo, the kernel's
  // 32-byte struct sigaction as rt_sigaction reads it).
  std::vector<std::pair<int, std::string>> sigactions;
  // sigaltstack: base, flags, size. Flags 0 with size 0: none was ever set
  // (what a process fresh from execve has, and its signal frames show as
  // uc_stack.ss_flags 0); SS_DISABLE: one was dropped, or the thread was
  // made sharing memory (its frames show 2). sigaltstack answers SS_DISABLE
  // for both, so capture() gives SS_DISABLE; a checkpoint says which
  // (TaskState.altStackNeverSet, from ReplayTask::altstack_disabled).
  // apply() leaves a thread's as it is for 0 with size 0.
  uint64_t altstack_sp = 0;
  int32_t altstack_flags = 0;
  uint64_t altstack_size = 0;
  uint64_t robust_list_head = 0;  // set_robust_list
  uint64_t robust_list_len = 0;
  uint64_t tid_address = 0;  // set_tid_address (clear_child_tid)

  // Reads it from stopped thread `t`; the signal actions (which belong to
  // the process) only `with_actions`.
  static TaskKernelState capture(Task& t, bool with_actions);
  // The same through calls `rs` runs in `t`.
  static TaskKernelState capture(Task& t, RemoteSyscalls& rs, bool with_actions);
  // Sets it in stopped thread `t`, the actions only `with_actions`.
  // `source` names where the state came from in errors.
  Status apply(Task& t, bool with_actions, const std::string& source) const;
};

// A thread that runs inside a blocking call whose entry is an event, as
// replay holds it at that entry: the registers and XSAVE area of the
// entry, and its kernel-side state there (without the signal actions,
// which belong to the process and are read through another thread).
struct HeldAtEntry {
  Registers regs;
  std::string xsave;
  TaskKernelState kernel;
};

// A process whose every thread is held inside a call, where no call can be
// made: what a writer of checkpoints needs of it that only calls inside it
// tell, as the recorder read it when one of its threads last went to run
// user code and kept it since (RecordTask::ActionsKnown, LayoutKnown).
struct ProcessAsleep {
  std::vector<std::pair<int, std::string>> actions;  // as TaskKernelState::sigactions
  LayoutByCalls layout;
};

}  // namespace rr
