// ReplaySession, the user code of one event under a debugger: the pieces
// a stretch runs in (to a trap, one step, or to a counted execution), each
// asked for by a run() and ended by a stop, with breakpoints and
// watchpoints armed only while it runs.
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
#include "core/task_mem_reader.h"
#include "util/fatal.h"
#include "util/io.h"

#include "replay/replay_internal.h"

namespace rr {

namespace {

constexpr int kSiKernel = 0x80;  // si_code of an int3 trap
constexpr uint64_t kEflagsResume = 1ull << 16;  // RF: skip instruction breakpoints once
constexpr uint64_t kDr6Hits = 0xf;

// Breakpoints and watchpoints written into one task for one piece of user
// code, and taken out again when the piece ends, so that nothing else (the
// replay's own syscalls, checkpoints, a debugger's memory reads) ever sees
// them.
class ArmedTraps {
 public:
  ArmedTraps(Task& t, const TrapSet& traps, RemotePtr<> skip) : t_(t) {
    for (RemotePtr<> a : traps.sw) {
      if (a == skip) continue;
      uint8_t orig;
      if (!t.read_mem(a, &orig, 1)) continue;  // not mapped (yet)
      uint8_t int3 = 0xcc;
      t.write_mem(a, &int3, 1);
      saved_.push_back({a, orig});
    }
    uint64_t dr7 = 0;
    for (size_t i = 0; i < traps.hw.size() && i < 4; ++i) {
      const HwWatch& w = traps.hw[i];
      if (w.kind == WatchKind::Exec && w.addr == skip) continue;
      uint64_t rw = w.kind == WatchKind::Exec ? 0 : w.kind == WatchKind::Write ? 1 : 3;
      uint64_t len = w.kind == WatchKind::Exec ? 0 : w.len == 1 ? 0 : w.len == 2 ? 1 : w.len == 8 ? 2 : 3;
      t.set_debug_reg((int)i, w.addr.as_int());
      dr7 |= (1ull << (2 * i)) | (rw << (16 + 4 * i)) | (len << (18 + 4 * i));
    }
    if (dr7) {
      t.set_debug_reg(6, 0);
      t.set_debug_reg(7, dr7);
      dr7_set_ = true;
    }
  }
  // Which debug-register slots hit (DR6 bits 0-3); call before disarm().
  uint64_t hits() { return dr7_set_ ? t_.debug_reg(6) & kDr6Hits : 0; }
  bool armed_sw(RemotePtr<> a) const {
    for (const auto& s : saved_)
      if (s.addr == a) return true;
    return false;
  }
  void disarm() {
    if (!take_out()) fatal_errno("cannot take the breakpoints out of tracee " + std::to_string(t_.tid()));
  }
  // However the piece's run ends: what cannot be taken out belongs to a
  // tracee that vanished, which its stop (or the failure under way) says.
  ~ArmedTraps() { take_out(); }

 private:
  // Restores the original bytes and clears the debug registers; false when
  // the tracee refused some of it.
  bool take_out() {
    if (!t_.alive()) return true;
    bool ok = true;
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) ok &= t_.try_write_mem(it->addr, &it->orig, 1);
    saved_.clear();
    if (dr7_set_) {
      ok &= t_.try_set_debug_reg(7, 0);
      ok &= t_.try_set_debug_reg(6, 0);
      dr7_set_ = false;
    }
    return ok;
  }
  struct Saved {
    RemotePtr<> addr;
    uint8_t orig;
  };
  Task& t_;
  std::vector<Saved> saved_;
  bool dr7_set_ = false;
};

}  // namespace

StretchCounter::StretchCounter(Task& t, RemotePtr<> addr) : t_(t), addr_(addr) {
  auto c = ExecutionCounter::open(t.tid(), addr, 0);
  if (!c.ok()) fatal(c.error().message);
  counter_ = std::make_unique<ExecutionCounter>(std::move(c.value()));
}

void StretchCounter::before_resume(bool armed_exec_here) {
  Registers r = t_.regs();
  if (r.ip() != addr_) return;
  bool rf = r.raw().eflags & kEflagsResume;
  if (counted_here_ && !rf) {
    if (armed_exec_here) {
      --adjust_;  // it hits again at once, and is counted again
    } else {
      r.raw().eflags |= kEflagsResume;
      t_.set_regs(r);
    }
  } else if (!counted_here_ && rf) {
    ++adjust_;  // it runs unseen
    counted_here_ = true;
  }
}

void StretchCounter::stopped(bool at_instruction_break, bool inside) {
  counted_here_ = (at_instruction_break || inside) && t_.regs().ip() == addr_;
}

uint64_t StretchCounter::executions() const {
  int64_t n = (int64_t)counter_->count() + adjust_ - (counted_here_ ? 1 : 0);
  return n < 0 ? 0 : (uint64_t)n;
}

void ReplaySession::pause(ReplayStop::Kind kind, const ReplayTask& rt, const TrapHit& hit) {
  if (!inside_) inside_ = std::make_unique<InsideEvent>();
  ReplayStop stop;
  stop.kind = kind;
  stop.tid = rt.recorded();
  stop.hit = hit;
  pause_ = stop;
}

void ReplaySession::run_piece(ReplayTask& rt, RunRequest d) {
  Task& t = *rt.task;
  InsideEvent& in = *inside_;
  if (!in.counter_chosen) {
    in.counter_chosen = true;
    if (!d.stretch_counter.is_null()) in.whole = std::make_unique<StretchCounter>(t, d.stretch_counter);
  }
  StretchCounter* whole = in.whole.get();
  if (in.entered_handler) {
    in.entered_handler = false;
    if (d.step) {
      // Entering a signal handler was the step: stop at its first instruction.
      TrapHit h;
      if (whole) h.executions = whole->executions();
      pause(ReplayStop::Trap, rt, h);
      return;
    }
  }
  static const TrapSet kNone;
  // The piece's execution counter lives until the piece stops (a step over
  // a breakpoint inside the piece does not restart it).
  // (A unique_ptr: GCC 12 warns wrongly about an optional's destructor here.)
  std::unique_ptr<ExecutionCounter> counter;
  for (;;) {
    if (!counter && !d.until.is_null()) {
      // The instruction the piece starts at does not count, unless it starts
      // the stretch: the resume flag lets it run past instruction
      // breakpoints once.
      Registers r = t.regs();
      bool rf = r.raw().eflags & kEflagsResume;
      if (d.count_first == rf) {
        r.raw().eflags ^= kEflagsResume;
        t.set_regs(r);
      }
      auto c = ExecutionCounter::open(t.tid(), d.until, d.until_count);
      if (!c.ok()) fatal(c.error().message);
      counter = std::make_unique<ExecutionCounter>(std::move(c.value()));
    }
    const TrapSet& traps = d.traps ? *d.traps : kNone;
    RemotePtr<> ip = t.regs().ip();
    // A breakpoint at the instruction about to run is stepped over first.
    bool at_break = d.skip_current && traps.breaks_at(ip);
    bool stepping = d.step || at_break;
    WaitStatus st;
    TrapHit hit;
    bool ours = false;
    bool instruction_break = false;  // stopped by an instruction breakpoint or counter at its address
    {
      ArmedTraps armed(t, traps, at_break ? ip : RemotePtr<>());
      if (whole) {
        bool exec_here = !at_break && std::any_of(traps.hw.begin(), traps.hw.end(), [&](const HwWatch& w) {
          return w.kind == WatchKind::Exec && w.addr == ip;
        });
        whole->before_resume(exec_here);
      }
      t.resume(stepping ? ResumeHow::SysemuSingleStep : ResumeHow::Sysemu, rt.pending_sig);
      rt.pending_sig = 0;
      // A signal replay passes over must not turn a step into a run.
      st = wait_filtered(rt, stepping ? ResumeHow::SysemuSingleStep : ResumeHow::Sysemu);
      if (st.stop_sig() == SIGTRAP) {
        siginfo_t si = t.siginfo();
        uint64_t slots = armed.hits();
        Registers r = t.regs();
        RemotePtr<> at = r.ip();
        if (!d.until.is_null() && si.si_code == kTrapPerf) {
          hit.kind = TrapHit::Counted;
          hit.addr = d.until;
          instruction_break = true;
          ours = true;
        } else if (si.si_code == kSiKernel && armed.armed_sw(at - 1)) {
          hit.kind = TrapHit::Software;
          hit.addr = at - 1;
          r.set_ip(at - 1);
          armed.disarm();
          t.set_regs(r);
          instruction_break = true;
          ours = true;
        } else if (slots) {
          for (size_t i = 0; i < traps.hw.size() && i < 4; ++i) {
            if (!(slots & (1ull << i))) continue;
            hit.kind = TrapHit::Hardware;
            hit.addr = traps.hw[i].addr;
            hit.watch = traps.hw[i].kind;
            instruction_break = hit.watch == WatchKind::Exec;
            break;
          }
          ours = true;
        } else if (stepping && si.si_code == TRAP_TRACE) {
          hit.kind = TrapHit::Step;
          ours = true;
        }
      }
    }
    if (!ours) {
      in.reached = st;
      pause(ReplayStop::StretchEnds, rt);
      return;
    }
    hit.inside = !instruction_break && (t.regs().raw().eflags & kEflagsResume);
    if (whole) {
      whole->stopped(instruction_break, hit.inside);
      hit.executions = whole->executions();
    }
    // Stepping over a breakpoint is ours alone, unless asked for.
    if (hit.kind == TrapHit::Step && !d.step) {
      d.skip_current = d.skip_on_restart;
      continue;
    }
    pause(ReplayStop::Trap, rt, hit);
    return;
  }
}

WaitStatus ReplaySession::wait_filtered(ReplayTask& rt, ResumeHow how) {
  for (;;) {
    WaitStatus st = rt.task->wait();
    int sig = st.stop_sig();
    if (sig && !raised_by_instruction(sig) && sig != rt.queued_sig) {
      rt.task->resume(how, 0);
      continue;
    }
    return st;
  }
}

}  // namespace rr
