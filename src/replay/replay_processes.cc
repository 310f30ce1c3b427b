// ReplaySession, the events that make and end tasks and images: exits,
// fork/vfork/clone run for real, execve rebuilt in place or in a fresh
// process.
#include "replay/replay_session.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/sched.h>
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
#include "core/remote_syscalls.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "core/syscall_restart.h"
#include "core/tracee_setup.h"
#include "core/syscall_table.h"
#include "core/task_state.h"
#include "core/task_mem_reader.h"
#include "core/tracee_abi.h"
#include "util/fatal.h"
#include "util/io.h"

#include "replay/replay_internal.h"

namespace rr {

Status ReplaySession::apply_exit(trace::Frame::Reader f, trace::ExitEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  RecordedTid recorded = rt.recorded();
  if (!rt.end_seen && t.alive() && !rt.exiting && ev.getKilledBy() > 0 && ev.getKilledBy() < 64 &&
      init_fault_needs_detach(t, ev.getKilledBy())) {
    // As in the recording: detached, it faults again and dies of it, and
    // the kernel ends the rest of its namespace, whose ends follow.
    RR_LOG("task %d, the first process of its PID namespace, dies of signal %d: detached", recorded.value,
           ev.getKilledBy());
    rt.pending_sig = 0;
    t.detach();
    forget_task(recorded);
    return {};
  }
  if (!rt.end_seen && t.alive()) {
    if (!rt.exiting) {
      // Killed from outside: by SIGKILL (kill is emulated, so send it now),
      // by a fatal signal already delivered, or with its process.
      if (ev.getKilledBy() == SIGKILL) {
        syscall(SYS_tkill, t.tid(), SIGKILL);
        // It ends the whole process: the other threads are on their way
        // out too (their ends are the next events), and no injected
        // syscall may go into them now (a checkpoint between those events).
        for (auto& [tid, o] : tasks_)
          if (o->tgid == rt.tgid) o->exiting = true;
      }
      // By a signal the kernel forced with no delivery a tracer sees (a
      // seccomp filter's SECCOMP_RET_KILL: SIGSYS, its action made the
      // default and immutable): forced here the same way.
      // Only a single-threaded process: a thread of a process that dies of
      // another thread's fatal signal ends with the same status and needs
      // nothing (and may be gone under an injected syscall); a filter's kill
      // of one thread among several is not told apart from that yet.
      if (ev.getKilledBy() == SIGSYS && rt.pending_sig == 0 && thread_count(rt.tgid) == 1) {
        force_as_kernel(t, ev.getKilledBy(), true);
        rt.pending_sig = ev.getKilledBy();
      }
      t.try_resume(ResumeHow::Cont, rt.pending_sig);
      rt.pending_sig = 0;
    }
    WaitStatus other;
    if (!wait_for_end_stop(rt, &other))
      return divergence(f, "expected task " + std::to_string(recorded.value) + " to end, got " + describe_stop(other));
  }
  WaitStatus status = rt.end_status;
  bool at_exit_stop = rt.end_seen && rt.end_is_exit_stop;
  // As in the recording (RecordSession::on_task_end), the end of the last
  // thread of such a process comes after the rest of its namespace's.
  bool ns_init = at_exit_stop && thread_count(rt.tgid) == 1 && PidNamespace::in_ns_init_process(t.tid());
  int code = status.exited() ? status.exit_code() : 0;
  int killed = status.killed() ? status.term_sig() : 0;
  if (ev.getKilledBy() != killed || (!killed && ev.getExitCode() != code))
    return divergence(f, "task " + std::to_string(recorded.value) + " " + status.describe() +
                             " in replay, but ended with status " + std::to_string(ev.getExitCode()) + " / signal " +
                             std::to_string(ev.getKilledBy()) + " in the recording");
  bool leader_outlived = false;
  if (at_exit_stop) {
    t.try_resume(ResumeHow::Cont);
    // A leader ends for good only with its last thread.
    leader_outlived = recorded == rt.tgid && thread_count(rt.tgid) > 1;
    // What the kernel does as a thread ends (clearing its tid word) is done
    // before the next event, as in the recording.
    if (!leader_outlived && !ns_init) t.wait_until_ended();
    // A leader whose threads live on stays a zombie: the kernel's work for
    // its end (clearing its tid word) is waited for before the next event,
    // as in the recording.
    if (leader_outlived) t.wait_until_zombie();
  }
  RecordedTid tgid = rt.tgid;
  if (leader_outlived)
    keep_zombie_leader(recorded);
  else if (ns_init)
    ending_inits_.push_back(std::move(take_task(recorded)->task));
  else
    forget_task(recorded);
  if (recorded != tgid && thread_count(tgid) == 0 && zombie(tgid)) {
    // The last thread of a process whose leader ended first (an
    // exit_group from the leader, as Go's programs end): the leader ends
    // for good with it, as in the recording. Kept, it would stand for a
    // process not yet reaped and keep every later event from a checkpoint.
    // A PID namespace's first process (its last thread's exit_group kills
    // the rest of the namespace) ends only when the kernel has reaped the
    // rest, whose ends are later events: it is reaped as they come.
    std::unique_ptr<Task> leader = take_zombie(tgid);
    if (leader->alive() && ns_init)
      ending_inits_.push_back(std::move(leader));
    else if (leader->alive())
      leader->wait_until_ended();
  }
  reap_ending_inits();
  if (recorded == initial_tid_) {
    exited_ = true;
    exit_code_ = code;
    killed_by_ = killed;
  }
  return {};
}

void ReplaySession::reap_ending_inits() {
  std::erase_if(ending_inits_, [](const std::unique_ptr<Task>& t) {
    int status = 0;
    pid_t r = waitpid(t->tid(), &status, WNOHANG | __WALL);
    if (r == 0 || (r > 0 && !WIFEXITED(status) && !WIFSIGNALED(status))) return false;
    t->mark_dead();
    return true;
  });
}

bool ReplaySession::wait_for_end_stop(ReplayTask& rt, WaitStatus* other) {
  Task& t = *rt.task;
  for (;;) {
    WaitStatus st = wait_filtered(rt, ResumeHow::Cont);
    if (st.ended()) {
      rt.end_status = st;
      rt.end_is_exit_stop = false;
      break;
    }
    if (st.ptrace_event() == PTRACE_EVENT_EXIT) {
      rt.end_status = WaitStatus((int)t.event_msg());
      rt.end_is_exit_stop = true;
      break;
    }
    *other = st;
    return false;
  }
  rt.end_seen = true;
  rt.exiting = true;
  return true;
}

namespace {

// How replay runs a recorded clone: the registers and syscall to run, the
// rr scratch bytes to put back after it, and where the child's tid goes.
struct CloneRun {
  Registers regs;
  int64_t nr = 0;
  std::string saved_scratch;
  uint64_t ctid = 0;  // CLONE_CHILD_SETTID's address
  struct clone_args args;
};

// `want` not empty: run it as clone3 with set_tid `want` (innermost
// namespace first; its arguments in the rr scratch page); else as the
// recorded call, with `run_flags` (a fork for a vfork that is not kept).
Result<CloneRun> prepare_clone_run(Task& t, const SyscallArgs& call, const Registers& entry, uint64_t run_flags,
                                   bool vfork, const std::vector<pid_t>& want) {
  CloneRun run;
  run.regs = entry;
  run.nr = call.nr;
  Registers& r = run.regs;
  struct clone_args& args = run.args;
  memset(&args, 0, sizeof(args));
  if (!want.empty()) {
    if (call.nr == SYS_clone3) {
      size_t size = std::min<uint64_t>(call.arg[1], sizeof(args));
      if (size < CLONE_ARGS_SIZE_VER0 || !t.read_mem(RemotePtr<struct clone_args>(call.arg[0]), &args, size))
        return make_error(ErrorKind::Divergence, "cannot read clone3's arguments");
      args.flags = run_flags;
    } else {
      // clone ignores CLONE_DETACHED (musl passes it) and bits above 31;
      // clone3 refuses them.
      args.flags = (uint32_t)run_flags & ~(uint64_t)(CSIGNAL | CLONE_DETACHED);
      args.exit_signal = (run_flags & (CLONE_THREAD | CLONE_PARENT)) ? 0 : run_flags & CSIGNAL;
      if (call.nr == SYS_clone) {
        // clone's stack argument is the new stack pointer, any value at
        // all; clone3 takes only a stack it can check (stack + stack_size
        // in user memory). The child starts on its parent's stack pointer
        // and gets clone's before it runs (execute_clone).
        args.parent_tid = call.arg[2];
        args.child_tid = call.arg[3];
        args.tls = call.arg[4];
      }
    }
    run.ctid = args.child_tid;
    RemotePtr<int32_t> want_at = (kCloneArgsAt + 1).cast<int32_t>();
    args.set_tid = want_at.as_int();
    args.set_tid_size = want.size();
    args.cgroup = 0;
    run.saved_scratch = t.read_bytes(kCloneArgsAt, sizeof(args) + want.size() * sizeof(pid_t));
    t.write_val(kCloneArgsAt, args);
    t.write_mem(want_at, want.data(), want.size() * sizeof(pid_t));
    run.nr = SYS_clone3;
    r.set_arg(0, kCloneArgsAt.as_int());
    r.set_arg(1, sizeof(args));
  } else if (call.nr == SYS_fork || (call.nr == SYS_vfork && !vfork)) {
    run.nr = SYS_clone;
    r.set_arg(0, run_flags);
    for (int i = 1; i < 5; ++i) r.set_arg(i, 0);
  } else if (call.nr == SYS_clone) {
    r.set_arg(0, run_flags);
    run.ctid = call.arg[3];
  } else {
    size_t size = std::min<uint64_t>(call.arg[1], 256);
    std::string raw(size, '\0');
    if (!t.read_mem(RemotePtr<>(call.arg[0]), raw.data(), size))
      return make_error(ErrorKind::Divergence, "cannot read clone3's arguments");
    memcpy(raw.data(), &run_flags, sizeof(run_flags));
    constexpr size_t kChildTid = offsetof(struct clone_args, child_tid);
    if (size >= kChildTid + sizeof(run.ctid)) memcpy(&run.ctid, raw.data() + kChildTid, sizeof(run.ctid));
    run.saved_scratch = t.read_bytes(RemotePtr<>(kRrScratch), size);
    t.write_mem(RemotePtr<>(kRrScratch), raw.data(), size);
    r.set_arg(0, kRrScratch);
  }
  return run;
}

}  // namespace

Status ReplaySession::execute_clone(trace::Frame::Reader f, ReplayTask& rt, RecordedTid recorded_child,
                                    std::vector<pid_t> ns_tids, bool keep_vfork) {
  Task& t = *rt.task;
  Registers entry = t.regs();
  SyscallArgs call = syscall_args(entry.syscallno(), entry);
  TaskMemReader reader(t);
  uint64_t flags = 0;
  if (!clone_flags(call, reader, &flags)) return divergence(f, "cannot read the arguments of " + syscall_name(call.nr));
  // A vfork child's image is rebuilt in place, which must not touch the
  // parent's memory: replay forks it instead. A pidfd would be a real fd the
  // program does not know; the recorded number is written instead.
  // Namespaces the recorded task entered are not entered here: their
  // effects reached the program only through recorded results.
  // A new PID namespace is made again: its tasks get their recorded tids there.
  const uint64_t kNamespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWNET |
                               CLONE_NEWCGROUP | CLONE_NEWTIME;
  // CLONE_UNTRACED was not in the recording's call either (the recorder
  // takes it out).
  uint64_t run_flags = flags & ~(uint64_t)(CLONE_PIDFD | CLONE_UNTRACED | kNamespaces);
  bool vfork = (flags & CLONE_VFORK) && !(flags & CLONE_THREAD);
  if (vfork && !keep_vfork) {
    run_flags &= ~(uint64_t)(CLONE_VFORK | CLONE_VM);
    vfork = false;
  }
  // In replay's PID namespace every clone runs as clone3 with set_tid, so
  // the new task gets its recorded tid (and the kernel writes that tid
  // wherever it writes one: tid words, robust futexes).
  // In a namespace the program made, the task has a tid in each namespace
  // from its own out to replay's: set_tid lists them innermost first.
  bool exact = ns_ != nullptr && recorded_child.value > 1;
  std::vector<pid_t> want;
  if (exact) {
    want.assign(ns_tids.rbegin(), ns_tids.rend());
    want.push_back(recorded_child.value);
  }
  auto prepared = prepare_clone_run(t, call, entry, run_flags, vfork, want);
  if (!prepared.ok()) return divergence(f, prepared.error().message);
  CloneRun& run = prepared.value();
  Registers& r = run.regs;
  int64_t run_nr = run.nr;
  std::string& saved_scratch = run.saved_scratch;
  uint64_t ctid = run.ctid;
  struct clone_args& args = run.args;
  WaitStatus st;
  for (int attempt = 0;; ++attempt) {
    if (!reenter_syscall(rt, r, run_nr, &st))
      return divergence(f, "re-executing " + syscall_name(call.nr) + " did not reach its entry: " + describe_stop(st));
    t.resume(ResumeHow::Syscall);
    st = wait_filtered(rt, ResumeHow::Syscall);
    if (!(exact && attempt == 0 && st.is_syscall_stop())) break;
    // The recorded tid is taken (by a task replay has not reaped, say):
    // any tid will do, translated like any other.
    RR_LOG("clone3 with set_tid %d (%zu levels) failed (%lld); the task gets another tid", recorded_child.value,
           want.size(), (long long)t.regs().syscall_result());
    args.set_tid = 0;
    args.set_tid_size = 0;
    t.write_mem(RemotePtr<>(kRrScratch), &args, sizeof(args));
  }
  int ev = st.ptrace_event();
  if (ev != PTRACE_EVENT_FORK && ev != PTRACE_EVENT_VFORK && ev != PTRACE_EVENT_CLONE)
    return divergence(f, syscall_name(call.nr) + " did not create a task in replay: " + describe_stop(st));
  pid_t live_child = (pid_t)t.event_msg();
  int cstatus = 0;
  while (waitpid(live_child, &cstatus, __WALL) < 0)
    if (errno != EINTR) return divergence(f, "the new task vanished: " + errno_text());
  if (vfork) {
    // Seen from outside, it is at the entry of its vfork until it returns.
    rt.vfork_regs = entry;
    rt.vfork_xsave = t.xsave();
  }
  t.resume(ResumeHow::Syscall);
  if (vfork) {
    // The parent stays in the kernel until the child execs or ends; its
    // SyscallEvent collects it. The child's first moves are in its memory.
    rt.in_vfork = true;
  } else {
    st = wait_filtered(rt, ResumeHow::Syscall);
    if (!st.is_syscall_stop()) return divergence(f, syscall_name(call.nr) + " did not return: " + describe_stop(st));
    Registers after = t.regs();
    if (!saved_scratch.empty()) t.write_mem(RemotePtr<>(kRrScratch), saved_scratch.data(), saved_scratch.size());
    for (int i = 0; i < 6; ++i) after.set_arg(i, entry.arg(i));
    after.set_syscallno(call.nr);
    after.set_syscall_result(recorded_child.value);
    t.set_regs(after);
  }

  RR_LOG("task %d is %d in replay's namespace (live %d)", recorded_child.value, PidNamespace::inner_tid(live_child), live_child);
  auto child = std::make_unique<ReplayTask>();
  child->task = std::make_unique<Task>(live_child, recorded_child);
  child->ns_tids = std::move(ns_tids);
  WaitStatus cst(cstatus);
  if (!cst.stopped()) return divergence(f, "the new task ended at once: " + cst.describe());
  Task& c = *child->task;
  Registers cr = c.regs();
  for (int i = 0; i < 6; ++i) cr.set_arg(i, entry.arg(i));
  if (call.nr == SYS_clone && call.arg[1]) cr.set_sp(RemotePtr<>(call.arg[1]));
  cr.set_syscallno(call.nr);
  c.set_regs(cr);
  if (vfork) child->vfork_parent = rt.recorded();
  // clone3's arguments were in the shared scratch page; the parent is not
  // stopped yet, so they are cleared when the child leaves it.
  if (vfork && !saved_scratch.empty()) t.write_mem(RemotePtr<>(kRrScratch), saved_scratch.data(), saved_scratch.size());
  // The kernel wrote the live tid; the program saw the recorded one.
  if ((flags & CLONE_CHILD_SETTID) && ctid)
    c.write_val(RemotePtr<int32_t>(ctid), child->ns_tids.empty() ? recorded_child.value : child->ns_tids.back());
  if (!saved_scratch.empty() && !(run_flags & CLONE_VM)) c.write_mem(RemotePtr<>(kRrScratch), saved_scratch.data(), saved_scratch.size());
  child->filtered = rt.filtered;
  // A thread (CLONE_VM without CLONE_VFORK) starts with its stack dropped.
  child->altstack_disabled = ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) || rt.altstack_disabled;
  bool shares_vm = (flags & CLONE_VM) && !(flags & (CLONE_THREAD | CLONE_VFORK));
  child->shares_memory = shares_vm || ((flags & CLONE_THREAD) && rt.shares_memory);
  if (shares_vm) rt.shares_memory = true;
  if (!(flags & CLONE_THREAD)) forked_ = ReplayStop::Fork{recorded_child, rt.recorded(), (flags & CLONE_VFORK) != 0};
  add_clone(rt, std::move(child), flags);
  return {};
}

Status ReplaySession::replay_unshare_pid_ns(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt) {
  Task& t = *rt.task;
  Registers entry = t.regs();
  // The other namespaces reach the program only through recorded results;
  // a new user namespace would take replay's rights away.
  Registers r = entry;
  r.set_arg(0, CLONE_NEWPID);
  WaitStatus st;
  if (!reenter_syscall(rt, r, SYS_unshare, &st))
    return divergence(f, "re-executing unshare did not reach its entry: " + describe_stop(st));
  t.resume(ResumeHow::Syscall);
  st = wait_filtered(rt, ResumeHow::Syscall);
  if (!st.is_syscall_stop()) return divergence(f, "unshare did not return: " + describe_stop(st));
  Registers after = t.regs();
  if (after.syscall_result() != 0)
    return divergence(f, "unshare(CLONE_NEWPID) failed in replay (" + std::string(strerror((int)-after.syscall_result())) +
                             "), succeeded in the recording");
  after.set_arg(0, entry.arg(0));
  t.set_regs(after);
  rt.children_in_new_pid_ns = true;
  finish_emulated(t, sc);
  return {};
}

Status ReplaySession::replay_exec(trace::Frame::Reader f, ReplayTask& rt, trace::ExecImage::Reader image) {
  exec_applied_ = rt.tgid;  // an execve keeps the process id, from any of its threads
  if (rt.recorded() != rt.tgid) RR_TRY(exec_from_thread(rt));
  retire_other_threads(rt);
  // A process sharing its memory with another gets its new image in a
  // fresh process: rebuilding it in place would unmap the other's memory.
  if (rt.vfork_parent.value || rt.shares_memory) RR_TRY(detach_vfork_child(rt));
  rt.shares_memory = false;
  Task& t = *rt.task;
  if (rt.tracer_dr7 || rt.tracer_debug) {
    // execve clears the debug registers a tracer set (the image is rebuilt
    // in place here, not by the kernel).
    t.set_debug_reg(7, 0);
    for (int r : {0, 1, 2, 3, 6}) t.set_debug_reg(r, 0);
    rt.tracer_dr7 = 0;
    rt.tracer_debug = 0;
  }
  ExecKept kept = kept_by_exec(t);
  uint64_t ignored = kept.ignored, blocked = kept.blocked;
  {
    // execve resets caught signals to their default action and drops the
    // alternate signal stack; ignored signals and the mask stay.
    RemoteSyscalls rs(t);
    uint64_t caught = proc_sigset(t.tid(), "SigCgt");
    uint64_t now_ignored = proc_sigset(t.tid(), "SigIgn");
    for (int sig = 1; sig <= 64; ++sig) {
      uint64_t bit = 1ull << (sig - 1);
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      bool want_ignored = ignored & bit;
      if (!(caught & bit) && ((now_ignored & bit) != 0) == want_ignored) continue;
      TraceeSigaction act = {want_ignored ? (uint64_t)SIG_IGN : (uint64_t)SIG_DFL, 0, 0, 0};
      RemotePtr<TraceeSigaction> p = rs.scratch_val(act);
      rs.syscall(SYS_rt_sigaction, {(uint64_t)sig, p.as_int(), 0, 8});
    }
    // The kernel's execve clears the stack's address and size and keeps its
    // flags, which signal frames show in uc_stack.ss_flags: 0 for a thread
    // that never had one or had one set, SS_DISABLE for one that dropped
    // it or was made sharing memory. A stack set here is dropped, which
    // stores SS_DISABLE where the recording kept 0 (not reproduced: no
    // call stores 0); a fresh process (an exec from a thread or of a vfork
    // child) starts with 0 and drops one where the recording's had.
    std::optional<stack_t> now = query_altstack(t, rs);
    bool set = now && !(now->ss_flags & SS_DISABLE);
    if (set || rt.altstack_disabled) {
      stack_t none = {};
      none.ss_flags = SS_DISABLE;
      RemotePtr<stack_t> p = rs.scratch_val(none, 64);
      if (rs.syscall(SYS_sigaltstack, {p.as_int(), 0}) == 0) rt.altstack_disabled = true;
    }
  }
  if (ptrace((__ptrace_request)PTRACE_SETSIGMASK, t.tid(), (void*)sizeof(blocked), &blocked) != 0)
    return divergence(f, "cannot set the signal mask after execve: " + errno_text());
  ProcessImage img = image_from_capnp(image);
  RR_TRY(check_image_files(img));
  restore_image(t, img, reader_->dir());
  RR_TRY(install_image_counter(t, image));
  rt.in_exec = false;
  rt.fds->on_exec();
  return {};
}

ReplaySession::ExecKept ReplaySession::kept_by_exec(const Task& t) {
  return {proc_sigset(t.tid(), "SigIgn"), proc_sigset(t.tid(), "SigBlk")};
}

Result<std::unique_ptr<Task>> ReplaySession::spawn_exec_process(RecordedTid recorded, ExecKept kept, int ns_fd,
                                                                const std::vector<pid_t>& ns_tids) {
  uint64_t ignored = kept.ignored, blocked = kept.blocked;
  RR_ASSIGN_OR_RETURN(std::unique_ptr<Task> fresh, spawn_process(recorded, ns_fd, ns_tids));
  Task& t = *fresh;
  {
    RemoteSyscalls rs(t);
    for (int sig = 1; sig <= 64; ++sig) {
      if (!((ignored >> (sig - 1)) & 1) || sig == SIGKILL || sig == SIGSTOP) continue;
      TraceeSigaction act = {(uint64_t)SIG_IGN, 0, 0, 0};
      RemotePtr<TraceeSigaction> p = rs.scratch_val(act);
      rs.syscall(SYS_rt_sigaction, {(uint64_t)sig, p.as_int(), 0, 8});
    }
  }
  if (ptrace((__ptrace_request)PTRACE_SETSIGMASK, t.tid(), (void*)sizeof(blocked), &blocked) != 0)
    return make_error("cannot set the signal mask of a new process for an execve: " + errno_text());
  return fresh;
}

std::vector<pid_t> ReplaySession::program_ns_tids(pid_t live) const {
  std::vector<pid_t> all = PidNamespace::ns_tids(live);
  size_t own = ns_ ? (size_t)ns_->level() + 1 : 1;  // ours and replay's, then the program's
  return all.size() > own ? std::vector<pid_t>(all.begin() + own, all.end()) : std::vector<pid_t>{};
}

Status ReplaySession::detach_vfork_child(ReplayTask& rt) {
  Task& old = *rt.task;
  if (PidNamespace::in_ns_init_process(old.tid()))
    return make_error(ErrorKind::Unsupported,
                      "an exec of a vfork child that is the first process of a PID namespace cannot be replayed yet "
                      "(replay rebuilds such a child in a fresh process, and the namespace ends with the old one)");
  // A process of a PID namespace the program made stays in it (its
  // children go there, its namespace's end ends it).
  ScopedFd ns_fd;
  if (!rt.ns_tids.empty()) {
    std::string path = "/proc/" + std::to_string(old.tid()) + "/ns/pid";
    ns_fd = ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns_fd.is_open()) return make_error("cannot open " + path + ": " + errno_text());
  }
  RR_ASSIGN_OR_RETURN(std::unique_ptr<Task> fresh,
                      spawn_exec_process(old.recorded_tid(), kept_by_exec(old), ns_fd.get(), rt.ns_tids));
  end_thread(old);
  rt.task = std::move(fresh);
  rt.vfork_parent = {};
  rt.in_exec = true;
  return {};
}

Status ReplaySession::exec_from_thread(ReplayTask& rt) {
  RecordedTid tgid = rt.tgid;
  RecordedTid former = rt.recorded();
  // The kernel ends every other thread and hands the leader's tid to this
  // one. Replay ends the whole process and builds the new image in a fresh
  // one that has the leader's pid.
  if (PidNamespace::in_ns_init_process(rt.task->tid()))
    return make_error(ErrorKind::Unsupported,
                      "an exec from a thread of the first process of a PID namespace cannot be replayed yet "
                      "(replay rebuilds the process in a fresh one, and the namespace ends with the old one)");
  std::unique_ptr<ReplayTask> self = take_task(former);
  ExecKept kept = kept_by_exec(*self->task);
  // The process's namespace outlives it (its init is another process): the
  // fresh one goes there, with the leader's tids.
  ScopedFd ns_fd;
  if (!self->ns_tids.empty()) {
    std::string path = "/proc/" + std::to_string(self->task->tid()) + "/ns/pid";
    ns_fd = ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns_fd.is_open()) return make_error("cannot open " + path + ": " + errno_text());
    const ReplayTask* leader = find_task(tgid);
    const Task* live_leader = leader ? leader->task.get() : zombie(tgid);
    self->ns_tids = live_leader ? program_ns_tids(live_leader->tid()) : std::vector<pid_t>{};
  }
  // A thread, reaped before its leader (the SIGKILL ends its whole process).
  self->task->kill();
  kill_processes(tgid);
  RR_ASSIGN_OR_RETURN(self->task, spawn_exec_process(RecordedTid{tgid}, kept, ns_fd.get(), self->ns_tids));
  if (ns_fd.is_open() && self->ns_tids.empty()) self->ns_tids = program_ns_tids(self->task->tid());
  add_task(std::move(self));
  return {};
}

void ReplaySession::retire_other_threads(ReplayTask& rt) {
  for (RecordedTid tid : threads_of(rt.tgid)) {
    if (tid == rt.recorded()) continue;
    Task& o = *find_task(tid)->task;
    if (o.alive()) end_thread(o);
    forget_task(tid);
  }
}

}  // namespace rr
