// ReplaySession, the user code of one event under a debugger: the pieces
// a stretch runs in (to a trap, one step, or to a counted execution), each
// asked for by a run() and ended by a stop, with breakpoints and
// watchpoints armed only while it runs.
#include "replay/replay_session.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <tuple>
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
#include "core/progress_counter.h"
#include "core/pid_namespace.h"
#include "core/remote_syscalls.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "core/syscall_restart.h"
#include "core/tracee_setup.h"
#include "core/x86_insn.h"
#include "core/syscall_table.h"
#include "core/task_mem_reader.h"
#include "util/fatal.h"
#include "util/io.h"

#include "replay/armed_traps.h"
#include "replay/replay_internal.h"

namespace rr {

namespace {

constexpr int kSiKernel = 0x80;  // si_code of an int3 trap
constexpr uint64_t kDr6Causes = 0x400f;  // DR6: BS (single step) and B0-B3 (breakpoint slots)
constexpr uint64_t kDr6Slots = 0xf;      // DR6: B0-B3
constexpr uint8_t kIcebp = 0xf1;       // int1
const char* const kLostCauseWhy =
    "this machine lost the cause of a debug exception (seen on VMs, Intel ones even at rest); a watchpoint or "
    "breakpoint may have been missed";


// A poll site's trap whose branch is not taken (core/progress_counter.h):
// the branch is made here, as the recorder made it.
bool take_untaken_poll_branch(Task& t) {
  Registers regs = t.regs();
  std::optional<PollSite> site = poll_site_at(t, regs);
  if (!site) return false;
  bool taken = false;
  Registers after = take_poll_branch(*site, regs, &taken);
  if (taken) return false;
  t.set_regs(after);
  return true;
}

// A counted piece's stop by its counter (si_code TRAP_PERF) must be the
// counter's own: the kernel sends it when the count reaches the stop count,
// before the counted instruction runs. Any other count or place is a signal
// of another counter, or one delivered late, and the point reached is not the
// one asked for: replay stops rather than go on from there.
void check_counter_stop(const ExecutionCounter& c, const RunRequest& d, RemotePtr<> at) {
  uint64_t n = c.count();
  if (n == d.until_count && at == d.until) return;
  fatal("the breakpoint counter on " + hex(d.until.as_int()) + " stopped the task at " + hex(at.as_int()) +
        " after " + std::to_string(n) + " executions, where it was to stop before execution " +
        std::to_string(d.until_count) + "; this machine's breakpoint counters cannot be trusted here (RR_GDB_COUNTERS=0 "
        "turns them off)");
}

// A counted piece that stopped for another reason must not have reached its
// count: if it did, the counter's stop was lost (its SIGTRAP merged with
// another, or never sent) and the task ran past the point.
void check_counter_not_reached(const ExecutionCounter& c, const RunRequest& d, const WaitStatus& st) {
  uint64_t n = c.count();
  if (n < d.until_count) return;
  fatal("the breakpoint counter on " + hex(d.until.as_int()) + " counted " + std::to_string(n) +
        " executions without stopping the task before execution " + std::to_string(d.until_count) + " (" +
        describe_stop(st) + " came instead); this machine's breakpoint counters cannot be trusted here "
        "(RR_GDB_COUNTERS=0 turns them off)");
}

// A debug exception whose cause the kernel did not see: Linux reports a
// #DB with no bit set in DR6 as an ICEBP (SIGTRAP, si_code TRAP_BRKPT, the
// ptrace DR6 without B0-B3 and BS), and counts no breakpoint for it. On the
// Intel VM CI runs on this happens under load (docs/progress-counter.md): a
// single step, a watchpoint or a breakpoint counter's hit arrives that way,
// the counter one short. The program's own `int1` (0xf1 before ip) raises
// the same, and is not one.
bool cause_lost(Task& t, const siginfo_t& si) {
  if (si.si_code != TRAP_BRKPT) return false;
  if (t.debug_reg(6) & kDr6Causes) return false;
  uint8_t before = 0;
  return !(t.read_mem(t.regs().ip() - 1, &before, 1) && before == kIcebp);
}

// RR_LOSE_STEP_CAUSES=1 (for tests): every single step's debug exception is
// taken as one whose cause was lost, so that the recovery below runs where
// the machine cannot be made to lose one.
bool lose_step_causes() {
  static const bool lose = [] {
    const char* v = getenv("RR_LOSE_STEP_CAUSES");
    return v && strcmp(v, "1") == 0;
  }();
  return lose;
}

// The bytes a write watch covers (`len` of them, at most 8).
uint64_t watched_bytes(Task& t, const HwWatch& w) {
  uint64_t v = 0;
  if (!t.read_mem(w.addr, &v, w.len)) v = ~0ull;
  return v;
}

// Whether a step from `before` left the task where it was: a step runs one
// instruction, which changes a register (rip, or a rep string's counts)
// unless it is `jmp .`. (A running piece may come back to the same
// registers, so there this proves nothing.)
bool step_ran_nothing(Task& t, const Registers& before) {
  if (!before.same_point(t.regs())) return false;
  uint8_t b[2];
  return !(t.read_mem(before.ip(), b, sizeof b) && b[0] == 0xeb && b[1] == 0xfe);
}

// What a debug exception whose cause was lost (cause_lost) was, read from
// what could have raised it in the resume: an instruction breakpoint (the
// piece's breakpoint counter, the stretch counter, an execution watch) is a
// fault, raised before its instruction runs and not at all while the resume
// flag is set; the step and a data watch are traps, raised after the
// instruction that made them.
struct LostCauseInput {
  Task& t;
  const TrapSet& traps;
  RemotePtr<> counter_at;  // the piece's breakpoint counter (null: none)
  RemotePtr<> stretch_at;  // the stretch counter (null: none)
  RemotePtr<> skipped;     // an execution watch left out for the resume (stepped over)
  const Registers& before;  // the registers at the resume
  bool stepping;
  const uint64_t* watched_before;  // watched_bytes of each write watch before the resume
};

struct LostCause {
  enum Kind {
    Again,    // an instruction breakpoint at ip fired uncounted, or nothing ran: resume as it stands
    Step,     // the step ran its instruction (slots: write watches it hit too)
    Watch,    // write watches hit (slots)
    Nothing,  // a write watch hit by a write of the value it held
    Unknown,  // cannot be told (why)
  } kind;
  uint64_t slots = 0;
  const char* why = "";
  bool nothing_ran = false;  // every register as at the resume
};

constexpr int kLostRetries = 16;  // losses in a row at one point before replay gives up

LostCause read_lost_cause(const LostCauseInput& in) {
  Task& t = in.t;
  const std::vector<HwWatch>& hw = in.traps.hw;
  RemotePtr<> at = t.regs().ip();
  uint64_t our_enables = 0;
  for (size_t i = 0; i < hw.size() && i < 4; ++i) our_enables |= 3ull << (2 * i);
  // A tracer inside the recording may have debug registers of its own
  // enabled in the task (armed_traps.cc): their hits cannot be told apart.
  if (t.debug_reg(7) & 0xff & ~our_enables)
    return {LostCause::Unknown, 0, "the task's tracer in the recording has debug registers of its own enabled"};
  bool reads = std::any_of(hw.begin(), hw.end(),
                           [](const HwWatch& w) { return w.kind == WatchKind::Read || w.kind == WatchKind::Access; });
  bool writes = false;
  uint64_t changed = 0;
  for (size_t i = 0; i < hw.size() && i < 4; ++i) {
    if (hw[i].kind != WatchKind::Write) continue;
    writes = true;
    if (watched_bytes(t, hw[i]) != in.watched_before[i]) changed |= 1ull << i;
  }
  if (in.stepping) {
    if (!changed && step_ran_nothing(t, in.before))
      return {LostCause::Again, 0, "nothing ran since the resume", true};
    // The instruction ran, so no breakpoint stopped it first (a counter's
    // fault before it, if any, was counted): the step's trap, and data
    // watches' with it.
    if (reads) return {LostCause::Unknown, 0, "a read or access watch was armed beside the step"};
    return {LostCause::Step, changed, changed ? "the step, and write watches whose bytes changed" : "the step"};
  }
  // A running piece stops at the first trap: a watched write changes the
  // bytes only where it stopped (no syscall runs inside a piece).
  if (changed) return {LostCause::Watch, changed, "write watches whose bytes changed"};
  if (reads) return {LostCause::Unknown, 0, "a read or access watch was armed"};
  bool breaks_here = (!in.counter_at.is_null() && at == in.counter_at) ||
                     (!in.stretch_at.is_null() && at == in.stretch_at) ||
                     std::any_of(hw.begin(), hw.end(), [&](const HwWatch& w) {
                       return w.kind == WatchKind::Exec && w.addr == at && w.addr != in.skipped;
                     });
  if (breaks_here) return {LostCause::Again, 0, "the breakpoint at the task's instruction, before it ran"};
  if (writes) return {LostCause::Nothing, 0, "a write watch, by a write of the value it held"};
  return {LostCause::Unknown, 0, "no breakpoint or watch armed could have raised it there"};
}

constexpr size_t kMaxInsnBytes = 15;  // the longest x86 instruction

// The bytes of the instruction at `ip`, up to kMaxInsnBytes, read byte by
// byte: it may end at the last readable byte before an unmapped page.
// Returns how many were read.
size_t read_insn(Task& t, RemotePtr<> ip, uint8_t (&code)[kMaxInsnBytes]) {
  size_t n = 0;
  for (; n < kMaxInsnBytes; ++n)
    if (!t.read_mem(ip + n, &code[n], 1)) break;
  return n;
}

// Our single step over `pushf` pushes the trap flag we set, where the
// program, not stepped in the recording, pushed it clear: put back what it
// pushed. (A program that set the flag itself, or a tracer inside the
// recording that stepped it, keeps it: the flag was set before the step.)
void hide_pushed_trap_flag(Task& t, const Registers& before) {
  if (before.raw().eflags & kEflagsTrap) return;
  Registers now = t.regs();
  uint64_t pushed = before.sp().as_int() - now.sp().as_int();
  if (pushed != 8 && pushed != 2) return;  // most steps push nothing
  uint8_t code[kMaxInsnBytes];
  Pushf p = pushf_insn(code, read_insn(t, before.ip(), code));
  if (p.width != pushed || now.ip() != before.ip() + p.length) return;  // not a pushf that ran
  uint16_t low = 0;
  if (!t.read_mem(now.sp(), &low, sizeof low) || !(low & kEflagsTrap)) return;
  low &= (uint16_t)~kEflagsTrap;
  t.write_mem(now.sp(), &low, sizeof low);
}

}  // namespace

bool rep_string_at(Task& t, RemotePtr<> ip) {
  uint8_t code[kMaxInsnBytes];
  return rep_string_insn(code, read_insn(t, ip, code));
}

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
      if (report_ticks_) h.remaining = counter_remaining(t);
      pause(ReplayStop::Trap, rt, h);
      return;
    }
  }
  static const TrapSet kNone;
  // The piece's execution counter lives until the piece stops (a step over
  // a breakpoint inside the piece does not restart it).
  // (A unique_ptr: GCC 12 warns wrongly about an optional's destructor here.)
  std::unique_ptr<ExecutionCounter> counter;
  uint64_t ticks_left = report_ticks_ ? d.ticks : 0;
  // Stops without a cause at one point, in a row (the same instruction,
  // and nothing counted since): a machine that keeps losing it there.
  int lost_in_a_row = 0;
  std::tuple<uint64_t, uint64_t, uint64_t> lost_point{0, 0, 0};
  auto lost_again = [&](RemotePtr<> at) {
    std::tuple<uint64_t, uint64_t, uint64_t> p{at.as_int(), counter ? counter->count() : 0,
                                               whole ? whole->executions() : 0};
    lost_in_a_row = p == lost_point ? lost_in_a_row + 1 : 1;
    lost_point = p;
    return lost_in_a_row >= kLostRetries;
  };
  bool retried = false;  // the resume repeats one whose cause was lost
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
    // The progress counter armed for the piece's count, and its value
    // without that arming (put back at the stop).
    bool armed_ticks = false;
    uint64_t unarmed = 0;
    if (ticks_left) {
      std::optional<uint64_t> value = counter_remaining(t);
      // In a ProgressEvent's stretch the counter holds what is left to
      // its trap: a count at or past it is not in this stretch.
      if (value && (*value == 0 || !progress_stretch_ || ticks_left < *value)) {
        unarmed = *value;
        armed_ticks = true;
        if (!arm_counter(t, ticks_left)) fatal("cannot arm the progress counter for a debugger's count");
      }
    }
    {
      ArmedTraps armed(t, traps, at_break ? ip : RemotePtr<>());
      // The bytes each write watch covers before the resume: should the
      // exception lose its cause, a change tells a watch's hit (lost_cause).
      uint64_t watched_before[4] = {0, 0, 0, 0};
      for (size_t i = 0; i < traps.hw.size() && i < 4; ++i)
        if (traps.hw[i].kind == WatchKind::Write) watched_before[i] = watched_bytes(t, traps.hw[i]);
      std::optional<StretchCounter::Kept> whole_before;
      if (whole) {
        bool exec_here = !at_break && std::any_of(traps.hw.begin(), traps.hw.end(), [&](const HwWatch& w) {
          return w.kind == WatchKind::Exec && w.addr == ip;
        });
        whole_before = whole->kept();
        whole->before_resume(exec_here);
      }
      Registers at_resume = t.regs();
      t.resume(stepping ? ResumeHow::SysemuSingleStep : ResumeHow::Sysemu, rt.pending_sig);
      rt.pending_sig = 0;
      // A signal replay passes over must not turn a step into a run.
      st = wait_filtered(rt, stepping ? ResumeHow::SysemuSingleStep : ResumeHow::Sysemu);
      if (stepping && st.stop_sig() == SIGTRAP) hide_pushed_trap_flag(t, at_resume);
      bool ticked = false;
      if (armed_ticks && t.alive()) {
        std::optional<uint64_t> left = counter_remaining(t);
        if (!left) fatal("the progress counter page cannot be read after a debugger's count");
        uint64_t ran = ticks_left - *left;
        ticks_left = *left;
        arm_counter(t, unarmed - ran);
        ticked = *left == 0 && st.stop_sig() == SIGTRAP && at_counter_trap(t, t.regs());
      }
      if (ticked) {
        // Past the stub's last `jmp`, at the counted branch's target: the
        // trap's way out and the untrapped one leave every register, flag
        // and byte of memory the same there, so the point is one an
        // unarmed replay passes through too (rip in the stub after the trap
        // is not: that way out is taken only when armed).
        Registers r = t.regs();
        uint8_t jump[5];
        if (!t.read_mem(r.ip(), jump, sizeof jump) || jump[0] != 0xe9)
          fatal("the progress counter's trap at " + hex(r.ip().as_int()) + " is not followed by its jump");
        int32_t rel;
        memcpy(&rel, jump + 1, sizeof rel);
        r.set_ip(r.ip() + 5 + rel);
        t.set_regs(r);
        hit.kind = TrapHit::Ticked;
        ours = true;
      } else if (st.stop_sig() == SIGTRAP) {
        siginfo_t si = t.siginfo();
        uint64_t slots = armed.hits();
        Registers r = t.regs();
        RemotePtr<> at = r.ip();
        // A step's trap (DR6 BS) where none can be: in a resume that did not
        // step, with the program's own trap flag clear, or in a step before
        // its instruction ran. This machine reported another exception with
        // an older one's bits (seen on an Intel VM): read as a lost cause,
        // but where that finds nothing of ours, the trap stays the
        // program's.
        // (DR6 is read last: this runs at every step's stop.)
        bool stale_step = si.si_code == TRAP_TRACE && !slots &&
                          (stepping ? step_ran_nothing(t, at_resume) : !(r.raw().eflags & kEflagsTrap)) &&
                          !(t.debug_reg(6) & kDr6Slots);
        bool lost = stale_step || cause_lost(t, si) ||
                    (stepping && lose_step_causes() && !retried &&
                     (si.si_code == TRAP_TRACE || si.si_code == TRAP_HWBKPT));
        if (lost) {
          LostCauseInput in{t, traps, counter ? d.until : RemotePtr<>(), whole ? whole->addr() : RemotePtr<>(),
                            at_break ? ip : RemotePtr<>(), at_resume, stepping, watched_before};
          LostCause verdict = read_lost_cause(in);
          bool program_trap = stale_step && !stepping && verdict.kind != LostCause::Again &&
                              verdict.kind != LostCause::Watch;
          if (!program_trap) {
            const char* how = stale_step ? "with a step's stale cause" : "without its cause";
            if (verdict.kind == LostCause::Unknown)
              fatal("a debug exception stopped task " + std::to_string(t.tid()) + " at " + hex(at.as_int()) + " " +
                    how + ", and " + verdict.why + ", so replay cannot tell which it was: " + kLostCauseWhy);
            if (verdict.kind == LostCause::Again || verdict.kind == LostCause::Nothing) {
              if (lost_again(at))
                fatal("a debug exception stopped task " + std::to_string(t.tid()) + " at " + hex(at.as_int()) + " " +
                      std::to_string(lost_in_a_row) + " times in a row " + how + ": " + kLostCauseWhy);
              RR_LOG("task %d: a debug exception at %s came %s: %s; going on", t.tid(), hex(at.as_int()).c_str(), how,
                     verdict.why);
              if (verdict.nothing_ran) {
                // The step again as it was: the registers as before the
                // resume (its resume flag too), the stretch counter as
                // before its preparation for it, which is made again.
                t.set_regs(at_resume);
                if (whole) whole->restore(*whole_before);
              } else {
                // Instructions ran: the stop is the task's point now. A
                // breakpoint here fired uncounted (or a write left its
                // watch's value): resumed as it stands it fires again,
                // counted. The stretch counter learns that nothing here
                // was counted, unless the resume flag says mid-instruction.
                if (whole) whole->stopped(false, r.raw().eflags & kEflagsResume);
                d.skip_current = false;  // a breakpoint here was not reported yet
              }
              retried = true;
              continue;
            }
            RR_LOG("task %d: a debug exception at %s came %s: %s (watches hit: %#llx)", t.tid(), hex(at.as_int()).c_str(),
                   how, verdict.why, (unsigned long long)verdict.slots);
            slots = verdict.slots;
            si.si_code = verdict.kind == LostCause::Step ? TRAP_TRACE : TRAP_HWBKPT;
          }
        }
        retried = false;
        if (!d.until.is_null() && si.si_code == kTrapPerf) {
          check_counter_stop(*counter, d, at);
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
    if (counter && hit.kind != TrapHit::Counted && t.alive()) {
      // (A count far short of what ran tells a counter the machine
      // stopped: docs/progress-counter.md, "Another process's single steps".)
      RR_LOG("task %d: the breakpoint counter on %s counted %llu of %llu before %s", t.tid(),
             hex(d.until.as_int()).c_str(), (unsigned long long)counter->count(), (unsigned long long)d.until_count,
             describe_stop(st).c_str());
      check_counter_not_reached(*counter, d, st);
    }
    if (!ours) {
      in.reached = st;
      pause(ReplayStop::StretchEnds, rt);
      return;
    }
    // The resume flag at a stop that no instruction breakpoint made says the
    // instruction at ip was counted already: either it was stopped between two
    // iterations of a repeated string instruction, or (Intel) the trap of
    // the instruction before it (a data watchpoint's) also reported the
    // execution breakpoint at ip, which the kernel counted and set the flag
    // for, though the instruction has not started. Only a rep string
    // instruction can be inside; one that is may also be the Intel case, and
    // then it says inside, which makes positions take another road.
    bool counted_early = !instruction_break && (t.regs().raw().eflags & kEflagsResume);
    hit.inside = counted_early && rep_string_at(t, t.regs().ip());
    if (report_ticks_) hit.remaining = counter_remaining(t);
    if (whole) {
      whole->stopped(instruction_break, counted_early);
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
    if (sig == SIGTRAP && take_untaken_poll_branch(*rt.task)) {
      // The recorder made it too, with no event. A step ends there.
      if (how == ResumeHow::SysemuSingleStep || how == ResumeHow::SingleStep) {
        siginfo_t si = rt.task->siginfo();
        si.si_code = TRAP_TRACE;
        rt.task->set_siginfo(si);
        return st;
      }
      rt.task->resume(how, 0);
      continue;
    }
    if (sig && !raised_by_instruction(sig) && sig != rt.queued_sig) {
      rt.task->resume(how, 0);
      continue;
    }
    return st;
  }
}

}  // namespace rr
