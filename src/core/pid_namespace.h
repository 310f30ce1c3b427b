// PidNamespace: the private PID namespace replay runs its tracees in, so
// that every task can have the tid it had when recorded (DESIGN section 2).
// Its pid 1 is a small init of ours that only reaps orphans; it dies with
// the supervisor. Tasks are created inside it with clone3's set_tid.
#pragma once

#include <sys/types.h>

#include "util/scoped_fd.h"

namespace rr {

class PidNamespace {
 public:
  // The namespace of this supervisor, created on first use; nullptr when
  // this machine or user cannot have one (no CAP_SYS_ADMIN), or when
  // RR_NO_PIDNS=1 asks for tid translation instead (for tests).
  static PidNamespace* get();

  // Forks this (single-threaded at that moment) supervisor thread into the
  // namespace, as the process `want` there when that tid is free. Returns
  // as fork() does: 0 in the child, the child's pid (as the supervisor
  // sees it) in the parent, -1 with errno on failure.
  pid_t fork_as(pid_t want);

  // The tid a live task (supervisor's view) has inside the namespace, or 0.
  static pid_t inner_tid(pid_t live);

 private:
  PidNamespace() = default;
  bool start();
  pid_t init_ = 0;
  ScopedFd inner_;  // /proc/<init>/ns/pid
  ScopedFd outer_;  // the supervisor's own
};

}  // namespace rr
