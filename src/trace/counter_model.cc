#include "trace/counter_model.h"

#include <cerrno>
#include <sched.h>
#include <sys/syscall.h>

#include "core/syscall_table.h"
#include "core/registers.h"
#include "trace/trace_files.h"

namespace rr {

namespace {

uint64_t writes_size(capnp::List<trace::MemWrite>::Reader writes) {
  uint64_t n = 0;
  for (auto w : writes) n += w.getData().size();
  return n;
}

}  // namespace

void ReplayCounterModel::add_child(pid_t parent, pid_t child, uint64_t clone_flags) {
  auto it = tasks_.find(parent);
  TaskModel m;
  m.tgid = (clone_flags & CLONE_THREAD) && it != tasks_.end() ? it->second.tgid : child;
  m.filtered = it != tasks_.end() && it->second.filtered;
  tasks_[child] = m;
}

void ReplayCounterModel::apply(trace::Frame::Reader f) {
  pid_t tid = f.getTid();
  switch (f.which()) {
    case trace::Frame::EXEC:
      tasks_[tid] = TaskModel{tid, false, false};
      return;
    case trace::Frame::SIGNAL:
      ++counters_.signals;
      return;
    case trace::Frame::RDTSC:
      ++counters_.rdtsc;
      return;
    case trace::Frame::EXIT:
      tasks_.erase(tid);
      return;
    case trace::Frame::PROGRESS:
      return;
    case trace::Frame::SYSCALL_ENTRY: {
      TaskModel& task = tasks_[tid];
      auto ev = f.getSyscallEntry();
      // A clone held at its entry for a tracer inside the recording has a
      // second entry event, where its child was made: counted once.
      bool child_of_held = task.at_entry && ev.getChildTid() > 0;
      if (!child_of_held) ++counters_.syscalls;
      task.at_entry = true;
      const SyscallDesc* desc = syscall_desc(ev.getNumber());
      if (desc && desc->policy == ReplayPolicy::Clone && ev.getChildTid() > 0) {
        add_child(tid, ev.getChildTid(), ev.getCloneFlags());
        task.clone_done = true;
      }
      return;
    }
    case trace::Frame::SYSCALL: {
      TaskModel& task = tasks_[tid];
      apply_syscall(tid, task, f.getSyscall());
      return;
    }
  }
}

void ReplayCounterModel::apply_syscall(pid_t tid, TaskModel& task, trace::SyscallEvent::Reader sc) {
  bool entry_counted = task.at_entry;
  bool clone_done = task.clone_done;
  task.at_entry = task.clone_done = false;
  if (!entry_counted) ++counters_.syscalls;
  counters_.bytes_written += writes_size(sc.getTraceeWrites());
  if (sc.getSkippedByTracer()) {
    ++counters_.emulated;
    counters_.bytes_written += writes_size(sc.getWrites());
    return;
  }
  int64_t nr = sc.getNumber();
  const SyscallDesc* desc = syscall_desc(nr);
  if (!desc) return;  // replay refuses such a trace
  int64_t result = sc.getResult();
  bool failed = result < 0 && result >= -4095;
  Registers entry = regs_from_capnp(sc.getEntryRegs());
  SyscallArgs call = syscall_args(nr, entry);
  bool partial = desc->policy == ReplayPolicy::MemoryMap && (result == -ENOMEM || result == -EINVAL);
  bool writes = true;
  if (failed && task.filtered && !partial &&
      (desc->policy == ReplayPolicy::ExecuteSame || desc->policy == ReplayPolicy::MemoryMap ||
       (desc->executed_when && desc->executed_when(call)))) {
    ++counters_.emulated;
  } else {
    switch (desc->policy) {
      case ReplayPolicy::Emulate:
      case ReplayPolicy::Unsupported:
        if (desc->executed_when && desc->executed_when(call) && !(nr == SYS_unshare && failed))
          ++counters_.executed;
        else
          ++counters_.emulated;
        break;
      case ReplayPolicy::Clone:
        ++counters_.executed;
        if (!failed && !clone_done) {
          pid_t child = sc.getChildTid() ? sc.getChildTid() : (pid_t)result;
          add_child(tid, child, sc.getCloneFlags());
        }
        break;
      case ReplayPolicy::ExecuteSame:
      case ReplayPolicy::MemoryMap:
        ++counters_.executed;
        // A segment's pages, recorded as shmat's writes, go into replay's
        // copy of the segment, not counted.
        if (nr == SYS_shmat && !failed) writes = false;
        break;
      case ReplayPolicy::Sigreturn:
        ++counters_.executed;
        writes = false;
        break;
      case ReplayPolicy::Exec:
        writes = failed || !sc.hasImage();
        if (!writes && task.tgid != tid) {
          // An exec from a thread: the process keeps its id, which the
          // thread takes; the other threads are gone.
          TaskModel moved = task;
          pid_t tgid = moved.tgid;
          for (auto it = tasks_.begin(); it != tasks_.end();)
            it = it->second.tgid == tgid ? tasks_.erase(it) : std::next(it);
          tasks_[tgid] = moved;
          return;
        }
        break;
      case ReplayPolicy::Exit:
        writes = false;
        break;
    }
  }
  if (writes) counters_.bytes_written += writes_size(sc.getWrites());
  if (desc->filter_arg && result == 0 && desc->filter_arg(call) >= 0) {
    // SECCOMP_FILTER_FLAG_TSYNC gives the filter to every thread of the process.
    bool all = nr == SYS_seccomp && (call.arg[1] & 1 /* SECCOMP_FILTER_FLAG_TSYNC */);
    for (auto& [other, m] : tasks_)
      if (other == tid || (all && m.tgid == task.tgid)) m.filtered = true;
  }
}

}  // namespace rr
