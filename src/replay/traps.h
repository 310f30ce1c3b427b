// What a debugger asks the replay to stop at while user code runs between
// events: software breakpoints (int3 written only while the code runs),
// and debug-register breakpoints and watchpoints. ReplaySession arms them
// around each run of user code and reports hits to its ExecutionHook.
#pragma once

#include <cstdint>
#include <vector>

#include "util/types.h"

namespace rr {

enum class WatchKind : uint8_t { Exec = 0, Write = 1, Read = 3, Access = 4 };

struct HwWatch {
  uint64_t addr = 0;
  uint8_t len = 1;  // 1, 2, 4 or 8 (1 for Exec)
  WatchKind kind = WatchKind::Write;
  bool operator==(const HwWatch&) const = default;
};

// The debug-register watches covering [addr, addr + len): each 1, 2, 4 or
// 8 bytes long and aligned to its length, as x86 requires, fewest first.
inline std::vector<HwWatch> aligned_watches(uint64_t addr, uint64_t len, WatchKind kind) {
  std::vector<HwWatch> out;
  while (len > 0) {
    uint8_t n = 8;
    while (n > 1 && (addr % n != 0 || n > len)) n /= 2;
    out.push_back(HwWatch{addr, n, kind});
    addr += n;
    len -= n;
  }
  return out;
}

struct TrapSet {
  std::vector<uint64_t> sw;   // software breakpoint addresses
  std::vector<HwWatch> hw;    // at most 4
  bool empty() const { return sw.empty() && hw.empty(); }
  // Whether a software or debug-register breakpoint is at instruction `ip`.
  bool breaks_at(uint64_t ip) const {
    for (uint64_t a : sw)
      if (a == ip) return true;
    for (const HwWatch& w : hw)
      if (w.kind == WatchKind::Exec && w.addr == ip) return true;
    return false;
  }
  bool operator==(const TrapSet&) const = default;
};

// Why a run of user code stopped short of its event.
struct TrapHit {
  enum Kind { Step, Software, Hardware, Counted } kind = Step;
  uint64_t addr = 0;      // breakpoint address, or the watched address that hit
  WatchKind watch = WatchKind::Exec;
  // Executions of the hook's stretch_counter() instruction that began since
  // the stretch did (its first instruction included), before this point:
  // one about to begin here is not among them.
  uint64_t executions = 0;
  // The instruction at the stop has begun and not finished: a repeated
  // string instruction between iterations (after a step or a watchpoint).
  bool inside = false;
};

// `a` plus the traps of `b` it lacks (at most four debug registers).
TrapSet merged_traps(const TrapSet& a, const TrapSet& b);
// Whether `hit`, a stop at instruction `ip`, is one of `traps`: an
// instruction breakpoint of either kind at one of its instructions (gdb's
// hbreak fires before an int3 at the same instruction), one of its
// watchpoints, or a step that lands where a run would have stopped.
bool traps_hit(const TrapSet& traps, const TrapHit& hit, uint64_t ip);

class ReplaySession;
struct ReplayTask;

// Lets a debugger watch and steer the user code a replay runs. Each event
// (current_event() + 1) runs at most one stretch of user code, in the
// event's task; the hook says how to run it, in pieces.
class ExecutionHook {
 public:
  virtual ~ExecutionHook() = default;
  struct Directive {
    bool step = false;              // one instruction, then report
    const TrapSet* traps = nullptr; // armed for this piece; nullptr: none
    // A breakpoint at the current instruction is stepped over first (the
    // piece resumes from a hit there); else it hits at once.
    bool skip_current = false;
    // Run until just before execution `until_count` of `until` (a counted
    // piece; no traps, no step), not counting the instruction the piece
    // starts at unless `count_first` (the piece starts the stretch).
    uint64_t until = 0;
    uint64_t until_count = 0;
    bool count_first = false;
  };
  // A stretch of user code of `rt` starts (the event after current_event()).
  virtual void stretch_begins(ReplaySession& s, ReplayTask& rt) = 0;
  // An instruction whose executions the whole stretch counts (reported in
  // TrapHit::executions), or 0; asked right after stretch_begins().
  virtual uint64_t stretch_counter() { return 0; }
  // How to run the next piece of the stretch.
  virtual Directive next_piece(ReplaySession& s, ReplayTask& rt) = 0;
  // The piece ended at a hit; `rt` is stopped there (at a breakpoint's address).
  virtual void on_trap(ReplaySession& s, ReplayTask& rt, const TrapHit& hit) = 0;
  // The stretch reached its event's stop (no more pieces).
  virtual void stretch_ends(ReplaySession& s, ReplayTask& rt) = 0;
  // Event current_event() has been applied.
  virtual void after_event(ReplaySession& s) = 0;
  // `rt`, the last thread of its process, stopped at the entry of exit or
  // exit_group: the last moment its process can be looked at.
  virtual void at_process_exit(ReplaySession& s, ReplayTask& rt) = 0;
};

}  // namespace rr
