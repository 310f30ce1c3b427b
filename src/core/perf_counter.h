// ExecutionCounter: a hardware breakpoint counter on one instruction of one
// task (perf_event_open, PERF_TYPE_BREAKPOINT). The kernel counts every
// execution of the instruction in user space; with a stop count it also
// stops the task (a synchronous SIGTRAP, si_code TRAP_PERF) just before the
// n-th execution. This is how a position inside an event, "the n-th time
// instruction X is about to run" (docs/architecture.md), is reached in one run.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "util/result.h"
#include "util/scoped_fd.h"
#include "util/types.h"

namespace rr {

// si_code of the SIGTRAP an ExecutionCounter stops a task with.
constexpr int kTrapPerf = 6;

class ExecutionCounter {
 public:
  // Counts executions of `addr` by task `tid` from now on; with stop_at > 0
  // the task stops before execution number stop_at. An error when the
  // kernel has no debug register left or no breakpoint counters.
  static Result<ExecutionCounter> open(pid_t tid, RemotePtr<> addr, uint64_t stop_at);
  // Executions counted so far.
  uint64_t count() const;
  // Whether this machine gives breakpoint counters, both kinds (counting
  // only, and stopping at a count), probed once on an instruction of the
  // supervisor's own; the error says what the kernel answered. VMs whose
  // hypervisor hides debug registers from perf, and kernels without
  // sigtrap counters (before 5.13), have none.
  static Status available();

 private:
  explicit ExecutionCounter(ScopedFd fd) : fd_(std::move(fd)) {}
  ScopedFd fd_;
};

}  // namespace rr
