// The canonical state of a replay at an event, as `rr state` prints it
// (core/state_view.h). Two roads to the same event (replay from the start,
// restore from a checkpoint) must print the same bytes.
#pragma once

#include <string>
#include <sys/types.h>

#include "core/state_view.h"

namespace rr {

class ReplaySession;

// `only_pid` (a recorded pid) restricts the state to one process; 0: all.
std::string describe_state(ReplaySession& session, bool json, pid_t only_pid = 0);

}  // namespace rr
