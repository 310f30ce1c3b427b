// Helpers the files of ReplaySession share (replay_session.cc defines them);
// not part of the replay layer's interface.
#pragma once

#include <cstdint>
#include <string>

#include "core/task.h"

namespace rr {

// Signals an instruction raises by itself; every other signal a replayed
// task sees must have been sent by the replay.
bool raised_by_instruction(int sig);
// Ends one thread (not its process) by running exit(0) in it, and reaps it.
void end_thread(Task& t);
std::string hex(uint64_t v);
// A stop in words, for divergence messages.
std::string describe_stop(const WaitStatus& st);

}  // namespace rr
