// ArmedTraps: a debugger's breakpoints and watchpoints written into one
// task for one run of its code (int3 bytes, debug registers), and taken out
// again when the run ends, so that nothing else (the replay's own syscalls,
// checkpoints, a debugger's memory reads) ever sees them. Replay's pieces of
// user code and gdb's diversions both run under them.
#pragma once

#include <array>
#include <optional>

#include <cstdint>
#include <vector>

#include "core/task.h"
#include "replay/traps.h"

namespace rr {

class ArmedTraps {
 public:
  // Arms `traps` in `t`, but for an instruction breakpoint at `skip` (the
  // instruction about to run, stepped over).
  ArmedTraps(Task& t, const TrapSet& traps, RemotePtr<> skip);
  // Which debug-register slots hit (DR6 bits 0-3); call before disarm().
  uint64_t hits();
  bool armed_sw(RemotePtr<> a) const;
  void disarm();
  // However the run ends: what cannot be taken out belongs to a tracee that
  // vanished, which its stop (or the failure under way) says.
  ~ArmedTraps() { take_out(); }
  ArmedTraps(const ArmedTraps&) = delete;
  ArmedTraps& operator=(const ArmedTraps&) = delete;

 private:
  // Restores the original bytes and clears the debug registers; false when
  // the tracee refused some of it.
  bool take_out();
  struct Saved {
    RemotePtr<> addr;
    uint8_t orig;
  };
  Task& t_;
  std::vector<Saved> saved_;
  bool dr7_set_ = false;
  uint64_t slots_ = 0;  // the debug-register slots armed here
  // DR0-3, DR6 and DR7 before arming (indexes 4 and 5 unused), put back
  // when a tracer inside the recording had enabled some.
  std::optional<std::array<uint64_t, 8>> saved_regs_;
};

}  // namespace rr
