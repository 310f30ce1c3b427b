// ReplaySession, syscall events: reaching a syscall's entry, then applying
// what the recording says by the policy of its row in the syscall table
// (emulate, execute and compare, memory map, clone, exec, exit), and the
// kernel's restarts of interrupted calls.
#include "replay/replay_session.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/address_space.h"
#include "core/perf_counter.h"
#include "core/pid_namespace.h"
#include "core/progress_counter.h"
#include "core/random_insns.h"
#include "core/remote_syscalls.h"
#include "core/write_tracker.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "core/syscall_restart.h"
#include "core/tracee_setup.h"
#include "core/syscall_table.h"
#include "core/task_state.h"
#include "core/task_mem_reader.h"
#include "util/fatal.h"
#include "util/io.h"

#include "replay/replay_internal.h"

namespace rr {

void ReplaySession::restart_without_signal(ReplayTask& rt) {
  // A signal event at the interrupted exit is being delivered now: the
  // kernel decides as it enters the handler, as it did in the recording.
  if (rt.pending_sig) return;
  Registers r = rt.task->regs();
  if (!restart_undecided(r)) return;
  // The recording went on to a syscall entry without a signal here (another
  // thread took it, or the wakeup was no signal), so its kernel restarted
  // the call. Replay's kernel emulated the call and sees no signal: it would
  // return the code to user space. The recorder checked that the entry is
  // the restarted call; reach_syscall_entry compares its registers.
  rt.task->set_regs(restarted_without_handler(r));
}

bool ReplaySession::replay_mask_swap(ReplayTask& rt, trace::SyscallEvent::Reader sc) {
  Task& t = *rt.task;
  Registers regs = t.regs();
  SyscallArgs call = syscall_args(sc.getNumber(), regs);
  TaskMemReader mem(t);
  RemotePtr<> mask_at;
  uint64_t size = 0;
  if (!installed_sigmask(call, mem, &mask_at, &size)) return false;
  uint64_t mask = mask_at.as_int();
  const FrameData* next = peek();
  if (!next || next->frame().which() != trace::Frame::SIGNAL || next->frame().getSignal().getSynchronous()) return false;
  if (next->frame().getTid() != rt.recorded().value) return false;
  int sig = next->frame().getSignal().getSigno();
  // A signal the call's mask blocks came after the call had put the
  // task's own mask back (a child's SIGCHLD after a ppoll that timed out):
  // it is delivered as any other.
  uint64_t during = 0;
  if (size >= sizeof(during) && mem.read(mask_at, &during, sizeof(during)) && (during & (1ull << (sig - 1))))
    return false;
  // The signal is queued before the call and must wait for it: when the
  // task's own mask lets it through, it is blocked until the entry stop of
  // the call, where the mask is put back. The call then saves that mask as
  // the one to restore, installs its own and finds the signal pending.
  uint64_t own = t.blocked_signals();
  uint64_t bit = 1ull << (sig - 1);
  bool hold = !(own & bit);
  if (hold) t.set_blocked_signals(own | bit);
  syscall(SYS_tkill, t.tid(), sig);
  rt.queued_sig = sig;
  Registers r = regs;
  r.set_syscallno(SYS_rt_sigsuspend);
  r.set_arg(0, mask);
  r.set_arg(1, size);
  t.set_regs(r);
  WaitStatus st;
  if (!reenter_syscall(rt, r, SYS_rt_sigsuspend, &st))
    fatal("re-executing rt_sigsuspend did not reach its entry: " + describe_stop(st));
  if (hold) t.set_blocked_signals(own);
  t.resume(ResumeHow::Syscall);
  st = wait_filtered(rt, ResumeHow::Syscall);
  if (!st.is_syscall_stop()) fatal("re-executing rt_sigsuspend did not return: " + describe_stop(st));
  Registers after = regs;
  after.set_syscall_result(sc.getResult());
  t.set_regs(after);
  return true;
}


bool ReplaySession::reenter_syscall(ReplayTask& rt, Registers regs, int64_t nr, WaitStatus* st) {
  Task& t = *rt.task;
  regs.set_ip(regs.ip() + (uint64_t)-2);
  regs.set_syscall_result(nr);
  t.set_regs(regs);
  t.resume(ResumeHow::Syscall);
  *st = wait_filtered(rt, ResumeHow::Syscall);
  if (st->is_syscall_stop() && !t.at_syscall_entry()) {
    // The exit stop of the syscall SYSEMU skipped.
    t.resume(ResumeHow::Syscall);
    *st = wait_filtered(rt, ResumeHow::Syscall);
  }
  return st->is_syscall_stop() && t.at_syscall_entry();
}

Registers ReplaySession::execute_in_place(ReplayTask& rt) {
  Task& t = *rt.task;
  Registers r = t.regs();
  int64_t nr = r.syscallno();
  WaitStatus st;
  if (!reenter_syscall(rt, r, nr, &st))
    fatal("re-executing " + syscall_name(nr) + " did not reach its entry: " + describe_stop(st));
  t.resume(ResumeHow::Syscall);
  st = wait_filtered(rt, ResumeHow::Syscall);
  if (!st.is_syscall_stop()) fatal("re-executing " + syscall_name(nr) + " did not return: " + describe_stop(st));
  return t.regs();
}

namespace {

std::vector<pid_t> to_vector(capnp::List<int32_t>::Reader list) {
  std::vector<pid_t> out;
  for (int32_t v : list) out.push_back(v);
  return out;
}

}  // namespace

Status ReplaySession::reach_syscall_entry(trace::Frame::Reader f, int64_t nr, trace::Registers::Reader expected,
                                          ReplayTask& rt) {
  Task& t = *rt.task;
  // Applied again after a stop inside it: its start was done.
  if (!inside_) restart_without_signal(rt);
  std::optional<WaitStatus> stopped = resume_and_wait(rt, ResumeHow::Sysemu);
  if (!stopped) return {};  // stopped inside for a debugger
  WaitStatus st = *stopped;
  if (st.ended()) return divergence(f, "the program " + st.describe() + " where the recording made syscall " + syscall_name(nr));
  if (!st.is_syscall_stop())
    return divergence(f, "expected syscall " + syscall_name(nr) + ", got " + describe_stop(st) + " at rip " +
                             hex(t.regs().ip().as_int()));
  RR_TRY(check_regs(f, t, ("at the entry of " + syscall_name(nr)).c_str(), regs_from_capnp(expected)));
  RR_TRY(finish_buffered_records(f, rt));
  ++counters_.syscalls;
  return {};
}

Status ReplaySession::apply_syscall_entry(trace::Frame::Reader f, trace::SyscallEntryEvent::Reader ev, ReplayTask& rt) {
  int64_t nr = ev.getNumber();
  // A clone held at its entry for a tracer inside the recording: the entry
  // is an event, and so is the point inside it where the child was made
  // (its tracer saw the fork event there).
  bool child_of_held = rt.where == ReplayTask::Where::AtEntry && ev.getChildTid() > 0;
  if (rt.where != ReplayTask::Where::AtEvent && !child_of_held)
    return make_error("trace is corrupt: two syscall entries in a row for task " + std::to_string(f.getTid()));
  if (child_of_held)
    RR_TRY(check_regs(f, *rt.task, ("at the entry of " + syscall_name(nr)).c_str(), regs_from_capnp(ev.getRegs())));
  else
    RR_TRY(reach_syscall_entry(f, nr, ev.getRegs(), rt));
  if (pause_) return {};
  rt.where = ReplayTask::Where::AtEntry;
  const SyscallDesc* desc = syscall_desc(nr);
  if (desc && desc->policy == ReplayPolicy::Clone && ev.getChildTid() > 0) {
    // A vfork parent waits while its child runs: the child must exist now.
    std::vector<pid_t> ns_tids = to_vector(ev.getChildNsTids());
    RR_TRY(execute_clone(f, rt, RecordedTid{ev.getChildTid()}, std::move(ns_tids), true));
    rt.where = ReplayTask::Where::CloneDone;
  }
  return {};
}

// A ptrace request of a tracer inside the recording changed its tracee,
// which is stopped here too (at its last event, or at a syscall entry).
Status ReplaySession::apply_tracer_changes(trace::Frame::Reader f, trace::SyscallEvent::Reader sc) {
  ReplayTask* tracee = find_task(RecordedTid{sc.getPtraceTracee()});
  if (!tracee)
    return make_error("trace is corrupt: event " + std::to_string(f.getEvent()) + " changes task " +
                      std::to_string(sc.getPtraceTracee()) + ", which does not exist at that point");
  Task& t = *tracee->task;
  if (sc.hasTraceeRegs()) t.set_regs(regs_from_capnp(sc.getTraceeRegs()));
  if (sc.getTraceeXsave().size()) t.set_xsave(data_string(sc.getTraceeXsave()));
  if (sc.getTraceeStep()) tracee->step_next = true;
  if (int reg = sc.getTraceeDebugReg(); reg >= 0) {
    if (reg > 7 || reg == 4 || reg == 5 || !t.try_set_debug_reg(reg, sc.getTraceeDebugValue()))
      return divergence(f, "cannot set debug register " + std::to_string(reg) + " of task " +
                               std::to_string(sc.getPtraceTracee()) + " as its tracer did: " + errno_text());
    if (reg == 7) tracee->tracer_dr7 = sc.getTraceeDebugValue();
    tracee->tracer_debug = debug_regs_in_use(tracee->tracer_debug, reg, sc.getTraceeDebugValue());
  }
  for (auto w : sc.getTraceeWrites()) {
    auto d = w.getData();
    t.write_mem(RemotePtr<>(w.getAddr()), d.begin(), d.size());
    counters_.bytes_written += d.size();
  }
  return {};
}

void ReplaySession::apply_writes(Task& t, trace::SyscallEvent::Reader sc) {
  for (auto w : sc.getWrites()) {
    auto d = w.getData();
    t.write_mem(RemotePtr<>(w.getAddr()), d.begin(), d.size());
    counters_.bytes_written += d.size();
  }
}

void ReplaySession::finish_emulated(Task& t, trace::SyscallEvent::Reader sc) {
  apply_writes(t, sc);
  Registers r = t.regs();
  r.set_syscall_result(sc.getResult());
  t.set_regs(r);
}

Status ReplaySession::check_result(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, int64_t got) {
  if (got == sc.getResult()) return {};
  if (sc.getNumber() == SYS_pkey_alloc && sc.getResult() >= 0 && got < 0 && !os_has_pkeys())
    return make_error(ErrorKind::Unsupported,
                      "the recording allocated memory protection key " + std::to_string(sc.getResult()) +
                          " (pkey_alloc, event " + std::to_string(f.getEvent()) +
                          "), and this machine has none (its kernel did not enable them): the trace cannot be "
                          "replayed past that event here");
  return divergence(f, syscall_name(sc.getNumber()) + " returned " + std::to_string(got) + " in replay, " +
                           std::to_string(sc.getResult()) + " in the recording");
}

Status ReplaySession::apply_syscall(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt) {
  int64_t nr = sc.getNumber();
  ReplayTask::Where where = rt.where;
  rt.where = ReplayTask::Where::AtEvent;
  if (where == ReplayTask::Where::AtEvent) RR_TRY(reach_syscall_entry(f, nr, sc.getEntryRegs(), rt));
  if (pause_) {
    rt.where = where;
    return {};
  }
  if (sc.getSkippedByTracer()) {
    // Its tracer's PTRACE_SYSEMU: the kernel ran nothing, and rax holds
    // what the tracer left there. No outputs, no descriptor changes.
    if (where != ReplayTask::Where::AtEntry)
      return make_error(ErrorKind::Corrupt, "trace is corrupt: event " + std::to_string(f.getEvent()) +
                                                " skips a call whose entry no tracer saw");
    ++counters_.emulated;
    finish_emulated(*rt.task, sc);
    return check_regs(f, *rt.task, ("after " + syscall_name(nr) + " skipped by its tracer").c_str(),
                      regs_from_capnp(sc.getExitRegs()));
  }
  const SyscallDesc* desc = syscall_desc(nr);
  if (!desc) return divergence(f, "the trace holds syscall " + syscall_name(nr) + ", unknown to this rr");
  int64_t result = sc.getResult();
  bool failed = result < 0 && result >= -4095;
  Task& t = *rt.task;

  // The recording's seccomp filter may have failed a call replay would run;
  // replay has no filter. A memory call that the kernel failed part way
  // (ENOMEM over a hole, EINVAL at a locked page) must run all the same:
  // if a filter answered with one of those, running it shows a divergence.
  bool partial = desc->policy == ReplayPolicy::MemoryMap && (result == -ENOMEM || result == -EINVAL);
  if (failed && rt.filtered && !partial &&
      (desc->policy == ReplayPolicy::ExecuteSame || desc->policy == ReplayPolicy::MemoryMap ||
       (desc->executed_when && desc->executed_when(syscall_args(nr, t.regs()))))) {
    ++counters_.emulated;
    finish_emulated(t, sc);
  } else switch (desc->policy) {
    case ReplayPolicy::Emulate:
    case ReplayPolicy::Unsupported:
      // A failed unshare changed nothing, and replay, which keeps out of
      // the program's user namespaces, may have the right it lacked.
      if (desc->executed_when && desc->executed_when(syscall_args(nr, t.regs())) && !(nr == SYS_unshare && failed)) {
        ++counters_.executed;
        if (nr == SYS_unshare) {
          RR_TRY(replay_unshare_pid_ns(f, sc, rt));
          break;
        }
        Registers after = execute_in_place(rt);
        RR_TRY(check_result(f, sc, after.syscall_result()));
        finish_emulated(t, sc);
        break;
      }
      ++counters_.emulated;
      replay_mask_swap(rt, sc);
      finish_emulated(t, sc);
      if (sc.getEchoFd()) RR_TRY(echo_write(f, t, sc));
      if (nr == SYS_shmget || nr == SYS_shmctl) note_shm_call(sc);
      break;
    case ReplayPolicy::Clone:
      ++counters_.executed;
      RR_TRY(replay_clone_call(f, sc, rt, where));
      break;
    case ReplayPolicy::ExecuteSame: {
      ++counters_.executed;
      Registers after = execute_in_place(rt);
      // set_tid_address returns the live tid, which replay keeps as recorded.
      if (nr != SYS_set_tid_address) RR_TRY(check_result(f, sc, after.syscall_result()));
      finish_emulated(t, sc);
      break;
    }
    case ReplayPolicy::Sigreturn:
      ++counters_.executed;
      execute_in_place(rt);
      RR_TRY(check_regs(f, t, "after rt_sigreturn", regs_from_capnp(sc.getExitRegs())));
      break;
    case ReplayPolicy::MemoryMap:
      ++counters_.executed;
      // A failed mmap or mremap changed nothing. The others can fail part
      // way and keep what they did (madvise and mprotect over a range with
      // a hole apply to the mapped part, then fail with ENOMEM): they are
      // executed again and must fail the same way.
      if (failed && (nr == SYS_mmap || nr == SYS_mremap || nr == SYS_brk || nr == SYS_shmat || nr == SYS_shmdt))
        finish_emulated(t, sc);
      else if (nr == SYS_shmat) RR_TRY(replay_shm_attach(f, sc, rt));
      else if (nr == SYS_shmdt) RR_TRY(replay_shm_detach(f, sc, rt));
      else RR_TRY(replay_memory_call(f, sc, rt));
      break;
    case ReplayPolicy::Exec:
      if (failed || !sc.hasImage()) finish_emulated(t, sc);
      else RR_TRY(replay_exec(f, rt, sc.getImage()));
      break;
    case ReplayPolicy::Exit:
      RR_TRY(replay_exit_call(f, sc, rt));
      if (pause_) {
        rt.where = where;
        return {};
      }
      break;
  }
  RR_TRY(apply_file_changes(f, sc));
  if (sc.getPtraceTracee()) RR_TRY(apply_tracer_changes(f, sc));
  uint64_t args[6];
  for (int i = 0; i < 6; ++i) args[i] = regs_from_capnp(sc.getEntryRegs()).arg(i);
  if (nr == SYS_sigaltstack && result == 0 && args[0] && rt.task->alive() && !rt.exiting) {
    // A stack set, or SS_DISABLE stored: asked of the kernel (the call's
    // own argument may be its old-stack output too).
    RemoteSyscalls rs(*rt.task);
    if (std::optional<stack_t> now = query_altstack(*rt.task, rs)) rt.altstack_disabled = (now->ss_flags & SS_DISABLE) != 0;
  }
  if (desc->filter_arg && result == 0) {
    SyscallArgs call = syscall_args(nr, regs_from_capnp(sc.getEntryRegs()));
    if (desc->filter_arg(call) >= 0) {
      // SECCOMP_FILTER_FLAG_TSYNC gives the filter to every thread of the process.
      bool all = nr == SYS_seccomp && (call.arg[1] & SECCOMP_FILTER_FLAG_TSYNC);
      for (auto& [tid, o] : tasks_)
        if (o.get() == &rt || (all && o->tgid == rt.tgid)) o->filtered = true;
    }
  }
  // An exec of a vfork child replaced rt.task: `t` is gone then.
  Task& now = *rt.task;
  if (now.alive() && !rt.exiting) {
    FdTable::on_syscall(rt.fds, nr, args, result, [&](RemotePtr<> a, void* b, size_t n) { return now.read_mem(a, b, n); });
    if (uint8_t kind = sc.getNewFdKind()) {
      if (kind != (uint8_t)FdTable::Kind::Stdout && kind != (uint8_t)FdTable::Kind::Stderr &&
          kind != (uint8_t)FdTable::Kind::SelfMem)
        return make_error(ErrorKind::Corrupt, "trace is corrupt: event " + std::to_string(f.getEvent()) +
                                                  " names descriptor kind " + std::to_string(kind));
      rt.fds->mark(result, (FdTable::Kind)kind);
    }
  }
  return {};
}

Status ReplaySession::replay_clone_call(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt,
                                        ReplayTask::Where where) {
  Task& t = *rt.task;
  int64_t result = sc.getResult();
  bool failed = result < 0 && result >= -4095;
  if (!failed && where != ReplayTask::Where::CloneDone) {
    // Traces before 1.5 have no childTid: the result is the child then.
    RecordedTid child{sc.getChildTid() ? sc.getChildTid() : (pid_t)result};
    std::vector<pid_t> ns_tids = to_vector(sc.getChildNsTids());
    RR_TRY(execute_clone(f, rt, child, std::move(ns_tids), false));
  }
  if (rt.in_vfork) {
    // The parent returns once its child has exec'd or ended. A child
    // whose execve entry was an event of its own is inside an exec that
    // succeeds (the recorded parent returned first): it leaves the
    // parent's memory now, its image comes with its exec event.
    for (auto& [tid, c] : tasks_) {
      int64_t child_nr = c->where == ReplayTask::Where::AtEntry ? c->task->regs().syscallno() : -1;
      if (c->vfork_parent == rt.recorded() && (child_nr == SYS_execve || child_nr == SYS_execveat))
        RR_TRY(detach_vfork_child(*c));
    }
    WaitStatus st = wait_filtered(rt, ResumeHow::Syscall);
    if (!st.is_syscall_stop()) return divergence(f, "the vfork parent did not return: " + describe_stop(st));
    rt.in_vfork = false;
    rt.vfork_xsave.clear();
    vfork_done_ = rt.recorded();
    Registers r = t.regs();
    Registers entry = regs_from_capnp(sc.getEntryRegs());
    for (int i = 0; i < 6; ++i) r.set_arg(i, entry.arg(i));
    r.set_syscallno(sc.getNumber());
    t.set_regs(r);
  }
  finish_emulated(t, sc);
  return {};
}

Status ReplaySession::replay_memory_call(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt) {
  Task& t = *rt.task;
  int64_t nr = sc.getNumber();
  int64_t result = sc.getResult();
  if (nr == SYS_mmap) {
    auto map = sc.getMap();
    int64_t got;
    bool mapped_shared = false;  // as replay maps it
    uint64_t mapped_len = 0;
    {
      RemoteSyscalls rs(t);
      if (sc.getHasMap() && map.hasFile() && map.getFile().size() > 0) {
        std::string file = map.getFile().cStr();
        RR_TRY(reader_->check_file(file));
        bool emulated = shared_files_.count(file) > 0;
        std::string open_path = reader_->dir() + "/" + file;
        if (emulated) open_path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(emulated_file(file));
        int64_t fd = tracee_file_fd(t, rs, open_path, emulated ? O_RDWR : O_RDONLY);
        if (fd < 0) return make_error("opening " + file + " in the replayed process failed: " + strerror((int)-fd));
        // The trace copy is never written: shared mappings of it become
        // private, except for files with a shared emulated copy.
        bool shared = emulated && (map.getFlags() & MAP_SHARED);
        uint64_t flags = (map.getFlags() & ~(uint64_t)(MAP_SHARED | MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE | MAP_PRIVATE)) |
                         (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
        got = rs.syscall(SYS_mmap, {(uint64_t)result, map.getLength(), map.getProt(), flags, (uint64_t)fd, map.getOffset()});
        mapped_shared = shared;
        mapped_len = map.getLength();
        // The recorder rewrote the library's code at the call's exit (the
        // progress counter): the same bytes, before any of it runs.
        if (got == result && sc.hasCounter()) {
          RR_ASSIGN_OR_RETURN(CounterSetup setup, reader_->counter_setup(sc.getCounter()));
          RR_TRY(install_rewrite(t, rs, setup));
        }
        if (got == result)
          for (uint64_t addr : sc.getRandomSites())
            if (!install_random_trap(t, addr))
              return make_error("replay cannot make the rdrand or rdseed in " + file + " trap as the recording did");
      } else {
        Registers r = t.regs();
        uint64_t flags = (r.arg(3) & ~(uint64_t)MAP_FIXED_NOREPLACE) | MAP_FIXED;
        if (!(flags & MAP_ANONYMOUS)) {
          // A device mapping such as /dev/zero: anonymous memory of the same sharing.
          flags |= MAP_ANONYMOUS;
        }
        if ((flags & MAP_SHARED_VALIDATE) == MAP_SHARED_VALIDATE) flags = (flags & ~(uint64_t)MAP_SHARED_VALIDATE) | MAP_SHARED;
        got = rs.syscall(SYS_mmap, {(uint64_t)result, r.arg(1), r.arg(2), flags, (uint64_t)-1, 0});
        mapped_shared = (flags & MAP_SHARED) != 0;
        mapped_len = r.arg(1);
      }
    }
    RR_TRY(check_result(f, sc, got));
    // A mapping made while the write tracker registers the process's
    // mappings is registered at once: the kernel merges two adjacent
    // mappings only when both are registered or neither, so one left
    // unregistered beside a registered neighbour would stay apart from it
    // where the recording's kernel merged them (and an mremap over both
    // would fail). Its pages are not protected: they count as written.
    auto leader = tasks_.find(rt.tgid);
    if (write_tracker_ && !mapped_shared && leader != tasks_.end())
      write_tracker_->register_range(leader->second->task->tid(), RemotePtr<>((uint64_t)result), page_ceil(mapped_len));
    finish_emulated(t, sc);
  } else if (nr == SYS_mremap) {
    // The kernel would pick another place for a moved mapping (replay
    // processes do not share the recording's mmap base): name it.
    Registers r = t.regs();
    int64_t got;
    {
      RemoteSyscalls rs(t);
      if ((uint64_t)result == r.arg(0))
        got = rs.syscall(SYS_mremap, {r.arg(0), r.arg(1), r.arg(2), r.arg(3) & ~(uint64_t)MREMAP_MAYMOVE, 0});
      else
        got = rs.syscall(SYS_mremap, {r.arg(0), r.arg(1), r.arg(2), r.arg(3) | MREMAP_MAYMOVE | MREMAP_FIXED, (uint64_t)result});
    }
    RR_TRY(check_result(f, sc, got));
    finish_emulated(t, sc);
  } else {
    Registers after = execute_in_place(rt);
    RR_TRY(check_result(f, sc, after.syscall_result()));
    apply_writes(t, sc);
  }
  return {};
}

Status ReplaySession::replay_exit_call(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt) {
  Task& t = *rt.task;
  int64_t nr = sc.getNumber();
  if (debugger_stops_ && !(inside_ && inside_->exit_reported)) {
    size_t threads = 0;
    for (const auto& [tid, o] : tasks_) threads += o->tgid == rt.tgid && !o->exiting;
    if (threads == 1 || nr == SYS_exit_group) {
      pause(ReplayStop::ProcessExit, rt);
      inside_->exit_reported = true;
      return {};
    }
  }
  // Run it now: exit_group ends the other threads, whose ends may come
  // before this one's in the trace.
  Registers r = t.regs();
  r.set_ip(r.ip() + (uint64_t)-2);
  r.set_syscall_result(nr);
  t.set_regs(r);
  t.try_resume(ResumeHow::Cont, rt.pending_sig);
  rt.pending_sig = 0;
  rt.exiting = true;
  // The caller stops before it is torn down, so the state at this event
  // is a still picture; exit_group's other threads are going too.
  WaitStatus other;
  if (!wait_for_end_stop(rt, &other)) return divergence(f, syscall_name(nr) + " did not end the task: " + describe_stop(other));
  if (nr == SYS_exit_group)
    for (auto& [tid, o] : tasks_)
      if (o->tgid == rt.tgid) o->exiting = true;
  return {};
}

}  // namespace rr
