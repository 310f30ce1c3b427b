// ReplaySession's third way in: an in-memory copy of a live replay, made by
// forking its tracees. The kernel copies their memory on write, so a copy
// costs a fork per process and a clone per thread whatever the memory
// size; gdb's checkpoints and reverse execution keep such copies, stopped,
// and copy them again to start from them.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <linux/sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/pid_namespace.h"
#include "core/remote_syscalls.h"
#include "core/rr_page.h"
#include "core/task_state.h"
#include "replay/replay_session.h"
#include "replay/replay_internal.h"
#include "util/fatal.h"
#include "util/invariant.h"
#include "util/io.h"

namespace rr {

namespace {

// A thread's state as clone() carries it over: what ptrace shows, and the
// kernel-side rest (as a checkpoint keeps it too).
struct ThreadState {
  Registers regs;
  std::string xsave;
  TaskKernelState kernel;
};

ThreadState capture(Task& t) {
  return ThreadState{t.regs(), t.xsave(), TaskKernelState::capture(t, false)};
}

Status set_state(Task& t, const ThreadState& state) {
  t.set_regs(state.regs);
  t.set_xsave(state.xsave);
  return state.kernel.apply(t, false, "a copied replay");
}

// A process fork_tracee() made, and the two namespace files it inherited
// open (-1 when none).
struct Forked {
  pid_t live = 0;
  int64_t ns_fds[2] = {-1, -1};
};

// While it lives, the source is inside the copy's namespace for its
// children and holds two files open; its end puts both back, also when an
// injected syscall fails on the way.
struct NamespaceVisit {
  RemoteSyscalls& rs;
  int64_t own = -1, into = -1;
  bool entered = false;
  ~NamespaceVisit() {
    try {
      if (entered) rs.syscall(SYS_setns, {(uint64_t)own, CLONE_NEWPID});
      for (int64_t fd : {into, own})
        if (fd >= 0) rs.syscall(SYS_close, {(uint64_t)fd});
    } catch (const FatalError&) {
      // The source ended meanwhile: nothing is left to put back.
    }
  }
};

// Forks `source`'s process (from `source`, which may be any of its
// threads) into `ns` (nullptr: its own namespace, tid translated), as
// `want` there. The copy is a child of the source's parent (the supervisor
// for processes replay or restore started; for one the program forked, a
// tracee of the source's session, which keeps the copy's zombie until that
// session ends), and is left stopped before it runs anything; its registers are the caller's to set, and so
// are the namespace files it inherits open (Forked::ns_fds).
Result<Forked> fork_tracee(Task& source, const PidNamespace* ns, pid_t want) {
  RemoteSyscalls rs(source);
  NamespaceVisit visit{rs};
  if (ns) {
    // setns changes where the caller's children go, nothing else; the
    // caller goes back to its own namespace right after the fork.
    visit.own = rs.checked("opening its PID namespace", SYS_open,
                           {rs.scratch_string("/proc/self/ns/pid", 0).as_int(), O_RDONLY | O_CLOEXEC});
    visit.into = rs.checked("opening the copy's PID namespace", SYS_open,
                            {rs.scratch_string(ns->ns_path(), 64).as_int(), O_RDONLY | O_CLOEXEC});
    rs.checked("entering the copy's PID namespace", SYS_setns, {(uint64_t)visit.into, CLONE_NEWPID});
    visit.entered = true;
  }
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = CLONE_PARENT;  // clone3 wants exit_signal 0 with it: the parent's own is inherited
  int32_t tid = want;
  if (ns) {
    args.set_tid = rs.scratch(&tid, sizeof(tid), 512).as_int();
    args.set_tid_size = 1;
  }
  RemotePtr<> a = rs.scratch(&args, sizeof(args), 256);
  int64_t r = rs.syscall(SYS_clone3, {a.as_int(), sizeof(args)});
  Forked out;
  out.live = rs.spawned();
  out.ns_fds[0] = visit.own;
  out.ns_fds[1] = visit.into;
  if (r < 0) return make_error("fork in the tracee failed: " + std::string(strerror((int)-r)));
  if (out.live <= 0) return make_error("fork in the tracee made no task");
  int status = 0;
  while (waitpid(out.live, &status, __WALL) < 0)
    if (errno != EINTR) return make_error("the copied process vanished: " + errno_text());
  if (!WaitStatus(status).stopped()) return make_error("the copied process ended at once: " + WaitStatus(status).describe());
  return out;
}

// Whether a process has memory a fork would not copy as it is: madvise
// MADV_DONTFORK (smaps flag "dc": absent from the child) or MADV_WIPEONFORK
// ("wf": zeroed in the child). Replay executes madvise for real.
bool has_fork_sensitive_memory(pid_t pid) {
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  while (std::getline(smaps, line)) {
    if (line.compare(0, 8, "VmFlags:") != 0) continue;
    std::istringstream flags(line.substr(8));
    std::string f;
    while (flags >> f)
      if (f == "dc" || f == "wf") return true;
  }
  return false;
}

}  // namespace

bool ReplaySession::can_clone() const {
  if (!at_rest() || shares_between_processes() || maps_emulated_file()) return false;
  if (ns_ && ns_->level() >= PidNamespace::kMaxLevel) return false;
  for (const auto& [tid, rt] : tasks_)
    if (rt->is_leader() && (maps_shared_memory(*rt) || has_fork_sensitive_memory(rt->task->tid()))) return false;
  return true;
}

std::string ReplaySession::clone_refusal() const {
  std::string why = pid_namespace_refusal();
  if (!why.empty()) return why;
  bool shared = shares_between_processes() || maps_emulated_file();
  for (const auto& [tid, rt] : tasks_) shared = shared || (rt->is_leader() && maps_shared_memory(*rt));
  if (shared)
    return "processes share memory, a System V segment, an emulated file or an fd table, which in-memory copies "
           "cannot keep apart from their source yet";
  for (const auto& [tid, rt] : tasks_)
    if (rt->is_leader() && has_fork_sensitive_memory(rt->task->tid()))
      return "memory is marked MADV_DONTFORK or MADV_WIPEONFORK, which in-memory copies cannot copy yet";
  return {};
}

Result<std::unique_ptr<ReplaySession>> ReplaySession::clone() {
  if (!can_clone())
    return make_error("this replay cannot be copied here (something is under way, or memory is shared)");
  auto started = std::chrono::steady_clock::now();
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> reader, TraceReader::open(reader_->dir()));
  std::unique_ptr<ReplaySession> c(new ReplaySession(std::move(reader)));
  c->ns_.reset();
  if (ns_) {
    RR_ASSIGN_OR_RETURN(c->ns_, PidNamespace::nested_in(ns_));
  }

  // The supervisor state, as a restore sets it from a checkpoint file.
  RR_TRY(c->set_supervisor_state(supervisor_state()));
  c->shared_files_ = shared_files_;
  c->echo_ = echo_;
  // Emulated files, which nothing maps now: the copy changes copies of its own.
  for (const auto& [name, fd] : emulated_files_) {
    RR_ASSIGN_OR_RETURN(ScopedFd mem, memfd_copy(fd.get(), "the emulated copy of " + name));
    c->emulated_files_.emplace(name, std::move(mem));
  }

  std::map<const FdTable*, std::shared_ptr<FdTable>> tables;
  auto t0 = std::chrono::steady_clock::now();
  try {
    for (const auto& [tid, rt] : tasks_)
      if (rt->is_leader()) RR_TRY(c->copy_process(*this, rt->tgid, tables));
  } catch (const FatalError& e) {
    return make_error(std::string("cannot copy the replay: ") + e.what());
  }
  RR_LOG("copy at event %llu: %.3f ms for %zu tasks, after %.3f ms for the namespace", (unsigned long long)current_event_,
         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(), tasks_.size(),
         std::chrono::duration<double, std::milli>(t0 - started).count());
  return c;
}

Status ReplaySession::copy_process(ReplaySession& from, RecordedTid tgid, std::map<const FdTable*, std::shared_ptr<FdTable>>& tables) {
  const ReplayTask& src = *from.find_task(tgid);
  ThreadState leader_state = capture(*src.task);
  // fork keeps the leader's alternate signal stack as it is (flags
  // included); setting it again would fail while the leader runs on it (in
  // a handler): none is left as it is.
  leader_state.kernel.altstack_flags = 0;
  leader_state.kernel.altstack_size = 0;
  RR_ASSIGN_OR_RETURN(Forked forked, fork_tracee(*src.task, ns_.get(), tgid.value));
  pid_t live = forked.live;
  RR_LOG("copy of process %d: pid %d in its namespace (live %d)", tgid.value, PidNamespace::inner_tid(live), live);

  auto copy = std::make_unique<ReplayTask>();
  copy->task = std::make_unique<Task>(live, tgid);
  Task& leader = *copy->task;
  // The fork left the copy the source's scratch page with the fork's
  // arguments in it (the source's was cleared after), and the namespace
  // files open: neither belongs to the program.
  std::string zeros(kRrScratchSize, '\0');
  leader.write_mem(RemotePtr<>(kRrScratch), zeros.data(), zeros.size());
  if (ns_) {
    RemoteSyscalls rs(leader);
    for (int64_t fd : forked.ns_fds) rs.syscall(SYS_close, {(uint64_t)fd});
  }
  RR_TRY(set_state(leader, leader_state));
  auto& table = tables[src.fds.get()];
  if (!table) table = std::make_shared<FdTable>(*src.fds);
  copy->where = src.where;
  copy->filtered = src.filtered;
  copy->altstack_disabled = src.altstack_disabled;
  copy->pending_frame = src.pending_frame;
  const ReplayTask& leader_copy = add_process(std::move(copy), table);

  for (RecordedTid tid : from.threads_of(tgid)) {
    const ReplayTask& rt = *from.find_task(tid);
    if (rt.is_leader()) continue;
    ThreadState state = capture(*rt.task);
    auto thread = std::make_unique<ReplayTask>();
    RR_ASSIGN_OR_RETURN(thread->task, clone_thread(leader, tid));
    RR_TRY(set_state(*thread->task, state));
    thread->where = rt.where;
    thread->filtered = rt.filtered;
    thread->altstack_disabled = rt.altstack_disabled;
    thread->pending_frame = rt.pending_frame;
    add_thread(leader_copy, std::move(thread));
  }
  return {};
}

SupervisorState ReplaySession::supervisor_state() const {
  SupervisorState s;
  s.event = current_event_;
  s.next_frame = next_frame_position();
  s.counters = counters_;
  s.initial_tid = initial_tid_;
  s.at_end = at_end_;
  s.exited = exited_;
  s.exit_code = exit_code_;
  s.killed_by = killed_by_;
  return s;
}

Status ReplaySession::set_supervisor_state(const SupervisorState& s) {
  RR_TRY(reader_->seek(s.next_frame));
  lookahead_.reset();
  next_frame_pos_ = s.next_frame;
  current_event_ = s.event;
  counters_ = s.counters;
  initial_tid_ = s.initial_tid;
  at_end_ = s.at_end;
  exited_ = s.exited;
  exit_code_ = s.exit_code;
  killed_by_ = s.killed_by;
  return {};
}

Result<std::unique_ptr<Task>> ReplaySession::clone_thread(Task& leader, RecordedTid recorded) {
  // clone3 inside the leader, from the rr page: the new thread stops before
  // it runs anything (its registers are set next), the leader returns into
  // the int3 after the syscall instruction.
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  int32_t want = recorded.value;
  bool exact = ns_ != nullptr;
  RemotePtr<int32_t> want_at = (kCloneArgsAt + 1).cast<int32_t>();
  if (exact) {
    args.set_tid = want_at.as_int();
    args.set_tid_size = 1;
  }
  Registers saved = leader.regs();
  std::string saved_scratch = leader.read_bytes(kCloneArgsAt, sizeof(args) + sizeof(want));
  KJ_DEFER(leader.write_mem(RemotePtr<>(kRrScratch), saved_scratch.data(), saved_scratch.size()));
  for (int attempt = 0; attempt < 2; ++attempt) {
    leader.write_val(kCloneArgsAt, args);
    leader.write_val(want_at, want);
    Registers r = saved;
    r.set_ip(RemotePtr<>(kRrSyscallInsn));
    r.set_syscall_result(SYS_clone3);
    r.set_syscallno(-1);
    r.set_arg(0, kCloneArgsAt.as_int());
    r.set_arg(1, sizeof(args));
    leader.set_regs(r);
    leader.resume(ResumeHow::Cont);
    WaitStatus st = leader.wait();
    if (st.ptrace_event() == PTRACE_EVENT_CLONE) {
      pid_t live = (pid_t)leader.event_msg();
      int cstatus = 0;
      while (waitpid(live, &cstatus, __WALL) < 0)
        if (errno != EINTR) return make_error("the restored thread vanished: " + errno_text());
      auto thread = std::make_unique<Task>(live, recorded);
      leader.resume(ResumeHow::Cont);
      st = leader.wait();
      if (st.stop_sig() != SIGTRAP) return make_error("restoring a thread: the leader stopped with " + st.describe());
      leader.set_regs(saved);
      if (!WaitStatus(cstatus).stopped()) return make_error("the restored thread ended at once");
      return thread;
    }
    if (st.stop_sig() != SIGTRAP) return make_error("restoring a thread: clone3 stopped with " + st.describe());
    int64_t err = leader.regs().syscall_result();
    if (!args.set_tid_size) return make_error("restoring a thread: clone3 failed: " + std::string(strerror((int)-err)));
    // The tid is taken: any will do, translated like any other.
    args.set_tid = 0;
    args.set_tid_size = 0;
  }
  leader.set_regs(saved);
  return make_error("restoring a thread: clone3 failed");
}

}  // namespace rr
