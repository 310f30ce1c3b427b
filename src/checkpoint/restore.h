// Replays that start from a persistent checkpoint file instead of the
// beginning of the trace.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "util/result.h"

namespace rr {

class ReplaySession;

// Rebuilds fresh session `s` (just opened, no tracee yet) from a checkpoint
// file: its processes and threads, their memory and kernel state, the
// supervisor state, and the trace reader positioned at the event after the
// checkpoint's.
Status restore_checkpoint(ReplaySession& s, const std::string& checkpoint_path);

// Opens a replay positioned at the latest usable checkpoint at or before
// `target` (0: any), or at the start when there is none or
// `ignore_checkpoints`. Unusable checkpoints are reported on stderr, one
// line each, and skipped.
Result<std::unique_ptr<ReplaySession>> open_replay_at(const std::string& trace_dir, uint64_t target,
                                                      bool ignore_checkpoints);

}  // namespace rr
