// The canonical state of a replay at an event, as `rr state` prints it: per
// task the registers and a hash of the FPU/SSE/AVX registers, per mapping its
// range, permissions, name and a hash of its contents, the fd table and the
// supervisor's counters. Two roads to the same event (replay from the start,
// restore from a checkpoint) must print the same bytes.
#pragma once

#include <string>
#include <sys/types.h>

namespace rr {

class ReplaySession;

// `only_pid` (a recorded pid) restricts the state to one process; 0: all.
std::string describe_state(ReplaySession& session, bool json, pid_t only_pid = 0);

}  // namespace rr
