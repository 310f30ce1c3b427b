// Delivering a signal to a handler the same way on every road. The kernel
// copies three fields of the thread's fault history (trap number, error code,
// fault address) into every signal frame; that history differs between a
// recording, a replay and a restored checkpoint (the supervisor's own traps,
// a fresh process), so recording and replay both stop at the handler's first
// instruction and rewrite those fields by one rule: kept where the signal's
// own fault set them, zero where they are stale. The x87 last-instruction
// fields of the saved FPU image are zeroed too (timing-dependent on AMD).
#pragma once

#include "core/task.h"

namespace rr {

// Whether `sig` has a handler in the tracee (it gets a signal frame).
bool signal_is_caught(Task& t, int sig);

// Delivers `sig` (the tracee is at its signal-delivery stop) into its handler
// and normalizes the frame; the tracee is left stopped at the handler's first
// instruction. Returns false, having done nothing, if `sig` has no handler.
// `synchronous`: the signal comes from a fault of the current instruction.
bool deliver_to_handler(Task& t, int sig, bool synchronous);

// At the handler's first instruction: the FPU image of the signal frame, and
// replacing it (replay writes the recorded one).
std::string frame_fpu_image(Task& t);
void set_frame_fpu_image(Task& t, const std::string& image);

}  // namespace rr
