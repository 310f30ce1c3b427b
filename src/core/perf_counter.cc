#include "core/perf_counter.h"

#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace rr {

namespace {
// An instruction of ours to open the probe counters on; never run while
// they exist.
__attribute__((noinline)) void counter_probe_target() { asm volatile(""); }
}  // namespace

Result<ExecutionCounter> ExecutionCounter::open(pid_t tid, RemotePtr<> addr, uint64_t stop_at) {
  perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_BREAKPOINT;
  a.size = sizeof a;
  a.bp_type = HW_BREAKPOINT_X;
  a.bp_addr = addr.as_int();
  a.bp_len = sizeof(long);
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  if (stop_at > 0) {
    a.sample_period = stop_at;
    a.sigtrap = 1;         // a synchronous SIGTRAP to the task itself
    a.remove_on_exec = 1;  // which the kernel requires with sigtrap
  }
  int fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    char where[64];
    snprintf(where, sizeof where, "cannot count executions at 0x%lx", (unsigned long)addr.as_int());
    return make_error(std::string(where) + ": perf_event_open: " + strerror(errno));
  }
  return ExecutionCounter(ScopedFd(fd));
}

uint64_t ExecutionCounter::count() const {
  uint64_t n = 0;
  if (read(fd_.get(), &n, sizeof n) != (ssize_t)sizeof n) return 0;
  return n;
}

Status ExecutionCounter::available() {
  static const Status probed = [] {
    // rr probes its own code: the kernel counts any address of the thread.
    RemotePtr<> addr((uint64_t)(uintptr_t)&counter_probe_target);
    pid_t self = (pid_t)syscall(SYS_gettid);
    for (uint64_t stop_at : {0, 1}) {
      auto c = open(self, addr, stop_at);
      if (!c.ok()) return Status(c.error());
    }
    return Status::success();
  }();
  return probed;
}

}  // namespace rr
