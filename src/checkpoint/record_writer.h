// Checkpoints copied from the recorded processes: `rr record
// --checkpoint-every` with RR_CHECKPOINT_WRITER=copy writes each one from
// the recorder's own processes at the point (RecordPoint), instead of a
// replay that follows the recording (docs/record-checkpoints.md).
#pragma once

#include "checkpoint/checkpoint.h"
#include "record/record_session.h"

namespace rr {

// Writes the checkpoint of `point.event` into the trace's checkpoints/
// folder, incremental on `base` if given. An
// Unsupported error: the processes hold something this writer does not
// save at this event (shared memory, a writable shared file mapping, a
// local descriptor table...); the point waits for a later event.
Result<CheckpointStats> write_recording_checkpoint(const RecordPoint& point, Codec codec,
                                                   const CheckpointReader* base = nullptr);

}  // namespace rr
