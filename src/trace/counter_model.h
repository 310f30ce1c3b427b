// ReplayCounterModel: the counters a replay keeps (ReplayCounters, part of
// `rr state` and of every checkpoint), derived from the trace's frames
// alone, without replaying them. A writer of the state at an event that is
// not a replay (the recorder) needs them; they are statistics, which steer
// nothing replay does, and a test compares the model with a replay's own
// counters at the same events on the test programs
// (tests/integration/record_state_test.py). Replay keeps its own
// (replay_session.h).
//
// It follows ReplaySession's accounting: a syscall counts once, when its
// entry is reached (an entry recorded as an event of its own counts there);
// a syscall is emulated or executed as its row's replay policy, the task's
// seccomp filter and the result decide (replay_syscalls.cc, apply_syscall);
// a signal or an rdtsc (or rdrand) trap counts at its event; the bytes
// written are those of the call's recorded writes and of a tracer's writes
// into its tracee.
#pragma once

#include <cstdint>
#include <map>

#include "core/state_view.h"
#include "trace/trace.capnp.h"

namespace rr {

class ReplayCounterModel {
 public:
  // Accounts the frame, the next one of the trace.
  void apply(trace::Frame::Reader f);
  const ReplayCounters& counters() const { return counters_; }

 private:
  struct TaskModel {
    pid_t tgid = 0;
    bool at_entry = false;  // its syscall's entry was an event; the exit comes later
    bool filtered = false;  // a seccomp filter governs it (ReplayTask::filtered)
    bool clone_done = false;  // with at_entry: the entry event made the clone's child
  };
  void add_child(pid_t parent, pid_t child, uint64_t clone_flags);
  void apply_syscall(pid_t tid, TaskModel& task, trace::SyscallEvent::Reader sc);
  std::map<pid_t, TaskModel> tasks_;  // by recorded tid
  ReplayCounters counters_;
};

}  // namespace rr
