#include "gdb/diversion.h"

#include <cerrno>
#include <csignal>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/syscall_table.h"
#include "replay/armed_traps.h"
#include "util/fatal.h"

namespace rr {

namespace {

constexpr int kSiKernel = 0x80;  // si_code of an int3 trap

// Whether the instruction at `ip` enters the kernel (syscall, sysenter,
// int $0x80): a single-step would run it unseen, so it is run to its
// syscall stops instead.
bool at_syscall_insn(Task& t, RemotePtr<> ip) {
  uint8_t b[2];
  if (!t.read_mem(ip, b, 2)) return false;
  return (b[0] == 0x0f && (b[1] == 0x05 || b[1] == 0x34)) || (b[0] == 0xcd && b[1] == 0x80);
}

// Waits for `t`'s next stop, watching for gdb's ^C meanwhile: the first one
// sends the thread a SIGSTOP (*stopping), whose stop the run reports.
WaitStatus wait_watching(Task& t, const std::function<bool()>& interrupted, bool* stopping) {
  for (unsigned polls = 0;; ++polls) {
    int status = 0;
    pid_t r = waitpid(t.tid(), &status, __WALL | WNOHANG);
    if (r == t.tid()) {
      WaitStatus st(status);
      t.note_status(st);
      return st;
    }
    if (r < 0 && errno != EINTR) fatal_errno("waitpid for the diverted thread " + std::to_string(t.tid()));
    if (!*stopping && interrupted()) {
      *stopping = true;
      syscall(SYS_tkill, t.tid(), SIGSTOP);
    }
    // Most stops come within microseconds; a call that runs long is polled
    // every millisecond.
    if (polls > 32) usleep(polls > 512 ? 1000 : 50);
  }
}

}  // namespace

Result<std::unique_ptr<Diversion>> Diversion::start(ReplaySession& replay) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> copy, replay.clone());
  return std::unique_ptr<Diversion>(new Diversion(std::move(copy)));
}

void Diversion::at_syscall_stop(Task& t) {
  Registers r = t.regs();
  if (t.at_syscall_entry()) {
    int err = ENOSYS;
    // The 32-bit table's numbers are not the table's: refused.
    if (!t.compat_syscall() && runs_in_diversion(syscall_args(r.syscallno(), r), &err)) {
      refused_errno_ = 0;
      return;
    }
    refused_errno_ = err;
    r.set_syscallno(-1);  // the kernel skips it
    t.set_regs(r);
    return;
  }
  if (!refused_errno_) return;
  r.set_syscall_result(-refused_errno_);
  t.set_regs(r);
  refused_errno_ = 0;
}

Result<Diversion::Stop> Diversion::run(RecordedTid tid, bool step, const TrapSet& traps,
                                       const std::function<bool()>& interrupted) {
  ReplayTask* rt = copy_->find_task(tid);
  if (!rt || !rt->task->alive()) return make_error("no thread " + std::to_string(tid.value) + " in the diversion");
  Task& t = *rt->task;
  // Resumed from a breakpoint's address: the instruction there runs first.
  bool skip = traps.breaks_at(t.regs().ip());
  bool stopping = false;          // ^C seen: a SIGSTOP is on its way
  bool in_syscall = false;        // between a syscall's entry and exit stops
  bool stepping_syscall = false;  // the step (or skip) is a syscall instruction
  Stop stop;
  for (;;) {
    RemotePtr<> ip = t.regs().ip();
    bool stepping = step || skip;
    if (stepping && !in_syscall && at_syscall_insn(t, ip)) stepping_syscall = true;
    bool single = stepping && !stepping_syscall && !in_syscall;
    WaitStatus st;
    bool hit = false;
    {
      ArmedTraps armed(t, traps, skip ? ip : RemotePtr<>());
      t.resume(single ? ResumeHow::SingleStep : ResumeHow::Syscall);
      st = wait_watching(t, interrupted, &stopping);
      if (st.stop_sig() == SIGTRAP) {
        siginfo_t si = t.siginfo();
        uint64_t slots = armed.hits();
        Registers r = t.regs();
        if (si.si_code == kSiKernel && armed.armed_sw(r.ip() - 1)) {
          stop.hit = TrapHit{TrapHit::Software, r.ip() - 1, WatchKind::Exec};
          armed.disarm();
          r.set_ip(r.ip() - 1);
          t.set_regs(r);
          hit = true;
        } else if (slots) {
          for (size_t i = 0; i < traps.hw.size() && i < 4; ++i) {
            if (!(slots & (1ull << i))) continue;
            stop.hit = TrapHit{TrapHit::Hardware, traps.hw[i].addr, traps.hw[i].kind};
            break;
          }
          hit = true;
        } else if (single && si.si_code == TRAP_TRACE) {
          stop.hit = TrapHit{};
          hit = true;
        }
      }
    }
    if (st.ended()) {
      stop.kind = Stop::Gone;
      stop.sig = st.killed() ? st.term_sig() : 0;
      return stop;
    }
    if (st.is_syscall_stop()) {
      in_syscall = t.at_syscall_entry();
      at_syscall_stop(t);
      if (!in_syscall && stepping_syscall) {
        stepping_syscall = false;
        if (step) {
          stop.hit = TrapHit{};
          return stop;
        }
        skip = false;
      }
      continue;
    }
    if (hit) {
      if (stop.hit.kind == TrapHit::Step && !step) {
        skip = false;  // stepped over the breakpoint: on with all armed
        continue;
      }
      return stop;
    }
    int sig = st.stop_sig();
    if (sig == SIGSTOP) {
      if (!stopping) continue;  // a ^C's, after another stop was reported
      stop.kind = Stop::Interrupted;
      return stop;
    }
    if (sig) {
      stop.kind = Stop::Signal;
      stop.sig = sig;
      return stop;
    }
    // A ptrace event (the thread's end under way): on to what comes next.
  }
}

}  // namespace rr
