// The software progress counter of a tracee process (docs/progress-counter.md):
// a page of ours holding how many counted branches a thread may still take
// before it traps, and stubs that every covered taken branch of the program
// passes through. Only one tracee thread runs at a time, so the threads of a
// process share the page: the recorder and replay set it for the thread they
// are about to run. Record plans the rewriting of the main executable;
// record and replay apply the same plan (replay reads it from the trace).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/branch_rewriter.h"
#include "core/registers.h"
#include "core/rr_page.h"
#include "core/task.h"
#include "util/result.h"

namespace rr {

class RemoteSyscalls;

// Near the rr page, below 2 GiB, so that stubs reach it with 32-bit
// absolute addresses; not next to the rr scratch page, with which the kernel
// would merge it into one mapping that is then neither the rr page's nor ours.
constexpr uint64_t kCounterPageAddr = kRrPageAddr + 0x10000;
constexpr CounterSlots kCounterSlots{kCounterPageAddr, kCounterPageAddr + 8};
// The most stub bytes a process gets (64 KiB branches), placed just below
// its executable.
constexpr uint64_t kStubAreaMax = 4ull << 20;

// The rewriting of one process's executable code and where it applies.
struct CounterSetup {
  RewritePlan plan;
  uint64_t text_start = 0, text_end = 0;
};

// Plans the rewriting of the .text section of the executable `t` runs
// (read from /proc/PID/exe), with the stub area just below its lowest
// mapping. Fails with a message when the executable cannot be read or
// there is no room for stubs.
Result<CounterSetup> plan_counter(Task& t);

// Maps the counter page and the stub area and writes the stubs and the
// code patches: the same in record and replay.
Status install_counter(Task& t, RemoteSyscalls& rs, const CounterSetup& setup);

// The thread about to run traps after `ticks` more counted branches (0:
// not before 2^64 of them). False when the process has no counter page
// (an image that execed after the first).
bool arm_counter(Task& t, uint64_t ticks);

// Counted branches left before the trap, or nullopt without a counter page.
std::optional<uint64_t> counter_remaining(Task& t);

// Whether a SIGTRAP stop with registers `regs` is the counter's trap.
bool at_counter_trap(Task& t, const Registers& regs);

}  // namespace rr
