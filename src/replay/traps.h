// What a debugger asks the replay to stop at while user code runs between
// events: software breakpoints (int3 written only while the code runs),
// and debug-register breakpoints and watchpoints. ReplaySession arms them
// around each piece of user code a debugger asks it to run, and stops at
// their hits (ReplayStop::Trap).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "util/types.h"

namespace rr {

enum class WatchKind : uint8_t { Exec = 0, Write = 1, Read = 3, Access = 4 };

struct HwWatch {
  RemotePtr<> addr;
  uint8_t len = 1;  // 1, 2, 4 or 8 (1 for Exec)
  WatchKind kind = WatchKind::Write;
  bool operator==(const HwWatch&) const = default;
};

// The debug-register watches covering [addr, addr + len): each 1, 2, 4 or
// 8 bytes long and aligned to its length, as x86 requires, fewest first.
inline std::vector<HwWatch> aligned_watches(RemotePtr<> addr, uint64_t len, WatchKind kind) {
  std::vector<HwWatch> out;
  while (len > 0) {
    uint8_t n = 8;
    while (n > 1 && (addr.as_int() % n != 0 || n > len)) n /= 2;
    out.push_back(HwWatch{addr, n, kind});
    addr += n;
    len -= n;
  }
  return out;
}

struct TrapSet {
  std::vector<RemotePtr<>> sw;  // software breakpoint addresses
  std::vector<HwWatch> hw;      // at most 4
  bool empty() const { return sw.empty() && hw.empty(); }
  // Whether a software or debug-register breakpoint is at instruction `ip`.
  bool breaks_at(RemotePtr<> ip) const {
    for (RemotePtr<> a : sw)
      if (a == ip) return true;
    for (const HwWatch& w : hw)
      if (w.kind == WatchKind::Exec && w.addr == ip) return true;
    return false;
  }
  bool operator==(const TrapSet&) const = default;
};

// Why a run of user code stopped short of its event.
struct TrapHit {
  // Ticked: the progress counter's trap a piece armed (RunRequest::ticks);
  // the task is at the counted branch's target, its stub done.
  enum Kind { Step, Software, Hardware, Counted, Ticked } kind = Step;
  RemotePtr<> addr;       // breakpoint address, or the watched address that hit
  WatchKind watch = WatchKind::Exec;
  // Executions of the stretch's counted instruction (RunRequest's
  // stretch_counter) that began since the stretch did (its first
  // instruction included), before this point: one about to begin here is
  // not among them.
  uint64_t executions = 0;
  // The instruction at the stop has begun and not finished: a repeated
  // string instruction between iterations (after a step or a watchpoint).
  bool inside = false;
  // With RunRequest::read_ticks, in a process with the progress counter:
  // the counter's `remaining` at this point (it falls by one at each
  // counted branch, so two stops of one stretch differ by the branches
  // counted between them). Also at a StretchBegins stop.
  std::optional<uint64_t> remaining;
};

// `a` plus the traps of `b` it lacks (at most four debug registers).
TrapSet merged_traps(const TrapSet& a, const TrapSet& b);
// Whether `hit`, a stop at instruction `ip`, is one of `traps`: an
// instruction breakpoint of either kind at one of its instructions (gdb's
// hbreak fires before an int3 at the same instruction), one of its
// watchpoints, or a step that lands where a run would have stopped.
bool traps_hit(const TrapSet& traps, const TrapHit& hit, RemotePtr<> ip);

}  // namespace rr
