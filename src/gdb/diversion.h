// Diversion: where gdb's calls into the program run during a replay
// (`print f(x)`, `call`, `set var`, writes to registers or memory). A replay
// shows what happened and cannot be changed, so the first write gdb makes
// at a stop copies the replay there (ReplaySession::clone(): its tracees
// forked, memory copied on write) and every read and write goes to the
// copy until gdb resumes the replay, which then goes on from the recorded
// state, untouched; dropping the Diversion ends the copy's processes.
//
// The copy runs live, one thread at a time, under PTRACE_SYSCALL: at each
// syscall entry the syscall table's diversion column
// (runs_in_diversion()) says whether the call runs for real (memory,
// clocks, ids, writes to rr's stdout and stderr) or fails with ENOSYS or
// EPERM before the kernel sees it, so a call never touches the user's files
// or other processes. gdb's breakpoints and watchpoints are armed while it
// runs, as for the replay's own pieces of user code.
#pragma once

#include <functional>
#include <memory>

#include "replay/replay_session.h"
#include "replay/traps.h"
#include "util/result.h"

namespace rr {

class Diversion {
 public:
  // A copy of `replay` at its current point; an error where none can be
  // made (memory shared between processes, something under way).
  static Result<std::unique_ptr<Diversion>> start(ReplaySession& replay);

  // The copy: gdb reads and writes its tasks.
  ReplaySession& session() { return *copy_; }

  // Why a run of the copy stopped.
  struct Stop {
    enum Kind {
      Trap,         // one of the traps hit, or the step ended (hit.kind Step)
      Signal,       // the thread is about to receive `sig` (not delivered)
      Interrupted,  // gdb sent ^C
      Gone,         // the thread ended (killed by `sig`, or exited)
    } kind = Trap;
    TrapHit hit;
    int sig = 0;
  };
  // Runs thread `tid` of the copy (its other threads stay stopped) until
  // one of `traps` hits, one instruction ran (`step`), a signal arrives, or
  // interrupted() says gdb sent ^C.
  Result<Stop> run(RecordedTid tid, bool step, const TrapSet& traps, const std::function<bool()>& interrupted);

 private:
  explicit Diversion(std::unique_ptr<ReplaySession> copy) : copy_(std::move(copy)) {}
  // One syscall stop of the run: at the entry, a call the table refuses is
  // cancelled (its number made -1); at the exit it gets its errno.
  void at_syscall_stop(Task& t);

  std::unique_ptr<ReplaySession> copy_;
  int refused_errno_ = 0;  // the call being cancelled fails with this (0: none)
};

}  // namespace rr
