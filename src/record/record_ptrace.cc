// RecordSession, ptrace between tracees. rr is the kernel's tracer of every
// tracee, so a program that traces another one (a debugger, strace, a test
// of its own children) gets a tracer emulated by the recorder:
//  - its ptrace calls are answered here at their entry (the kernel runs them
//    as an invalid number) and their outputs recorded like any call's;
//    what a request changes in the tracee (registers, poked memory) is in
//    the call's frame, and replay makes the same changes;
//  - the tracee's stops the tracer would see (signal delivery, syscall
//    entry and exit under PTRACE_SYSCALL, PTRACE_EVENT_EXIT and EXEC, group
//    stops, PTRACE_INTERRUPT) hold it (TracerStopped) until a resuming
//    request; each stop that moved the tracee is an event of its own (a
//    signal not delivered, a syscall entry), and a signal the tracer passes
//    on is a delivery event;
//  - the tracer's wait4 and waitid are answered here when such a stop is
//    waiting for them; otherwise they go to the kernel, and the SIGCHLD the
//    kernel would send the tracer at each stop ends a wait that blocks.
//  - debug registers the tracer sets are set in the tracee for real, and
//    in replay too (SyscallEvent.traceeDebugReg);
//  - PTRACE_SINGLESTEP makes the tracee's next run one instruction, in the
//    recording and (SyscallEvent.traceeStep) in replay; PTRACE_SYSEMU
//    skips the next syscall the tracee enters (SyscallEvent.skippedByTracer).
// What is not followed yet stops recording with a message naming it.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <dirent.h>
#include <sstream>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <elf.h>
#include <linux/audit.h>
#include <asm/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/pid_namespace.h"
#include "record/seccomp_eval.h"
#include "core/signal_delivery.h"
#include "record/record_session.h"
#include "util/io.h"

namespace rr {

pid_t parent_of(pid_t tid) {
  auto text = read_file("/proc/" + std::to_string(tid) + "/status");
  if (!text.ok()) return 0;
  size_t at = text.value().find("\nPPid:");
  return at == std::string::npos ? 0 : (pid_t)strtol(text.value().c_str() + at + 6, nullptr, 10);
}

namespace {

using Stop = RecordTask::Traced::Stop;

// A wait status of a stop: the signal, and a PTRACE_EVENT_* in the third byte.
int stop_status(int sig, int event = 0) { return (event << 16) | (sig << 8) | 0x7f; }

// Options this tracer emulation follows (all but PTRACE_O_SUSPEND_SECCOMP).
constexpr uint64_t kFollowedOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC |
                                      PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                                      PTRACE_O_TRACECLONE | PTRACE_O_TRACEVFORKDONE | PTRACE_O_TRACESECCOMP;
constexpr uint64_t kAllOptions = kFollowedOptions | PTRACE_O_SUSPEND_SECCOMP;

std::string options_text(uint64_t options) {
  char text[32];
  snprintf(text, sizeof text, "0x%llx", (unsigned long long)options);
  return text;
}

// The wait status of PTRACE_INTERRUPT's stop: the group stop's signal
// while its process is stopped, else SIGTRAP.
int interrupt_status(const RecordTask& t) {
  return stop_status(t.traced.group_stop_sig ? t.traced.group_stop_sig : SIGTRAP, PTRACE_EVENT_STOP);
}

}  // namespace

siginfo_t siginfo_for_trap(int code, const RecordTask& tracee) {
  siginfo_t si = {};
  si.si_signo = SIGTRAP;
  si.si_code = code;
  // The kernel names the tracee as its own namespace sees it (its NSpid,
  // kept from its creation; none kept: it is in rr's namespace).
  si.si_pid = tracee.ns_ids.empty() ? tracee.tid() : tracee.ns_ids.back();
  si.si_uid = getuid();
  return si;
}

pid_t RecordSession::pid_seen_by(const RecordTask& viewer, const RecordTask& o) {
  if (viewer.ns_ids.size() <= 1) return o.tid();
  size_t level = viewer.ns_ids.size() - 1;
  if (o.ns_ids.size() <= level || o.ns_chain.size() <= level || viewer.ns_chain.size() <= level) return 0;
  return o.ns_chain[level] == viewer.ns_chain[level] ? o.ns_ids[level] : 0;
}

RecordTask* RecordSession::task_named_by(const RecordTask& viewer, pid_t pid) {
  if (viewer.ns_ids.size() <= 1) return find_task(RecordedTid{pid});
  if (pid <= 0) return nullptr;
  for (auto& [tid, o] : tasks_)
    if (pid_seen_by(viewer, *o) == pid) return o.get();
  return nullptr;
}

pid_t RecordSession::pid_for_tracer(const RecordTask& t, const RecordTask& o) {
  RecordTask* tracer = thread_to_signal(t.traced.by);
  return tracer ? pid_seen_by(*tracer, o) : o.tid();
}

void RecordSession::kick_blocked_waiter(RecordTask& tracer) {
  int64_t nr = tracer.entry_regs.syscallno();
  bool waiting = tracer.state == RecordTask::State::InKernel && (nr == SYS_wait4 || nr == SYS_waitid);
  if (!waiting || tracer.kicked) return;
  // It runs in the kernel: its mask is read from /proc, not with ptrace.
  if (!(try_proc_sigset(tracer.tid(), "SigBlk").value_or(0) & (1ull << (SIGCHLD - 1)))) return;
  tracer.kicked = true;
  syscall(SYS_tgkill, tracer.live_tgid(), tracer.tid(), SIGSTOP);
}

Status RecordSession::single_step(RecordTask& rt, RecordTask& o, bool sysemu, int sig) {
  std::string where = " (event " + std::to_string(next_event_) + ", tid " + std::to_string(rt.tid()) + ")";
  auto refuse = [&](const std::string& what) {
    return make_error(ErrorKind::Unsupported, std::string(sysemu ? "PTRACE_SYSEMU_SINGLESTEP" : "PTRACE_SINGLESTEP") +
                                                  " " + what + " is not supported yet" + where);
  };
  // A step from a stop inside a syscall (its entry or exit, a fork or exec
  // event) ends the call first; the kernel's report of such a step differs
  // from a step of user code, and is not followed.
  // Only SYSEMU_SINGLESTEP from the entry of a call PTRACE_SYSEMU skips is
  // followed: the call is skipped, and the step is of the instruction after it.
  bool in_user_code = o.traced.stop == Stop::Signal ||
                      (o.traced.stop == Stop::Event && o.traced.real.ptrace_event() == PTRACE_EVENT_STOP && !o.in_syscall);
  bool skipped_entry = sysemu && o.traced.stop == Stop::SyscallEntry && o.traced.skip_entry;
  if (!in_user_code && !skipped_entry) return refuse("from a stop inside a syscall or at a ptrace event");
  // Delivering a signal with the step stops at its handler's first
  // instruction: not followed.
  if (sig) return refuse("with a signal to deliver");
  Task& ot = *o.task;
  uint8_t code[3] = {};
  uint64_t ip = ot.regs().ip().as_int();  // after a skipped call's entry: the instruction after it
  ot.read_mem(RemotePtr<>(ip), code, 3);  // a short read leaves zeros: a fault is stepped like any instruction
  bool syscall_insn = (code[0] == 0x0f && (code[1] == 0x05 || code[1] == 0x34)) || (code[0] == 0xcd && code[1] == 0x80);
  if (syscall_insn && sysemu && code[1] == 0x05) {
    // SYSEMU_SINGLESTEP at a syscall: the kernel stops at its entry and
    // skips it, and reports no step after it.
    return resume_tracee(rt, o, false, 0, true);
  }
  // A step over a syscall would run it with no entry stop for the recorder,
  // and one over rdtsc or rdtscp would not trap for it.
  if (syscall_insn) return refuse("over a syscall instruction");
  if ((code[0] == 0x0f && code[1] == 0x31) || (code[0] == 0x0f && code[1] == 0x01 && code[2] == 0xf9))
    return refuse("over rdtsc or rdtscp");
  RR_TRY(resume_tracee(rt, o, false, 0, sysemu));
  // A skipped call's exit comes first (RecordSession::on_skipped_exit).
  (skipped_entry ? o.traced.step_after_skip : o.traced.step) = true;
  rt.ptrace_effect.tracee = o.recorded();
  rt.ptrace_effect.step = true;
  return {};
}

bool RecordSession::traces_any(RecordedTid tgid) const {
  for (const auto& [tid, o] : tasks_)
    if (o->traced.by == tgid) return true;
  return false;
}

RecordTask* RecordSession::thread_to_signal(RecordedTid tgid) {
  RecordTask* any = nullptr;
  for (RecordedTid tid : threads_of(tgid)) {
    RecordTask* o = find_task(tid);
    if (!o) continue;
    int64_t nr = o->entry_regs.syscallno();
    if (o->in_syscall && (nr == SYS_wait4 || nr == SYS_waitid)) return o;
    if (!any || tid == tgid) any = o;
  }
  return any;
}

Status RecordSession::enter_tracer_stop(RecordTask& t, Stop kind, int status, const siginfo_t& si) {
  RR_LOG("task %d: ptrace stop 0x%x for its tracer %d", t.tid(), status, t.traced.by.value);
  t.traced.stop = kind;
  t.traced.status = status;
  t.traced.reported = false;
  t.traced.siginfo = si;
  t.traced.real = t.pending;
  t.state = RecordTask::State::TracerStopped;
  if (running_ == &t) running_ = nullptr;
  wake_tracer(t.traced.by);
  // The kernel sends the tracer a SIGCHLD at each stop of its tracee; it
  // also ends a wait of the tracer that went to the kernel.
  if (RecordTask* tracer = thread_to_signal(t.traced.by)) {
    siginfo_t chld = {};
    chld.si_signo = SIGCHLD;
    chld.si_code = CLD_TRAPPED;
    chld.si_pid = pid_seen_by(*tracer, t);
    chld.si_uid = getuid();
    chld.si_status = (status >> 8) & 0x7f;
    tracer->injected[SIGCHLD] = chld;
    syscall(SYS_tgkill, tracer->live_tgid(), tracer->tid(), SIGCHLD);
    kick_blocked_waiter(*tracer);
  }
  return {};
}

Result<bool> RecordSession::tracer_sees_signal(RecordTask& rt, int sig, const siginfo_t& si, const Registers& regs) {
  if (sig == SIGSTOP && rt.kicked && si.si_code == SI_TKILL && si.si_pid == getpid()) {
    // rr's SIGSTOP that took a tracer out of its wait: nothing is delivered,
    // and the wait starts again (replay brings it to the same stop).
    rt.kicked = false;
    capnp::MallocMessageBuilder msg;
    auto frame = msg.initRoot<trace::Frame>();
    frame.setEvent(next_event_);
    frame.setTid(rt.tid());
    auto ev = frame.initSignal();
    ev.setSigno(sig);
    ev.setSiginfo(capnp_bytes(&si, sizeof(si)));
    regs_to_capnp(regs, ev.initRegs());
    ev.setDeliver(false);
    rt.last_event_regs = regs;
    RR_TRY(finish_frame(msg));
    RR_TRY(resume_running(rt));
    return true;
  }
  if (!rt.traced.by.value || sig == SIGKILL) return false;
  if (sig == SIGCONT) rt.traced.group_stop_sig = 0;
  bool interrupt = sig == SIGSTOP && rt.traced.interrupting && si.si_code == SI_TKILL && si.si_pid == getpid();
  // The signal stops the tracee without being delivered: replay brings it
  // to the same stop and delivers nothing.
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(rt.tid());
  auto ev = frame.initSignal();
  ev.setSigno(sig);
  ev.setSiginfo(capnp_bytes(&si, sizeof(si)));
  ev.setSynchronous(si.si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP));
  regs_to_capnp(regs, ev.initRegs());
  ev.setDeliver(false);
  rt.last_event_regs = regs;
  RR_TRY(finish_frame(msg));
  if (interrupt) {
    // The SIGSTOP that took it out of its syscall for PTRACE_INTERRUPT is
    // rr's: the tracer sees the interrupt's stop.
    rt.traced.interrupting = false;
    RR_TRY(enter_tracer_stop(rt, Stop::Event, interrupt_status(rt), siginfo_for_trap(SIGTRAP | (PTRACE_EVENT_STOP << 8), rt)));
    return true;
  }
  RR_TRY(enter_tracer_stop(rt, Stop::Signal, stop_status(sig), si));
  return true;
}

Status RecordSession::resume_tracee(RecordTask& tracer, RecordTask& t, bool syscalls, int sig, bool sysemu) {
  t.traced.syscalls = syscalls;
  t.traced.sysemu = sysemu;
  t.traced.step = false;
  t.traced.step_after_skip = false;
  // The tracer may have changed its registers: they are where it goes on from.
  t.last_event_regs = t.task->regs();
  Stop kind = t.traced.stop;
  t.traced.stop = Stop::None;
  t.traced.reported = false;
  // A signal passed at a stop that is no signal's delivery is sent to the
  // tracee, as the kernel does.
  auto send = [&]() {
    if (!sig) return;
    siginfo_t si = {};
    si.si_signo = sig;
    si.si_code = SI_KERNEL;
    t.injected[sig] = si;
    syscall(SYS_tgkill, t.live_tgid(), t.tid(), sig);
  };
  switch (kind) {
    case Stop::Signal:
      if (sig) {
        // Delivered now, from this stop: with the signal's own siginfo (as
        // the tracer may have set it), or, for another signal, one that
        // names the tracer as the sender.
        siginfo_t si = t.traced.siginfo;
        if (si.si_signo != sig) {
          si = {};
          si.si_signo = sig;
          si.si_code = SI_USER;
          RecordTask* leader = find_task(tracer.tgid);
          si.si_pid = leader ? pid_seen_by(t, *leader) : tracer.live_tgid();
          si.si_uid = getuid();
        }
        t.task->set_siginfo(si);
        t.pending_signal_frame = std::make_unique<capnp::MallocMessageBuilder>();
        auto frame = t.pending_signal_frame->initRoot<trace::Frame>();
        frame.setEvent(next_event_);
        frame.setTid(t.tid());
        auto ev = frame.initSignal();
        ev.setSigno(sig);
        ev.setSiginfo(capnp_bytes(&si, sizeof(si)));
        ev.setSynchronous(false);
        regs_to_capnp(t.last_event_regs, ev.initRegs());
        ev.setDeliver(true);
        t.deliver_sig = sig;
      }
      t.state = RecordTask::State::Ready;
      break;
    case Stop::SyscallEntry:
      // The entry is handled again, with the registers the tracer left.
      t.traced.entry_shown = true;
      t.pending = t.traced.real;
      t.state = RecordTask::State::Unprocessed;
      send();
      break;
    case Stop::Event:
      if ((t.traced.status >> 16) == PTRACE_EVENT_SECCOMP) {
        // As from an entry stop: the entry is handled again, with the
        // registers the tracer left (an orig_rax of -1 skips the call).
        t.traced.entry_shown = true;
        t.pending = t.traced.real;
        t.state = RecordTask::State::Unprocessed;
        break;
      }
      if (t.traced.real.ptrace_event() == PTRACE_EVENT_EXIT) {
        t.traced.exit_shown = true;
        t.pending = t.traced.real;
        t.state = RecordTask::State::Unprocessed;
        break;
      }
      if (t.traced.exit_stop_after_event) {
        t.traced.exit_stop_after_event = false;
        if (syscalls) {
          int code = (t.traced.options & PTRACE_O_TRACESYSGOOD) ? (SIGTRAP | 0x80) : SIGTRAP;
          return enter_tracer_stop(t, Stop::SyscallExit, stop_status(code), siginfo_for_trap(code, t));
        }
      }
      t.state = RecordTask::State::Ready;
      break;
    case Stop::SyscallExit:
    case Stop::Group:
      t.state = RecordTask::State::Ready;
      send();
      break;
    case Stop::None:
      break;
  }
  return {};
}

Result<std::optional<uint32_t>> RecordSession::seccomp_trace_data(RecordTask& rt) {
  const Registers& r = rt.entry_regs;
  seccomp_data data = {};
  data.nr = (int)r.syscallno();
  data.arch = AUDIT_ARCH_X86_64;
  data.instruction_pointer = r.ip().as_int();
  for (int i = 0; i < 6; ++i) data.args[i] = r.arg(i);
  // Index 0 is the oldest filter (the kernel counts back from the newest);
  // the kernel runs them all, and of equal actions the newest one's data wins.
  std::vector<uint32_t> returns;
  for (unsigned long i = 0;; ++i) {
    long n = ::ptrace(PTRACE_SECCOMP_GET_FILTER, rt.tid(), (void*)i, nullptr);
    if (n < 0 && (errno == ENOENT || (errno == EINVAL && i == 0))) break;  // no more (or none)
    std::vector<sock_filter> program(n > 0 ? n : 0);
    if (n <= 0 || ::ptrace(PTRACE_SECCOMP_GET_FILTER, rt.tid(), (void*)i, program.data()) != n)
      return make_error(ErrorKind::Unsupported, "a tracer's seccomp stops where the program's filters cannot be read (" +
                                                    errno_text() + ") are not supported yet");
    returns.push_back(run_seccomp_filter(program, data));
  }
  // The oldest is the syscall buffer's, which the program does not know of.
  if (syscall_buffer_ && !returns.empty()) returns.erase(returns.begin());
  std::reverse(returns.begin(), returns.end());  // newest first, as combine_seccomp_returns takes them
  uint32_t ret = combine_seccomp_returns(returns);
  if ((ret & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_TRACE) return std::optional<uint32_t>();
  return std::optional<uint32_t>(ret & SECCOMP_RET_DATA);
}

Status RecordSession::bring_to_tracer_stop(RecordTask& t) {
  RecordTask* tracer = running_;
  RecordedTid tid = t.recorded();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    RecordTask* o = find_task(tid);
    if (!o || o->state == RecordTask::State::TracerStopped || std::chrono::steady_clock::now() > deadline) break;
    if (o->state == RecordTask::State::Unprocessed) {
      RR_TRY(handle_stop(*o));
    } else if (o->state == RecordTask::State::Ready) {
      RR_TRY(resume_running(*o));
    } else if (o->state == RecordTask::State::Running || o->state == RecordTask::State::InKernel ||
               o->state == RecordTask::State::Spinning) {
      int status;
      pid_t p = waitpid(o->tid(), &status, __WALL | WNOHANG);
      if (p == o->tid()) {
        stash_status(p, status);
        if (o->state == RecordTask::State::InKernel) o->state = RecordTask::State::Unprocessed;
      } else if (p < 0 && errno != EINTR) {
        break;
      } else {
        usleep(100);
      }
    } else {
      break;  // stopped with its process, or at the echo gate: its turn comes later
    }
  }
  if (RecordTask* o = find_task(tid); o && running_ == o) running_ = nullptr;
  if (tracer && find_task(tracer->recorded()) == tracer) {
    running_ = tracer;
    tracer->state = RecordTask::State::Running;
  }
  return {};
}

Status RecordSession::trace_new_task(RecordTask& parent, RecordTask& child, int event) {
  child.traced = {};
  child.traced.by = parent.traced.by;
  child.traced.options = parent.traced.options;
  child.traced.seized = parent.traced.seized;
  child.traced.kernel_child = false;  // its parent is the tracee, not the tracer
  if (child.state == RecordTask::State::Ready) {
    if (child.traced.seized) {
      child.pending = WaitStatus(stop_status(SIGTRAP, PTRACE_EVENT_STOP));
      RR_TRY(enter_tracer_stop(child, Stop::Event, stop_status(SIGTRAP, PTRACE_EVENT_STOP),
                               siginfo_for_trap(SIGTRAP | (PTRACE_EVENT_STOP << 8), child)));
    } else {
      // It starts with a SIGSTOP, which its tracer sees first.
      siginfo_t si = {};
      si.si_signo = SIGSTOP;
      si.si_code = SI_USER;
      child.injected[SIGSTOP] = si;
      syscall(SYS_tgkill, child.live_tgid(), child.tid(), SIGSTOP);
    }
  }
  // The parent stops inside the call: its entry is an event, which makes
  // the child in replay before the child's own events.
  parent.traced.event_msg = pid_for_tracer(parent, child);
  RR_TRY(record_entry(parent));
  if (echo_writer_ == &parent) echo_writer_ = nullptr;
  return enter_tracer_stop(parent, Stop::Event, stop_status(SIGTRAP, event),
                           siginfo_for_trap(SIGTRAP | (event << 8), parent));
}

namespace {

// Whether process `tgid` has a child the kernel would report as ended.
bool has_ended_child(RecordedTid tgid) {
  std::string dir = "/proc/" + std::to_string(tgid.value) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool ended = false;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto kids = read_file(dir + "/" + e->d_name + "/children");
    if (!kids.ok()) continue;
    std::istringstream in(kids.value());
    pid_t kid;
    while (in >> kid) ended |= proc_state(kid) == 'Z';
  }
  closedir(d);
  return ended;
}

}  // namespace

bool RecordSession::must_hold_wait(RecordTask& rt) {
  Registers r = rt.task->regs();
  int64_t nr = r.syscallno();
  if ((nr != SYS_wait4 && nr != SYS_waitid) || !traces_any(rt.tgid)) return false;
  bool is_waitid = nr == SYS_waitid;
  if ((int)(is_waitid ? r.arg(3) : r.arg(2)) & WNOHANG) return false;
  // Something to report already: answer_wait answers it.
  for (const auto& [tid, o] : tasks_)
    if (o->traced.by == rt.tgid && o->state == RecordTask::State::TracerStopped && !o->traced.reported) return false;
  for (const TracedEnd& e : traced_ends_)
    if (e.tracer == rt.tgid) return false;
  // The SIGCHLD of a tracee's stop cannot end a wait in the kernel while
  // the tracer blocks it: it waits here until a child of its own has ended.
  if (rt.task->blocked_signals() & (1ull << (SIGCHLD - 1))) return !has_ended_child(rt.tgid);
  pid_t want = 0;
  if (!is_waitid && (pid_t)r.arg(0) > 0) want = (pid_t)r.arg(0);
  if (is_waitid && r.arg(0) == P_PID) want = (pid_t)r.arg(1);
  if (want) {
    RecordTask* o = task_named_by(rt, want);
    return o && o->traced.by == rt.tgid && !o->traced.kernel_child;
  }
  // Any child: the kernel blocks only where the tracer has children of its own.
  for (RecordedTid tid : threads_of(rt.tgid)) {
    auto kids = read_file("/proc/" + std::to_string(rt.tgid.value) + "/task/" + std::to_string(tid.value) + "/children");
    if (!kids.ok() || kids.value().find_first_not_of(" \n") != std::string::npos) return false;
  }
  return true;
}

void RecordSession::wake_tracer(RecordedTid tgid) {
  for (RecordedTid tid : threads_of(tgid))
    if (RecordTask* o = find_task(tid); o && o->state == RecordTask::State::TracerWaiting)
      o->state = RecordTask::State::Unprocessed;
}

void RecordSession::note_traced_end(RecordTask& t, const WaitStatus& status) {
  traced_ends_.push_back({t.traced.by, pid_for_tracer(t, t), status.raw()});
  if (RecordTask* tracer = thread_to_signal(t.traced.by)) {
    siginfo_t chld = {};
    chld.si_signo = SIGCHLD;
    chld.si_code = status.exited() ? CLD_EXITED : status.core_dumped() ? CLD_DUMPED : CLD_KILLED;
    chld.si_pid = pid_seen_by(*tracer, t);
    chld.si_uid = getuid();
    chld.si_status = status.exited() ? status.exit_code() : status.term_sig();
    tracer->injected[SIGCHLD] = chld;
    syscall(SYS_tgkill, tracer->live_tgid(), tracer->tid(), SIGCHLD);
    kick_blocked_waiter(*tracer);
  }
  wake_tracer(t.traced.by);
  t.traced = {};
}

void RecordSession::tracer_ended(RecordedTid tgid) {
  for (auto& [tid, o] : tasks_) {
    if (o->traced.by != tgid) continue;
    bool kill = o->traced.options & PTRACE_O_EXITKILL;
    o->traced = {};
    if (o->state == RecordTask::State::TracerStopped) o->state = RecordTask::State::Ready;
    if (kill) syscall(SYS_tgkill, o->live_tgid(), o->tid(), SIGKILL);
  }
}

Result<bool> RecordSession::answer_wait(RecordTask& rt) {
  Task& t = *rt.task;
  const Registers& r = rt.entry_regs;
  bool is_waitid = r.syscallno() == SYS_waitid;
  int options = (int)(is_waitid ? r.arg(3) : r.arg(2));
  pid_t caller_pgid = getpgid(t.tid());
  // A process group as the caller names it (its leader's pid), in our view.
  auto group = [&](pid_t named) {
    if (named == 0) return caller_pgid;
    RecordTask* leader = task_named_by(rt, named);
    return leader ? leader->tid() : (rt.ns_ids.size() > 1 ? -1 : named);
  };
  auto matches = [&](const RecordTask& o) {
    if (!is_waitid) {
      pid_t p = (pid_t)r.arg(0);
      if (p > 0) return pid_seen_by(rt, o) == p;
      if (p == -1) return true;
      return getpgid(o.tid()) == group(p == 0 ? 0 : -p);
    }
    switch ((idtype_t)r.arg(0)) {
      case P_ALL: return true;
      case P_PID: return pid_seen_by(rt, o) == (pid_t)r.arg(1);
      case P_PGID: return getpgid(o.tid()) == group((pid_t)r.arg(1));
      default: return false;
    }
  };
  if (is_waitid && r.arg(0) != P_ALL && r.arg(0) != P_PID && r.arg(0) != P_PGID)
    return make_error(ErrorKind::Unsupported, "waitid by pidfd in a process that traces another is not supported yet");
  RecordTask* found = nullptr;
  for (auto& [tid, o] : tasks_)
    if (o->traced.by == rt.tgid && o->state == RecordTask::State::TracerStopped && !o->traced.reported && matches(*o)) {
      found = o.get();
      break;
    }
  if (!found) {
    for (auto it = traced_ends_.begin(); it != traced_ends_.end(); ++it) {
      if (it->tracer != rt.tgid) continue;
      pid_t p = is_waitid ? (r.arg(0) == P_PID ? (pid_t)r.arg(1) : -1) : (pid_t)r.arg(0);
      if (p > 0 && p != it->tid) continue;
      WaitStatus st(it->status);
      if (is_waitid) {
        if (r.arg(2)) {
          siginfo_t si = {};
          si.si_signo = SIGCHLD;
          si.si_code = st.exited() ? CLD_EXITED : st.core_dumped() ? CLD_DUMPED : CLD_KILLED;
          si.si_pid = it->tid;
          si.si_uid = getuid();
          si.si_status = st.exited() ? st.exit_code() : st.term_sig();
          t.try_write_mem(RemotePtr<>(r.arg(2)), &si, sizeof(si));
        }
        rt.answered = 0;
      } else {
        if (r.arg(1)) t.try_write_mem(RemotePtr<>(r.arg(1)), &it->status, sizeof(int));
        if (r.arg(3)) {
          struct rusage ru = {};
          t.try_write_mem(RemotePtr<>(r.arg(3)), &ru, sizeof(ru));
        }
        rt.answered = it->tid;
      }
      if (!(is_waitid && (options & WNOWAIT))) traced_ends_.erase(it);
      Registers c = t.regs();
      c.set_syscallno(-1);
      t.set_regs(c);
      return true;
    }
    // The kernel answers: a real child's change, or a block that the
    // SIGCHLD of a tracee's next stop ends (must_hold_wait kept the tracer
    // out of the kernel where SIGCHLD is blocked).
    return false;
  }
  int status = found->traced.status;
  if (is_waitid) {
    if (!(options & WNOWAIT)) found->traced.reported = true;
    if (r.arg(2)) {
      siginfo_t si = {};
      si.si_signo = SIGCHLD;
      si.si_code = CLD_TRAPPED;
      si.si_pid = pid_seen_by(rt, *found);
      si.si_uid = getuid();
      si.si_status = status >> 8;
      if (!t.try_write_mem(RemotePtr<>(r.arg(2)), &si, sizeof(si))) rt.answered = -EFAULT;
    }
    if (r.arg(4)) {
      struct rusage ru = {};
      t.try_write_mem(RemotePtr<>(r.arg(4)), &ru, sizeof(ru));
    }
    if (!rt.answered) rt.answered = 0;
  } else {
    found->traced.reported = true;
    if (r.arg(1) && !t.try_write_mem(RemotePtr<>(r.arg(1)), &status, sizeof(status))) rt.answered = -EFAULT;
    if (r.arg(3)) {
      struct rusage ru = {};
      t.try_write_mem(RemotePtr<>(r.arg(3)), &ru, sizeof(ru));
    }
    if (!rt.answered) rt.answered = pid_seen_by(rt, *found);
  }
  Registers c = t.regs();
  c.set_syscallno(-1);
  t.set_regs(c);
  return true;
}

Status RecordSession::emulate_ptrace(RecordTask& rt) {
  Task& t = *rt.task;
  const Registers& r = rt.entry_regs;
  long req = (long)r.arg(0);
  pid_t pid = (pid_t)r.arg(1);
  uint64_t addr = r.arg(2), data = r.arg(3);
  std::string where = " (event " + std::to_string(next_event_) + ", tid " + std::to_string(t.tid()) + ")";
  auto unsupported = [&](const std::string& what) {
    return make_error(ErrorKind::Unsupported, what + " is not supported yet" + where);
  };
  rt.ptrace_effect = {};
  auto answer = [&](int64_t v) -> Status {
    rt.answered = v;
    Registers c = t.regs();
    c.set_syscallno(-1);
    t.set_regs(c);
    return {};
  };
  if (rt.ns_ids.size() > 1 && rt.ns_chain.size() != rt.ns_ids.size())
    return unsupported("ptrace from inside a PID namespace whose ancestry cannot be read");
  auto write_out = [&](uint64_t at, const void* buf, size_t len) { return t.try_write_mem(RemotePtr<>(at), buf, len); };

  if (req == PTRACE_TRACEME) {
    if (rt.traced.by.value) return answer(-EPERM);
    RecordTask* parent = find_task(RecordedTid{parent_of(t.tid())});
    if (!parent) return unsupported("PTRACE_TRACEME where the parent is not recorded (rr itself)");
    rt.traced = {};
    rt.traced.by = parent->tgid;
    stop_buffering(rt);
    rt.traced.kernel_child = rt.tid() == rt.tgid.value;
    return answer(0);
  }
  if (req == PTRACE_ATTACH || req == PTRACE_SEIZE) {
    RecordTask* o = task_named_by(rt, pid);
    if (!o) return unsupported("ptrace of a process outside the recording");
    if (o->tgid == rt.tgid || o->traced.by.value) return answer(-EPERM);
    if (req == PTRACE_SEIZE && (addr != 0 || (data & ~kAllOptions))) return answer(-EIO);
    if (req == PTRACE_SEIZE && (data & ~kFollowedOptions)) return unsupported("ptrace options " + options_text(data & ~kFollowedOptions));
    o->traced = {};
    o->traced.by = rt.tgid;
    stop_buffering(*o);
    o->traced.seized = req == PTRACE_SEIZE;
    o->traced.kernel_child = o->tid() == o->tgid.value && parent_of(o->tid()) == rt.tgid.value;
    if (req == PTRACE_SEIZE) o->traced.options = data;
    if (o->state == RecordTask::State::GroupStopped) {
      // A tracee stopped with its process shows its tracer that stop at once.
      o->pending = WaitStatus((SIGSTOP << 8) | 0x7f);
      o->traced.group_stop_sig = SIGSTOP;
      int status = o->traced.seized ? (PTRACE_EVENT_STOP << 16) | (SIGSTOP << 8) | 0x7f : (SIGSTOP << 8) | 0x7f;
      RR_TRY(enter_tracer_stop(*o, Stop::Group, status, siginfo_t{}));
    }
    if (req == PTRACE_ATTACH) {
      // PTRACE_ATTACH stops the tracee with a SIGSTOP from the kernel.
      siginfo_t si = {};
      si.si_signo = SIGSTOP;
      si.si_code = SI_KERNEL;
      o->injected[SIGSTOP] = si;
      syscall(SYS_tgkill, o->live_tgid(), o->tid(), SIGSTOP);
      RR_TRY(bring_to_tracer_stop(*o));
    }
    return answer(0);
  }
  RecordTask* o = task_named_by(rt, pid);
  if (!o || o->traced.by != rt.tgid) return answer(-ESRCH);
  if (req == PTRACE_KILL) {
    syscall(SYS_tgkill, o->live_tgid(), o->tid(), SIGKILL);
    if (o->state == RecordTask::State::TracerStopped) o->state = RecordTask::State::Ready;
    o->traced.stop = Stop::None;
    return answer(0);
  }
  if (req == PTRACE_INTERRUPT) {
    if (!o->traced.seized) return answer(-EIO);
    if (o->state == RecordTask::State::TracerStopped || o->traced.interrupting) return answer(0);
    if (o->state == RecordTask::State::InKernel) {
      // Out of its syscall (which restarts when it goes on) with a SIGSTOP
      // of rr's, which its tracer sees as the interrupt's stop.
      o->traced.interrupting = true;
      syscall(SYS_tgkill, o->live_tgid(), o->tid(), SIGSTOP);
      RR_TRY(bring_to_tracer_stop(*o));
      return answer(0);
    }
    if (o->state != RecordTask::State::Ready) return unsupported("PTRACE_INTERRUPT of a tracee in this state");
    o->pending = WaitStatus(interrupt_status(*o));
    RR_TRY(enter_tracer_stop(*o, Stop::Event, interrupt_status(*o),
                             siginfo_for_trap(SIGTRAP | (PTRACE_EVENT_STOP << 8), *o)));
    return answer(0);
  }
  // Every other request needs the tracee in a ptrace stop.
  if (o->state != RecordTask::State::TracerStopped) return answer(-ESRCH);
  Task& ot = *o->task;
  // Sets the tracee's FPU registers as the kernel would for the tracer
  // (its checks, its errors): the legacy area (`xstate` false) or an XSAVE
  // area. Returns the call's result.
  auto set_fpu = [&](bool xstate, std::string bytes) -> int64_t {
    int r;
    if (xstate) {
      struct iovec io = {bytes.data(), bytes.size()};
      r = (int)::ptrace(PTRACE_SETREGSET, ot.tid(), (void*)NT_X86_XSTATE, &io);
    } else {
      r = (int)::ptrace(PTRACE_SETFPREGS, ot.tid(), nullptr, bytes.data());
    }
    if (r != 0) return -errno;
    rt.ptrace_effect.tracee = o->recorded();
    rt.ptrace_effect.xsave = ot.xsave();
    return 0;
  };
  auto set_regs = [&](const Registers& regs) {
    ot.set_regs(regs);
    rt.ptrace_effect.tracee = o->recorded();
    rt.ptrace_effect.regs = ot.regs();
  };
  // The requests that resume the tracee take a signal to deliver in `data`;
  // the kernel refuses a number out of range before anything else.
  bool resumes = req == PTRACE_CONT || req == PTRACE_SYSCALL || req == PTRACE_DETACH || req == PTRACE_SINGLESTEP ||
                 req == PTRACE_SYSEMU || req == PTRACE_SYSEMU_SINGLESTEP;
  int sig = (int)data;
  if (resumes && (sig < 0 || sig > 64)) return answer(-EIO);
  switch (req) {
    case PTRACE_CONT:
    case PTRACE_SYSCALL:
    case PTRACE_DETACH: {
      if (req == PTRACE_DETACH) o->traced.by = {};
      RR_TRY(resume_tracee(rt, *o, req == PTRACE_SYSCALL, sig));
      if (req == PTRACE_DETACH) o->traced = {};
      return answer(0);
    }
    case PTRACE_SETOPTIONS:
      if (data & ~kAllOptions) return answer(-EINVAL);
      if (data & ~kFollowedOptions) return unsupported("ptrace options " + options_text(data & ~kFollowedOptions));
      o->traced.options = data;
      return answer(0);
    case PTRACE_GETEVENTMSG:
      return answer(write_out(data, &o->traced.event_msg, 8) ? 0 : -EFAULT);
    case PTRACE_GETSIGINFO:
      return answer(write_out(data, &o->traced.siginfo, sizeof(siginfo_t)) ? 0 : -EFAULT);
    case PTRACE_SETSIGINFO: {
      siginfo_t si;
      if (!t.read_mem(RemotePtr<>(data), &si, sizeof(si))) return answer(-EFAULT);
      o->traced.siginfo = si;
      return answer(0);
    }
    case PTRACE_GETSIGMASK: {
      if (addr != 8) return answer(-EINVAL);
      uint64_t mask = ot.blocked_signals();
      return answer(write_out(data, &mask, 8) ? 0 : -EFAULT);
    }
    case PTRACE_PEEKTEXT:
    case PTRACE_PEEKDATA: {
      uint64_t word;
      if (!ot.read_mem(RemotePtr<>(addr), &word, 8)) return answer(-EIO);
      return answer(write_out(data, &word, 8) ? 0 : -EFAULT);
    }
    case PTRACE_POKETEXT:
    case PTRACE_POKEDATA: {
      if (!ot.try_write_mem(RemotePtr<>(addr), &data, 8)) return answer(-EIO);
      rt.ptrace_effect.tracee = o->recorded();
      rt.ptrace_effect.writes.emplace_back(addr, std::string(reinterpret_cast<const char*>(&data), 8));
      return answer(0);
    }
    case PTRACE_PEEKUSER:
    case PTRACE_POKEUSER: {
      // The kernel's struct user ends with error_code and fault_address
      // after glibc's; both read as zero here.
      constexpr uint64_t kUserSize = sizeof(struct user) + 16;
      constexpr uint64_t kDebugRegs = offsetof(struct user, u_debugreg);
      if (addr % 8 || addr >= kUserSize) return answer(-EIO);
      bool debug = addr >= kDebugRegs && addr < kDebugRegs + 64;
      int dr = debug ? (int)((addr - kDebugRegs) / 8) : -1;
      if (req == PTRACE_PEEKUSER) {
        uint64_t word = 0;
        Registers regs = ot.regs();
        if (addr < sizeof(user_regs_struct)) memcpy(&word, reinterpret_cast<const char*>(&regs.raw()) + addr, 8);
        if (debug) {
          // The tracee's own: DR6 says which of them trapped.
          errno = 0;
          long v = ::ptrace(PTRACE_PEEKUSER, ot.tid(), (void*)addr, nullptr);
          if (errno) return answer(-errno);
          word = (uint64_t)v;
        }
        // The rest of struct user reads as zero.
        return answer(write_out(data, &word, 8) ? 0 : -EFAULT);
      }
      if (debug) {
        // Set in the tracee for real, with the kernel's checks: its
        // hardware breakpoints and watchpoints trap as they would natively,
        // and replay sets the same register (SyscallEvent.traceeDebugReg).
        if (::ptrace(PTRACE_POKEUSER, ot.tid(), (void*)addr, (void*)data) != 0) return answer(-errno);
        o->tracer_debug = debug_regs_in_use(o->tracer_debug, dr, data);
        rt.ptrace_effect.tracee = o->recorded();
        rt.ptrace_effect.debug_reg = dr;
        rt.ptrace_effect.debug_value = data;
        return answer(0);
      }
      if (addr >= sizeof(user_regs_struct)) return answer(0);
      Registers regs = ot.regs();
      memcpy(reinterpret_cast<char*>(&regs.raw()) + addr, &data, 8);
      set_regs(regs);
      return answer(0);
    }
    case PTRACE_GETREGS: {
      Registers regs = ot.regs();
      return answer(write_out(data, &regs.raw(), sizeof(user_regs_struct)) ? 0 : -EFAULT);
    }
    case PTRACE_SETREGS: {
      Registers regs = ot.regs();
      if (!t.read_mem(RemotePtr<>(data), &regs.raw(), sizeof(user_regs_struct))) return answer(-EFAULT);
      set_regs(regs);
      return answer(0);
    }
    case PTRACE_ARCH_PRCTL: {
      Registers regs = ot.regs();
      user_regs_struct& raw = regs.raw();
      switch (data) {
        case ARCH_GET_FS:
          return answer(write_out(addr, &raw.fs_base, 8) ? 0 : -EFAULT);
        case ARCH_GET_GS:
          return answer(write_out(addr, &raw.gs_base, 8) ? 0 : -EFAULT);
        case ARCH_SET_FS:
        case ARCH_SET_GS:
          if (addr >= (1ull << 47)) return answer(-EPERM);
          (data == ARCH_SET_FS ? raw.fs_base : raw.gs_base) = addr;
          set_regs(regs);
          return answer(0);
      }
      return answer(-EINVAL);
    }
    case PTRACE_GETFPREGS: {
      std::string area = ot.xsave();
      if (area.size() < 512) return answer(-EIO);
      return answer(write_out(data, area.data(), 512) ? 0 : -EFAULT);
    }
    case PTRACE_SETFPREGS: {
      std::string bytes(512, '\0');
      if (!t.read_mem(RemotePtr<>(data), bytes.data(), bytes.size())) return answer(-EFAULT);
      return answer(set_fpu(false, bytes));
    }
    case PTRACE_GETREGSET:
    case PTRACE_SETREGSET: {
      struct iovec iov;
      if (!t.read_mem(RemotePtr<>(data), &iov, sizeof(iov))) return answer(-EFAULT);
      std::string bytes;
      if (addr == NT_PRSTATUS) {
        Registers regs = ot.regs();
        bytes.assign(reinterpret_cast<const char*>(&regs.raw()), sizeof(user_regs_struct));
      } else if (addr == NT_PRFPREG || addr == NT_X86_XSTATE) {
        bytes = ot.xsave();
        if (addr == NT_PRFPREG) bytes.resize(512);
      } else {
        return unsupported("ptrace " + std::string(req == PTRACE_GETREGSET ? "GETREGSET" : "SETREGSET") +
                           " of register set " + std::to_string(addr));
      }
      size_t len = std::min<size_t>(iov.iov_len, bytes.size());
      if (req == PTRACE_SETREGSET && addr != NT_PRSTATUS) {
        std::string in(len, '\0');
        if (!t.read_mem(RemotePtr<>(reinterpret_cast<uint64_t>(iov.iov_base)), in.data(), len)) return answer(-EFAULT);
        if (addr == NT_PRFPREG && len != 512) return answer(-EINVAL);
        return answer(set_fpu(addr == NT_X86_XSTATE, in));
      }
      if (req == PTRACE_SETREGSET) {
        if (len != bytes.size()) return unsupported("ptrace SETREGSET of part of the registers");
        Registers regs = ot.regs();
        if (!t.read_mem(RemotePtr<>(reinterpret_cast<uint64_t>(iov.iov_base)), &regs.raw(), len)) return answer(-EFAULT);
        set_regs(regs);
        return answer(0);
      }
      if (!write_out(reinterpret_cast<uint64_t>(iov.iov_base), bytes.data(), len)) return answer(-EFAULT);
      iov.iov_len = len;
      return answer(write_out(data, &iov, sizeof(iov)) ? 0 : -EFAULT);
    }
    case PTRACE_GET_SYSCALL_INFO: {
      struct __ptrace_syscall_info info = {};
      Registers regs = ot.regs();
      info.arch = AUDIT_ARCH_X86_64;
      info.instruction_pointer = regs.ip().as_int();
      info.stack_pointer = regs.sp().as_int();
      size_t size = offsetof(struct __ptrace_syscall_info, entry);
      if (o->traced.stop == Stop::SyscallEntry) {
        info.op = PTRACE_SYSCALL_INFO_ENTRY;
        info.entry.nr = regs.syscallno();
        for (int i = 0; i < 6; ++i) info.entry.args[i] = regs.arg(i);
        size = offsetof(struct __ptrace_syscall_info, entry) + sizeof(info.entry);
      } else if (o->traced.stop == Stop::SyscallExit) {
        info.op = PTRACE_SYSCALL_INFO_EXIT;
        info.exit.rval = (int64_t)regs.syscall_result();
        info.exit.is_error = (uint64_t)regs.syscall_result() >= (uint64_t)-4095;
        size = offsetof(struct __ptrace_syscall_info, exit) + sizeof(info.exit.rval) + sizeof(info.exit.is_error);
      }
      if (!write_out(data, &info, std::min<size_t>(size, addr))) return answer(-EFAULT);
      return answer((int64_t)size);
    }
    case PTRACE_SINGLESTEP:
    case PTRACE_SYSEMU_SINGLESTEP: {
      RR_TRY(single_step(rt, *o, req == PTRACE_SYSEMU_SINGLESTEP, sig));
      return answer(0);
    }
    case PTRACE_SYSEMU: {
      RR_TRY(resume_tracee(rt, *o, false, sig, true));
      return answer(0);
    }
    case PTRACE_LISTEN:
      // Stays stopped with its process, its tracer free to wait for what
      // ends the stop: a SIGCONT makes it go on (continue_group_stops) and
      // stop for the tracer at that signal.
      if (!o->traced.seized || !o->traced.group_stop_sig ||
          (o->traced.stop != Stop::Group && o->traced.stop != Stop::Event))
        return answer(-EIO);
      o->traced.stop = Stop::None;
      o->traced.reported = false;
      o->state = RecordTask::State::GroupStopped;
      return answer(0);
  }
  return unsupported("ptrace request " + std::to_string(req));
}

}  // namespace rr
